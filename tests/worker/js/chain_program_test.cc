#include "worker/js/chain_program.h"

#include <gtest/gtest.h>

#include "tests/worker/js/test_util.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::Stage;

TEST(ChainProgramTest, OneDriverLoopCallsEveryStage) {
  Result<ChainProgram> program = BuildChainProgram(Chain({
      Stage("op1", "src", "source.nexmark"),
      Stage("op2", "f", "filter", "(r) => true"),
      Stage("op3", "m", "map", "(r) => r"),
      Stage("op4", "fm", "flat_map", "(r) => [r]"),
  }));
  ASSERT_TRUE(program.ok()) << program.status().message();
  EXPECT_EQ(program->source, SourceKind::kNexmark);
  EXPECT_TRUE(program->has_source_stage);
  ASSERT_EQ(program->functions.size(), 4u);
  EXPECT_TRUE(program->functions[0].empty());
  const std::string &js = program->driver_source;
  EXPECT_NE(js.find("gen(first + k * stride)"), std::string::npos) << js;
  EXPECT_NE(js.find("if (f1(r, params))"), std::string::npos) << js;
  EXPECT_NE(js.find("const r2 = f2(r, params);"), std::string::npos) << js;
  EXPECT_NE(js.find("for (const r3 of a3)"), std::string::npos) << js;
  EXPECT_NE(js.find("JSON.stringify(r3)"), std::string::npos) << js;
}

TEST(ChainProgramTest, TextChainWithoutSourceStageStartsAtTheFirstTransform) {
  ChainSpec chain = Chain({Stage("op1", "m", "map", "(r) => r")}, OutputMode::kCount);
  chain.text_format = "json";
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_TRUE(program.ok());
  EXPECT_EQ(program->source, SourceKind::kText);
  EXPECT_FALSE(program->has_source_stage);
  EXPECT_NE(program->driver_source.find("parseLine(line)"), std::string::npos);
  EXPECT_EQ(program->driver_source.find("JSON.stringify(r"), std::string::npos);
}

TEST(ChainProgramTest, TheDriverNamesItsStagesAndEveryStatsSlot) {
  ChainSpec chain = Chain({Stage("op1", "m", "map", "(r) => r")}, OutputMode::kJsonLines);
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_TRUE(program.ok()) << program.status().message();
  const std::string &js = program->driver_source;
  EXPECT_EQ(js.rfind("// A Sluice chain driver", 0), 0u) << js;
  EXPECT_NE(js.find("//   stage 0: map 'm' (op1)\n"), std::string::npos) << js;
  EXPECT_NE(js.find("(function chainDriver(env) {"), std::string::npos) << js;
  // Every slot the runner reads is declared under its name, at its index.
  for (const DriverStatName &stat : kDriverStats) {
    const std::string declared =
        std::string("  ") + stat.js_name + ": " + std::to_string(static_cast<int>(stat.stat)) + ",";
    EXPECT_NE(js.find(declared), std::string::npos) << declared;
  }
  EXPECT_NE(js.find("stats[STAT.recordsIn] = nIn;"), std::string::npos) << js;
  EXPECT_NE(js.find("if (!done) stats[STAT.runningStage] = s;"), std::string::npos) << js;
  EXPECT_EQ(js.find("stats[2]"), std::string::npos) << js;
}

TEST(ChainProgramTest, AStageNameWithALineBreakStaysInItsComment) {
  StageSpec stage = Stage("op1", "two\nlines", "map", "(r) => r");
  Result<ChainProgram> program = BuildChainProgram(Chain({stage}, OutputMode::kJsonLines));
  ASSERT_TRUE(program.ok()) << program.status().message();
  EXPECT_NE(program->driver_source.find("map 'two lines' (op1)"), std::string::npos);
}

TEST(ChainProgramTest, RefusesBadChainsNamingTheOperator) {
  EXPECT_NE(
      BuildChainProgram(Chain({Stage("op1", "m", "map")})).status().message().find("'m' (op1)"),
      std::string::npos);
  EXPECT_FALSE(BuildChainProgram(Chain({Stage("op1", "k", "sink.kafka")})).ok());
  ChainSpec bad_format = Chain({});
  bad_format.text_format = "csv";
  EXPECT_FALSE(BuildChainProgram(bad_format).ok());
}

}  // namespace
}  // namespace sluice::js
