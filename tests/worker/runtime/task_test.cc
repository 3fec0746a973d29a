// The task in its three parts (builder, checkpointer, loop), run on a real thread with the fake
// chain in place of V8: a generator source and the built-in sinks need no JS engine.
#include "worker/runtime/task.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/temp_dir.h"
#include "tests/worker/runtime/fake_chain.h"

namespace sluice::runtime {
namespace {

using testing::FakeChain;

// Hands out runners that forward to FakeChains it keeps, so a test can look at what the chain
// was asked after the task (which owns the runner) ended.
class FakeEngine : public js::ChainRunnerFactory {
 public:
  class Runner : public js::ChainRunner {
   public:
    Runner(FakeChain& chain, Status fail) : chain_(chain), fail_(std::move(fail)) {}
    Result<js::BatchResult> RunGenerated(int64_t first, int64_t stride, int32_t count) override {
      if (!fail_.ok()) return fail_;
      return chain_.RunGenerated(first, stride, count);
    }
    Result<js::BatchResult> RunText(std::string_view text, uint32_t input) override {
      return chain_.RunText(text, input);
    }
    Result<js::BatchResult> AdvanceTime(std::optional<int64_t> watermark,
                                        int64_t now_ms) override {
      return chain_.AdvanceTime(watermark, now_ms);
    }
    Status SnapshotState() override { return chain_.SnapshotState(); }
    void Interrupt() override {}

   private:
    FakeChain& chain_;
    Status fail_;
  };

  Result<std::unique_ptr<js::ChainRunner>> Create(const js::ChainSpec& chain, const js::Limits&,
                                                  js::StateBackend* state) override {
    specs.push_back(chain);
    with_state.push_back(state != nullptr);
    chains.push_back(std::make_unique<FakeChain>());
    return std::unique_ptr<js::ChainRunner>(new Runner(*chains.back(), fail_batches));
  }
  Status CheckFunction(const std::string&) override { return Status::Ok(); }

  Status fail_batches;  // when set, every generated batch fails with it
  std::vector<js::ChainSpec> specs;
  std::vector<bool> with_state;
  std::vector<std::unique_ptr<FakeChain>> chains;
};

class RecordingListener : public CheckpointListener {
 public:
  void Acknowledge(const JobId&, uint64_t checkpoint,
                   const proto::TaskSnapshot& snapshot) override {
    std::lock_guard<std::mutex> lock(mutex);
    acknowledged.emplace_back(checkpoint, snapshot);
  }
  void Decline(const JobId&, const TaskId&, uint64_t checkpoint,
               const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mutex);
    declined.emplace_back(checkpoint, reason);
  }
  std::mutex mutex;
  std::vector<std::pair<uint64_t, proto::TaskSnapshot>> acknowledged;
  std::vector<std::pair<uint64_t, std::string>> declined;
};

class TaskTest : public ::testing::Test {
 protected:
  // A deployment of one task running `kinds` as operators op1, op2, ... (first config: source).
  proto::TaskDeployment Deployment(const std::vector<std::string>& kinds,
                                   const std::string& source_config) {
    proto::TaskDeployment deployment;
    deployment.set_job_id("job-1");
    deployment.set_task_id("job-1/g0.0");
    deployment.set_parallelism(1);
    for (size_t i = 0; i < kinds.size(); ++i) {
      proto::Operator* op = deployment.mutable_spec()->add_operators();
      op->set_id("op" + std::to_string(i + 1));
      op->set_name(kinds[i]);
      op->set_kind(kinds[i]);
      if (i == 0) op->set_config_json(source_config);
      deployment.add_operator_ids(op->id());
    }
    return deployment;
  }
  TaskServices Services() {
    TaskServices services;
    services.engine = &engine_;
    services.state_dir = state_dir_.str();
    services.checkpoints = &listener_;
    services.on_ended = [this](const TaskId&, proto::TaskState state, const std::string& failure) {
      ended_state_ = state;
      ended_failure_ = failure;
    };
    return services;
  }
  // Waits (bounded) until `done` holds, checking as the task makes progress.
  template <typename Condition>
  bool Eventually(Condition done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  sluice::testing::TempDir state_dir_{"sluice-task-state"};
  sluice::testing::TempDir checkpoint_dir_{"sluice-task-chk"};
  FakeEngine engine_;
  RecordingListener listener_;
  proto::TaskState ended_state_ = proto::TASK_DEPLOYING;
  std::string ended_failure_;
};

TEST_F(TaskTest, BoundedSourceRunsToTheEndAndFiresEveryPendingTimer) {
  Task task(Deployment({"source.generator", "map", "sink.discard"}, R"({"count": 10})"),
            Services());
  task.Start();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FINISHED) << ended_failure_;
  EXPECT_EQ(task.Snapshot().state(), proto::TASK_FINISHED);
  EXPECT_EQ(task.Snapshot().records_in(), 10u);
  ASSERT_EQ(engine_.chains.size(), 1u);
  const FakeChain& chain = *engine_.chains[0];
  ASSERT_EQ(chain.generated.size(), 1u);
  EXPECT_EQ(chain.generated[0].count, 10);
  ASSERT_FALSE(chain.advances.empty());
  EXPECT_EQ(chain.advances.back(), js::kMaxWatermark);
  // The chain spec: the source's and the map's stages, counted output for the discarding
  // sink, no state.
  ASSERT_EQ(engine_.specs[0].stages.size(), 2u);
  EXPECT_EQ(engine_.specs[0].stages[0].kind, "source.generator");
  EXPECT_EQ(engine_.specs[0].stages[1].operator_id, "op2");
  EXPECT_EQ(engine_.specs[0].output, js::OutputMode::kCount);
  EXPECT_FALSE(engine_.with_state[0]);
}

// source.nexmark's batches are kNexmarkBatchSize; source.generator's the default 4,096 (where
// its batches, and so its watermarks, fall decides which of its records are late).
TEST_F(TaskTest, ANexmarkSourceHandsTheChainBatchesOfItsOwnSize) {
  Task nexmark(Deployment({"source.nexmark", "sink.discard"}, R"({"events": 20000})"),
               Services());
  nexmark.Start();
  nexmark.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FINISHED) << ended_failure_;
  Task generator(Deployment({"source.generator", "sink.discard"}, R"({"count": 5000})"),
                 Services());
  generator.Start();
  generator.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FINISHED) << ended_failure_;
  ASSERT_EQ(engine_.chains.size(), 2u);
  const FakeChain& first = *engine_.chains[0];
  ASSERT_EQ(first.generated.size(), 2u);
  EXPECT_EQ(first.generated[0].count, kNexmarkBatchSize);
  EXPECT_EQ(first.generated[1].count, 20000 - kNexmarkBatchSize);
  const FakeChain& second = *engine_.chains[1];
  ASSERT_EQ(second.generated.size(), 2u);
  EXPECT_EQ(second.generated[0].count, 4096);
}

