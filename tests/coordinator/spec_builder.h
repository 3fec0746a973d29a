#pragma once

#include <map>
#include <string>

#include "sluice/job.pb.h"

namespace sluice::coordinator::testing {

// Builds JobSpecs for tests tersely; a plain value, one per test.
class SpecBuilder {
 public:
  explicit SpecBuilder(std::string name = "job") { spec_.set_name(std::move(name)); }

  SpecBuilder& Op(const std::string& id, const std::string& name, const std::string& kind,
                  const std::string& config = "",
                  const std::map<std::string, std::string>& functions = {},
                  uint32_t parallelism = 0) {
    proto::Operator* op = spec_.add_operators();
    op->set_id(id);
    op->set_name(name);
    op->set_kind(kind);
    op->set_config_json(config);
    op->set_parallelism(parallelism);
    for (const auto& [role, source] : functions) (*op->mutable_functions())[role] = source;
    return *this;
  }

  SpecBuilder& Edge(const std::string& from, const std::string& to,
                    proto::Partitioning partitioning = proto::FORWARD) {
    proto::Edge* edge = spec_.add_edges();
    edge->set_from(from);
    edge->set_to(to);
    edge->set_partitioning(partitioning);
    return *this;
  }

  SpecBuilder& Parallelism(uint32_t parallelism) {
    spec_.set_parallelism(parallelism);
    return *this;
  }

  proto::JobSpec Build() const { return spec_; }

 private:
  proto::JobSpec spec_;
};

// generator -> map -> collect, valid as is.
inline SpecBuilder LinearJob() {
  SpecBuilder builder("numbers");
  builder.Op("op1", "numbers", "source.generator", R"({"count": 10})")
      .Op("op2", "double", "map", "", {{"fn", "(r) => r * 2"}})
      .Op("op3", "results", "sink.collect")
      .Edge("op1", "op2")
      .Edge("op2", "op3");
  return builder;
}

}  // namespace sluice::coordinator::testing
