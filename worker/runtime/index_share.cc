#include "worker/runtime/index_share.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace sluice::runtime {
namespace {

using nlohmann::json;

// The first index of class `subtask` mod `parallelism` at or after `from`.
int64_t FirstAtOrAfter(uint32_t subtask, uint32_t parallelism, int64_t from) {
  if (from <= static_cast<int64_t>(subtask)) return subtask;
  const int64_t p = parallelism;
  return subtask + (from - subtask + p - 1) / p * p;
}

bool NonNegativeInteger(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
}

// One old subtask's position, checked.
struct OldShare {
  uint32_t subtask = 0;
  uint32_t parallelism = 0;
  int64_t next = 0;
  std::vector<IndexShare::Run> emitted;
};

Result<OldShare> ParseShare(const json& position) {
  const auto field = [&](const char* name) -> const json* {
    auto it = position.find(name);
    return it == position.end() || !NonNegativeInteger(*it) ? nullptr : &*it;
  };
  if (!position.is_object()) return Status::User("a position is not a JSON object");
  const json* subtask = field("subtask");
  const json* parallelism = field("parallelism");
  const json* next = field("next");
  if (subtask == nullptr || parallelism == nullptr || next == nullptr ||
      parallelism->get<uint64_t>() == 0 || parallelism->get<uint64_t>() > UINT32_MAX ||
      subtask->get<uint64_t>() >= parallelism->get<uint64_t>()) {
    return Status::User("a position lacks a valid subtask, parallelism or next: " +
                        position.dump());
  }
  OldShare share{subtask->get<uint32_t>(), parallelism->get<uint32_t>(), next->get<int64_t>(), {}};
  auto emitted = position.find("emitted");
  if (emitted != position.end()) {
    if (!emitted->is_array()) return Status::User("\"emitted\" is not an array");
    for (const json& run : *emitted) {
      if (!run.is_array() || run.size() != 3 || !NonNegativeInteger(run[0]) ||
          !NonNegativeInteger(run[1]) || !NonNegativeInteger(run[2]) || run[1] == 0 ||
          run[2] == 0) {
        return Status::User("bad emitted run " + run.dump());
      }
      share.emitted.push_back(
          {run[0].get<int64_t>(), run[1].get<int64_t>(), run[2].get<int64_t>()});
    }
  }
  return share;
}

}  // namespace

IndexShare::IndexShare(uint32_t subtask, uint32_t parallelism)
    : subtask_(subtask), parallelism_(std::max(1u, parallelism)), next_(subtask) {}

Result<IndexShare> IndexShare::Restore(uint32_t subtask, uint32_t parallelism,
                                       const std::vector<json>& positions,
                                       const std::string& operator_label) {
  const auto problem = [&](const std::string& what) {
    return Status::User(operator_label + ": cannot restore the source's position: " + what);
  };
  if (positions.empty()) return problem("the checkpoint has no position for it");
  std::vector<OldShare> old;
  std::set<uint32_t> subtasks;
  for (const json& position : positions) {
    auto share = ParseShare(position);
    if (!share.ok()) return problem(share.status().message());
    if (share->parallelism != positions.size() || !subtasks.insert(share->subtask).second) {
      return problem("the checkpoint has " + std::to_string(positions.size()) +
                     " positions, not one from each subtask of a parallelism of " +
                     std::to_string(share->parallelism));
    }
    old.push_back(std::move(share).value());
  }

  IndexShare share(subtask, parallelism);
  // Every index below the smallest old next() was emitted (each old class up to its next()).
  int64_t low = old.front().next;
  for (const OldShare& o : old) low = std::min(low, o.next);
  share.next_ = FirstAtOrAfter(share.subtask_, share.parallelism_, low);
  for (const OldShare& o : old) {
    const int64_t first = FirstAtOrAfter(o.subtask, o.parallelism, share.next_);
    if (first < o.next) {
      const Run below{first, o.parallelism, (o.next - first - 1) / o.parallelism + 1};
      Run mine = Intersect(below, share.subtask_, share.parallelism_, share.next_);
      if (mine.count > 0) share.emitted_.push_back(mine);
    }
    for (const Run& run : o.emitted) {
      Run mine = Intersect(run, share.subtask_, share.parallelism_, share.next_);
      if (mine.count > 0) share.emitted_.push_back(mine);
    }
  }
  share.SkipEmitted();
  return share;
}

IndexShare::Run IndexShare::Intersect(const Run& run, uint32_t subtask, uint32_t parallelism,
                                      int64_t from) {
  Run r = run;
  if (r.first < from) {
    const int64_t skip = (from - r.first + r.stride - 1) / r.stride;
    if (skip >= r.count) return Run{0, 1, 0};
    r.first += skip * r.stride;
    r.count -= skip;
  }
  // first + k * stride is in the class for k = k0, k0 + m, k0 + 2m, ... (m = P / gcd).
  const int64_t p = parallelism;
  const int64_t period = p / std::gcd(r.stride, p);
  for (int64_t k = 0; k < std::min(period, r.count); ++k) {
    const int64_t index = r.first + k * r.stride;
    if (index % p != subtask) continue;
    const int64_t count = (r.count - 1 - k) / period + 1;
    // With one index the stride does not matter (and lcm might not fit).
    return Run{index, count == 1 ? p : r.stride * period, count};
  }
  return Run{0, 1, 0};
}

int64_t IndexShare::RunLength(int64_t limit) const {
  int64_t stop = limit;
  for (const Run& run : emitted_) stop = std::min(stop, run.first);
  if (stop <= next_) return 0;
  return (stop - next_ - 1) / parallelism_ + 1;
}

void IndexShare::Advance(int64_t count) {
  next_ += count * parallelism_;
  SkipEmitted();
}

void IndexShare::SkipEmitted() {
  while (!emitted_.empty()) {
    auto lowest = std::min_element(emitted_.begin(), emitted_.end(),
                                   [](const Run& a, const Run& b) { return a.first < b.first; });
    if (lowest->first != next_) return;
    next_ += parallelism_;
    lowest->first += lowest->stride;
    if (--lowest->count == 0) emitted_.erase(lowest);
  }
}

json IndexShare::ToJson() const {
  json emitted = json::array();
  for (const Run& run : emitted_) emitted.push_back({run.first, run.stride, run.count});
  return json{{"subtask", subtask_},
              {"parallelism", parallelism_},
              {"next", next_},
              {"emitted", std::move(emitted)}};
}

}  // namespace sluice::runtime