TEST_F(TaskTest, CheckpointSnapshotsKeyedStateAndSourcePositionThenAcknowledges) {
  proto::TaskDeployment deployment =
      Deployment({"source.generator", "reduce", "sink.discard"}, R"({"count": 10})");
  deployment.set_checkpoint_dir(checkpoint_dir_.str() + "/job-1");
  Task task(deployment, Services());
  task.TriggerCheckpoint(1);  // taken before the first batch
  task.Start();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FINISHED) << ended_failure_;
  EXPECT_TRUE(engine_.with_state[0]);
  EXPECT_TRUE(engine_.specs[0].restore_state == false);
  ASSERT_TRUE(listener_.declined.empty()) << listener_.declined[0].second;
  ASSERT_EQ(listener_.acknowledged.size(), 1u);
  const auto& [checkpoint, snapshot] = listener_.acknowledged[0];
  EXPECT_EQ(checkpoint, 1u);
  EXPECT_EQ(snapshot.task_id(), "job-1/g0.0");
  EXPECT_EQ(snapshot.keyed_operator_id(), "op2");
  EXPECT_EQ(std::vector<std::string>(snapshot.keyed_operator_ids().begin(),
                                     snapshot.keyed_operator_ids().end()),
            (std::vector<std::string>{"op2"}));
  EXPECT_EQ(snapshot.state_path(), "job-1_g0.0/state");
  EXPECT_EQ(snapshot.max_parallelism(), 128u);
  EXPECT_FALSE(snapshot.source_position().empty());
  EXPECT_EQ(engine_.chains[0]->snapshots, 1);
  // The state was written by the asynchronous part, which the ack waited for.
  EXPECT_GT(snapshot.async_duration_us(), 0u);
  EXPECT_GT(snapshot.state_full_bytes(), 0u);
  EXPECT_EQ(snapshot.state_incremental_bytes(), snapshot.state_full_bytes()) << "the first one";
  EXPECT_TRUE(std::filesystem::exists(checkpoint_dir_.path() / "job-1/chk-1/job-1_g0.0/state/CURRENT"));
  EXPECT_TRUE(std::filesystem::is_directory(checkpoint_dir_.path() / "job-1/chk-1/job-1_g0.0/state"));
  // The task's own RocksDB went with the task; the checkpoint's copy stays.
  EXPECT_FALSE(std::filesystem::exists(state_dir_.path() / "job-1_g0.0"));
}

