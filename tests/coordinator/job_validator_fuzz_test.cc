// A seeded random mutator over the JobSpec validator (and the planner, for specs it accepts):
// whatever a client sends, validation ends with problems or an accepted spec, never a crash,
// a hang or a problem that names nothing. Runs for SLUICE_FUZZ_SECONDS (default 3) from
// SLUICE_FUZZ_SEED (default fixed, so CI runs are repeatable); a failure prints the seed and
// the iteration, and the spec that broke it.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "coordinator/job_defaults.h"
#include "coordinator/job_validator.h"
#include "coordinator/planner.h"
#include "tests/coordinator/spec_builder.h"
#include "tests/coordinator/validator_test_util.h"

namespace sluice::coordinator {
namespace {

using testing::SpecBuilder;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::strtoull(value, nullptr, 10);
}

// A checker that refuses some sources, as V8 would refuse a syntax error.
Status FakeCheck(const std::string& source) {
  if (source.find("=>>") != std::string::npos || source.size() > 100000) {
    return Status::User("SyntaxError: Unexpected token (line 1)");
  }
  return Status::Ok();
}

std::vector<proto::JobSpec> Seeds() {
  std::vector<proto::JobSpec> seeds;
  seeds.push_back(testing::LinearJob().Build());
  proto::JobSpec keyed =
      SpecBuilder("keyed")
          .Op("op1", "bids", "source.nexmark", R"({"events": 100})")
          .Op("op2", "ts", "assign_timestamps", R"({"maxOutOfOrderness": 10})",
              {{"fn", "(r) => r.dateTime"}})
          .Op("op3", "win", "window",
              R"({"assigner": {"type": "tumbling", "size": 1000}, "time": "event",
                  "function": "reduce", "lateOutput":true})",
              {{"reduce", "(a, b) => a + b"}}, 2)
          .Op("op4", "late", "sink.discard")
          .Op("op5", "out", "sink.redis", R"({"address": "127.0.0.1:6379", "retryAttempts": 3})",
              {{"fn", "(r) => ['SET', 'k', 'v']"}})
          .Edge("op1", "op2")
          .Edge("op2", "op3", proto::HASH)
          .Edge("op3", "op5")
          .Edge("op3", "op4")
          .Build();
  keyed.mutable_edges(1)->set_key_fn("(r) => r.auction");
  keyed.mutable_edges(3)->set_from_output("late");
  keyed.set_checkpoint_interval_ms(1000);
  keyed.set_params_json(R"({"a": 1, "b": [1, 2]})");
  seeds.push_back(keyed);
  proto::JobSpec join =
      SpecBuilder("join")
          .Op("a", "left", "source.kafka",
              R"({"brokers": "127.0.0.1:9092", "topics": ["l"], "bounded": true})")
          .Op("b", "right", "source.file", R"({"path": "/tmp/x", "format": "json"})")
          .Op("c", "j", "interval_join", R"({"lower": -10, "upper": 10})",
              {{"apply", "(l, r) => [l, r]"}})
          .Op("d", "out", "sink.mysql",
              R"j({"host": "h", "user": "u", "database": "d", "statement": "INSERT INTO t VALUES (?)",
                  "guarantee": "exactly-once"})j",
              {{"fn", "(r) => [r]"}})
          .Op("e", "k", "sink.kafka", R"({"brokers": "b:1", "topic": "t"})")
          .Edge("a", "c", proto::HASH)
          .Edge("b", "c", proto::HASH)
          .Edge("c", "d")
          .Edge("c", "e", proto::REBALANCE)
          .Build();
  join.mutable_edges(0)->set_key_fn("(r) => r.k");
  join.mutable_edges(1)->set_key_fn("(r) => r.k");
  join.mutable_edges(1)->set_input(1);
  join.set_checkpoint_interval_ms(500);
  seeds.push_back(join);
  return seeds;
}

const char* const kKinds[] = {"source.file", "source.generator", "source.nexmark",
                              "source.kafka", "map", "filter", "flat_map", "union",
                              "assign_timestamps", "reduce", "aggregate", "window",
                              "window_join", "interval_join", "process", "sink.stdout",
                              "sink.file", "sink.collect", "sink.discard", "sink.redis",
                              "sink.mysql", "sink.kafka", "", "nope", "sink.", "\xff\xfe"};
