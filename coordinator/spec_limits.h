#pragma once

#include <cstddef>

#include "common/status.h"
#include "sluice/job.pb.h"

namespace sluice::coordinator {

// The largest JobSpec (serialized protobuf bytes) a coordinator accepts unless told otherwise
// (`--max-spec-bytes`). Functions are source text and params small values; a spec this big is
// data that belongs in a source.
inline constexpr size_t kDefaultMaxSpecBytes = size_t{8} << 20;

// OK, or a kResourceExhausted user Status naming the spec's size and the limit (0: no limit).
Status CheckSpecSize(const proto::JobSpec& spec, size_t max_bytes);

// What an ended job keeps of its spec: its name, operators (ids, names, kinds, parallelism)
// and edges, without functions, configs, params or key selectors, which only running it needed
// and which can be most of its size.
void DropSpecBodies(proto::JobSpec* spec);

// Hands memory the allocator holds free back to the system (glibc's malloc_trim): large specs
// are parsed and copied on several gRPC threads, each with its own malloc arena, and what they
// freed would otherwise stay resident. Called when a job ends; a few milliseconds.
void ReleaseFreeMemory();

}  // namespace sluice::coordinator