TEST_F(TaskTest, CheckpointWithoutADirectoryIsDeclinedAndTheTaskGoesOn) {
  Task task(Deployment({"source.generator", "sink.discard"}, R"({"count": 5})"), Services());
  task.TriggerCheckpoint(3);
  task.Start();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FINISHED) << ended_failure_;
  EXPECT_TRUE(listener_.acknowledged.empty());
  ASSERT_EQ(listener_.declined.size(), 1u);
  EXPECT_EQ(listener_.declined[0].first, 3u);
  EXPECT_EQ(listener_.declined[0].second, "the job has no checkpoint directory");
}

TEST_F(TaskTest, AChainThatFailsFailsTheTaskWithItsMessage) {
  engine_.fail_batches = Status::User("operator 'map' (op2): boom at line 1");
  Task task(Deployment({"source.generator", "map", "sink.discard"}, R"({"count": 10})"),
            Services());
  task.Start();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FAILED);
  EXPECT_EQ(ended_failure_, "operator 'map' (op2): boom at line 1");
  EXPECT_EQ(task.Snapshot().failure(), ended_failure_);
}

TEST_F(TaskTest, CancelEndsAnUnboundedTaskWithoutFiringItsTimers) {
  Task task(Deployment({"source.generator", "sink.discard"}, "{}"), Services());
  task.Start();
  ASSERT_TRUE(Eventually([&] { return task.Snapshot().records_in() > 0; }));
  task.Cancel();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_CANCELED);
  for (const auto& advance : engine_.chains[0]->advances) {
    EXPECT_NE(advance, js::kMaxWatermark);
  }
}

// Its thread is named after the task ("task g0.0"), for `top -H`, perf and gdb.
TEST_F(TaskTest, ItsThreadCarriesTheTasksName) {
  Task task(Deployment({"source.generator", "sink.discard"}, "{}"), Services());
  task.Start();
  ASSERT_TRUE(Eventually([&] { return task.Snapshot().records_in() > 0; }));
  std::vector<std::string> names;
  for (const auto& thread : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(thread.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.push_back(name);
  }
  task.Cancel();
  task.Join();
  std::string all;
  for (const auto& name : names) all += name + "; ";
  EXPECT_NE(std::find(names.begin(), names.end(), "task g0.0"), names.end()) << all;
}

TEST_F(TaskTest, ADeploymentNamingAnUnknownOperatorFailsNamingIt) {
  proto::TaskDeployment deployment = Deployment({"source.generator", "sink.discard"}, "{}");
  deployment.add_operator_ids("op9");
  Task task(deployment, Services());
  task.Start();
  task.Join();
  EXPECT_EQ(ended_state_, proto::TASK_FAILED);
  EXPECT_EQ(ended_failure_, "task job-1/g0.0: no operator op9");
  EXPECT_TRUE(engine_.chains.empty());
}

TEST(TaskBuilderTest, ChainSpecSkipsUnionAndReadsTheJobsSettings) {
  proto::TaskDeployment deployment;
  deployment.set_task_id("j/g1.0");
  deployment.mutable_spec()->set_max_parallelism(64);
  deployment.mutable_spec()->set_params_json(R"({"k":1})");
  for (const char* kind : {"union", "filter", "sink.stdout"}) {
    proto::Operator* op = deployment.mutable_spec()->add_operators();
    op->set_id(std::string("id-") + kind);
    op->set_kind(kind);
    deployment.add_operator_ids(op->id());
  }
  auto chain = ResolveChain(deployment);
  ASSERT_TRUE(chain.ok()) << chain.status().message();
  EXPECT_FALSE(chain->has_source);
  EXPECT_TRUE(chain->has_sink);
  js::ChainSpec spec = MakeChainSpec(deployment, *chain, js::OutputMode::kJsonLines);
  ASSERT_EQ(spec.stages.size(), 1u);
  EXPECT_EQ(spec.stages[0].kind, "filter");
  EXPECT_EQ(spec.text_format, "json");  // fed by other tasks
  EXPECT_EQ(spec.max_parallelism, 64u);
  EXPECT_EQ(spec.params_json, R"({"k":1})");
}

}  // namespace
}  // namespace sluice::runtime