const char* const kJson[] = {"", "{", "}", "[]", "null", "1e999", "-0", "\"x\"", "{}",
                             R"({"path": 1})", R"({"count": -1})", R"({"count": 1e300})",
                             R"({"assigner": {"type": "sliding", "size": 0, "slide": -5}})",
                             R"({"assigner": null})", R"({"brokers": ""})",
                             R"({"topics": [1, 2]})", R"({"retryTimeoutMs": 1e20})",
                             R"({"address": "[::1"})", R"({"statement": "'"})",
                             R"({"lateOutput": true})", R"({"a": {"b": {"c": [[[[[]]]]]}}})",
                             "\"\\ud800\"", "{\"\\u0000\": 1}", "[1,2,"};
const char* const kFunctions[] = {"(r) => r", "(r) =>> r", "", "function () {}", "x",
                                  "(a, b) => a + b", "\n\n", "() => { while (true) {} }"};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }
  std::string Id(const proto::JobSpec& spec) {
    if (spec.operators_size() > 0 && !OneIn(5)) {
      return spec.operators(static_cast<int>(Below(spec.operators_size()))).id();
    }
    return OneIn(2) ? "" : "op" + std::to_string(Below(20));
  }
  uint32_t Count() {
    switch (Below(5)) {
      case 0: return 0;
      case 1: return static_cast<uint32_t>(Below(5));
      case 2: return 128;
      case 3: return 32769;
      default: return static_cast<uint32_t>(rng_());
    }
  }

  // One random change; the spec may stop making sense, which is the point.
  void Mutate(proto::JobSpec* spec) {
    switch (Below(12)) {
      case 0: MutateBytes(spec); break;
      case 1: {
        if (spec->operators_size() == 0) break;
        auto* op = spec->mutable_operators(static_cast<int>(Below(spec->operators_size())));
        op->set_kind(Pick(kKinds));
        break;
      }
      case 2: {
        if (spec->operators_size() == 0) break;
        auto* op = spec->mutable_operators(static_cast<int>(Below(spec->operators_size())));
        op->set_config_json(OneIn(3) ? MutateText(op->config_json()) : Pick(kJson));
        break;
      }
      case 3: {
        if (spec->operators_size() == 0) break;
        auto* op = spec->mutable_operators(static_cast<int>(Below(spec->operators_size())));
        const char* roles[] = {"fn", "create", "add", "merge", "apply", "key", "bogus", ""};
        (*op->mutable_functions())[Pick(roles)] = Pick(kFunctions);
        break;
      }
      case 4: {
        proto::Edge* edge = spec->add_edges();
        edge->set_from(Id(*spec));
        edge->set_to(Id(*spec));
        edge->set_partitioning(static_cast<proto::Partitioning>(Below(6)));
        if (OneIn(2)) edge->set_key_fn(Pick(kFunctions));
        if (OneIn(4)) edge->set_input(Count());
        if (OneIn(4)) edge->set_from_output(OneIn(2) ? "late" : "side");
        break;
      }
      case 5:
        if (spec->edges_size() > 0) {
          spec->mutable_edges()->SwapElements(static_cast<int>(Below(spec->edges_size())),
                                              spec->edges_size() - 1);
          spec->mutable_edges()->RemoveLast();
        }
        break;
      case 6: {
        proto::Operator* op = spec->add_operators();
        if (spec->operators_size() > 1 && OneIn(2)) {
          *op = spec->operators(static_cast<int>(Below(spec->operators_size() - 1)));
        }
        op->set_id(OneIn(3) ? Id(*spec) : "n" + std::to_string(Below(1000)));
        op->set_kind(Pick(kKinds));
        break;
      }
      case 7:
        if (spec->operators_size() > 0) {
          auto* op = spec->mutable_operators(static_cast<int>(Below(spec->operators_size())));
          op->set_parallelism(Count());
        }
        break;
      case 8:
        spec->set_parallelism(Count());
        spec->set_max_parallelism(Count());
        break;
      case 9:
        spec->set_params_json(OneIn(2) ? Pick(kJson) : MutateText(spec->params_json()));
        break;
      case 10:
        spec->set_checkpoint_interval_ms(OneIn(2) ? 0 : rng_());
        spec->set_name(OneIn(4) ? "" : MutateText(spec->name()));
        break;
      default:
        if (spec->edges_size() > 0) {
          auto* edge = spec->mutable_edges(static_cast<int>(Below(spec->edges_size())));
          edge->set_to(Id(*spec));
        }
        break;
    }
  }

 private:
  std::string MutateText(std::string text) {
    const size_t changes = 1 + Below(4);
    for (size_t i = 0; i < changes; ++i) {
      const size_t at = Below(text.size() + 1);
      switch (Below(3)) {
        case 0: text.insert(at, 1, static_cast<char>(Below(256))); break;
        case 1: if (at < text.size()) text.erase(at, 1 + Below(4)); break;
        default: if (at < text.size()) text[at] = static_cast<char>(Below(256)); break;
      }
    }
    return text;
  }

  // Serialized bytes changed at random; kept only when they still parse as a JobSpec.
  void MutateBytes(proto::JobSpec* spec) {
    std::string bytes = MutateText(spec->SerializeAsString());
    proto::JobSpec parsed;
    if (parsed.ParseFromString(bytes)) *spec = std::move(parsed);
  }

  std::mt19937_64 rng_;
};

