// Which keyBy edges need no repartitioning: the user's mark, or a window's records keyed again
// by their own key (common/key_partitioning.h).
#include "common/key_partitioning.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(KeyPartitioningTest, ASelectorThatReturnsItsArgumentsKeyFieldIsRecognisedInItsUsualForms) {
  for (const char* fn : {"(c) => c.key", "c => c.key", "( c )=>c.key", "(c) => (c.key)",
                         "(c) => c[\"key\"]", "(c) => c['key']", "(count) => count.key",
                         "function (c) { return c.key; }", "function(c){return c.key}",
                         "function keyOf(c) {\n  return c.key;\n}", "($) => $.key"}) {
    EXPECT_TRUE(ReturnsItsKeyField(fn)) << fn;
  }
  for (const char* fn : {"(c) => d.key", "(c) => c.keys", "(c) => c.key.id", "(c) => c.window.start",
                         "(c) => String(c.key)", "(c, p) => c.key", "(c) => c.key + 1",
                         "(c) => { return c.key; }", "function (c) { return d.key; }",
                         "(c) => c.value.key", "", "c.key"}) {
    EXPECT_FALSE(ReturnsItsKeyField(fn)) << fn;
  }
}

proto::JobSpec WindowThenKeyBy(const std::string& from_kind, const std::string& key_fn) {
  proto::JobSpec spec;
  for (const auto& [id, kind] : {std::pair{"a", from_kind}, std::pair{"b", std::string("window")}}) {
    proto::Operator* op = spec.add_operators();
    op->set_id(id);
    op->set_kind(kind);
  }
  proto::Edge* edge = spec.add_edges();
  edge->set_from("a");
  edge->set_to("b");
  edge->set_partitioning(proto::HASH);
  edge->set_key_fn(key_fn);
  return spec;
}

TEST(KeyPartitioningTest, AWindowsRecordsKeyedByTheirKeyOrAMarkedEdgeAreAlreadyPartitioned) {
  auto window = WindowThenKeyBy("window", "(c) => c.key");
  EXPECT_TRUE(AlreadyPartitioned(window.operators(0), window.edges(0)));
  // Another operator's records carry no such key; a window's late records are its input's.
  auto reduce = WindowThenKeyBy("reduce", "(c) => c.key");
  EXPECT_FALSE(AlreadyPartitioned(reduce.operators(0), reduce.edges(0)));
  auto late = WindowThenKeyBy("window", "(c) => c.key");
  late.mutable_edges(0)->set_from_output("late");
  EXPECT_FALSE(AlreadyPartitioned(late.operators(0), late.edges(0)));
  auto other = WindowThenKeyBy("window", "(c) => c.window.start");
  EXPECT_FALSE(AlreadyPartitioned(other.operators(0), other.edges(0)));
  // The user's mark says so whatever the selector; only a HASH edge can be partitioned.
  reduce.mutable_edges(0)->set_partitioned(true);
  EXPECT_TRUE(AlreadyPartitioned(reduce.operators(0), reduce.edges(0)));
  reduce.mutable_edges(0)->set_partitioning(proto::FORWARD);
  EXPECT_FALSE(AlreadyPartitioned(reduce.operators(0), reduce.edges(0)));
}

}  // namespace
}  // namespace sluice
