#pragma once

#include <compare>
#include <functional>
#include <string>
#include <utility>

namespace sluice {

// A string id that cannot be mixed up with another kind of id.
template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const StrongId&) const = default;

 private:
  std::string value_;
};

using JobId = StrongId<struct JobIdTag>;
using TaskId = StrongId<struct TaskIdTag>;
using WorkerId = StrongId<struct WorkerIdTag>;

}  // namespace sluice

template <typename Tag>
struct std::hash<sluice::StrongId<Tag>> {
  size_t operator()(const sluice::StrongId<Tag>& id) const {
    return std::hash<std::string>()(id.str());
  }
};