// What must hold for any spec: problems name something, and the same spec gives the same
// answer; an accepted spec plans.
void CheckOne(const proto::JobSpec& spec, uint64_t seed, uint64_t iteration) {
  const auto problems = ValidateJob(spec, FakeCheck);
  std::set<std::string> ids;
  for (const auto& op : spec.operators()) ids.insert(op.id());
  for (const auto& problem : problems) {
    ASSERT_FALSE(problem.message().empty())
        << "seed " << seed << " iteration " << iteration << "\n" << spec.DebugString();
    if (!problem.operator_id().empty()) {
      ASSERT_TRUE(ids.count(problem.operator_id()))
          << "a problem names an operator the spec does not have: " << problem.message();
    }
  }
  if (!problems.empty()) return;
  // Accepted: it must plan (a planning error is fine; a crash is not). Keep it small.
  uint64_t tasks = 0;
  for (const auto& op : spec.operators()) tasks += EffectiveParallelism(spec, op);
  if (tasks > 20000) return;
  auto plan = PlanJob(spec, JobId("job-fuzz"), 0);
  if (!plan.ok()) {
    ASSERT_FALSE(plan.status().message().empty());
  }
}

TEST(JobValidatorFuzzTest, RandomSpecsNeverCrashTheValidatorOrThePlanner) {
  const uint64_t seed = EnvOr("SLUICE_FUZZ_SEED", 20261203);
  const auto budget = std::chrono::seconds(EnvOr("SLUICE_FUZZ_SECONDS", 3));
  Mutator mutator(seed);
  const std::vector<proto::JobSpec> seeds = Seeds();
  for (const auto& s : seeds) {
    ASSERT_TRUE(testing::Validate(s).empty()) << s.name() << ": " << testing::Dump(testing::Validate(s));
  }
  const auto deadline = std::chrono::steady_clock::now() + budget;
  uint64_t iteration = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    proto::JobSpec spec = seeds[mutator.Below(seeds.size())];
    const size_t rounds = 1 + mutator.Below(8);
    for (size_t r = 0; r < rounds; ++r) mutator.Mutate(&spec);
    ASSERT_NO_FATAL_FAILURE(CheckOne(spec, seed, iteration));
    ++iteration;
  }
  RecordProperty("iterations", std::to_string(iteration));
  EXPECT_GT(iteration, 100u);
}

// Found by thinking like the fuzzer: a spec of a long chain (cheap to send: a few bytes an
// operator) must not overflow the validator's stack.
TEST(JobValidatorFuzzTest, AChainOfAHundredThousandOperatorsIsValidatedWithoutRecursion) {
  proto::JobSpec spec;
  spec.set_name("long");
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    proto::Operator* op = spec.add_operators();
    op->set_id("o" + std::to_string(i));
    op->set_kind(i == 0 ? "source.generator" : i == n - 1 ? "sink.discard" : "filter");
    if (i > 0 && i < n - 1) (*op->mutable_functions())["fn"] = "(r) => true";
    if (i > 0) {
      proto::Edge* edge = spec.add_edges();
      edge->set_from("o" + std::to_string(i - 1));
      edge->set_to(op->id());
    }
  }
  EXPECT_TRUE(testing::Validate(spec).empty());
  // And closed into a ring: one cycle, reported once.
  proto::Edge* back = spec.add_edges();
  back->set_from("o" + std::to_string(n - 2));
  back->set_to("o1");
  const auto problems = testing::Validate(spec);
  ASSERT_FALSE(problems.empty());
  EXPECT_TRUE(testing::HasProblem(problems, "o1", {"is on a cycle"})) << problems[0].message();
}

}  // namespace
}  // namespace sluice::coordinator
