#include "coordinator/spec_limits.h"

#include <string>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sluice::coordinator {

Status CheckSpecSize(const proto::JobSpec& spec, size_t max_bytes) {
  if (max_bytes == 0) return Status::Ok();
  const size_t size = spec.ByteSizeLong();
  if (size <= max_bytes) return Status::Ok();
  return Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                "job '" + spec.name().substr(0, 200) + "': its spec is " + std::to_string(size) +
                    " bytes, more than this coordinator's limit of " + std::to_string(max_bytes) +
                    " bytes (--max-spec-bytes); pass large data through a source, not params "
                    "or functions");
}

void DropSpecBodies(proto::JobSpec* spec) {
  // A new message, moved in: clearing the fields would keep their strings' capacity.
  proto::JobSpec slim;
  slim.set_name(spec->name());
  slim.set_parallelism(spec->parallelism());
  slim.set_max_parallelism(spec->max_parallelism());
  slim.set_checkpoint_interval_ms(spec->checkpoint_interval_ms());
  if (spec->has_restart()) *slim.mutable_restart() = spec->restart();
  for (const proto::Operator& op : spec->operators()) {
    proto::Operator* kept = slim.add_operators();
    kept->set_id(op.id());
    kept->set_name(op.name());
    kept->set_kind(op.kind());
    kept->set_parallelism(op.parallelism());
  }
  for (const proto::Edge& edge : spec->edges()) {
    proto::Edge* kept = slim.add_edges();
    kept->set_from(edge.from());
    kept->set_to(edge.to());
    kept->set_partitioning(edge.partitioning());
    kept->set_input(edge.input());
    kept->set_from_output(edge.from_output());
  }
  *spec = std::move(slim);
}

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace sluice::coordinator
