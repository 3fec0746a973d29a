#include "coordinator/spec_limits.h"

#include <string>

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
  for (proto::Operator& op : *spec->mutable_operators()) {
    op.clear_config_json();
    op.clear_functions();
  }
  for (proto::Edge& edge : *spec->mutable_edges()) edge.clear_key_fn();
  spec->clear_params_json();
}

}  // namespace sluice::coordinator
