#include "coordinator/checkpoint_coordinator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::coordinator {
namespace {

const std::vector<std::string> kTasks = {"job-1/g0.0", "job-1/g0.1", "job-1/g1.0", "job-1/g1.1"};

std::vector<TaskId> Ids(const std::vector<std::string>& names) {
  std::vector<TaskId> ids;
  for (const std::string& name : names) ids.emplace_back(name);
  return ids;
}

proto::TaskSnapshot Snapshot(const std::string& task) {
  proto::TaskSnapshot snapshot;
  snapshot.set_task_id(task);
  snapshot.set_state_path("/state/" + task);
  return snapshot;
}

class CheckpointCoordinatorTest : public ::testing::Test {
 protected:
  CheckpointCoordinatorTest() {
    proto::JobSpec spec;
    spec.set_name("bid-counts");
    spec.set_checkpoint_interval_ms(1000);
    spec.set_checkpoint_timeout_ms(5000);
    spec.set_checkpoints_retained(2);
    options_ = CheckpointCoordinatorOptions::ForSpec(JobId("job-1"), spec, "/chk/job-1");
    options_.tasks = Ids(kTasks);
    options_.trigger_tasks = Ids({"job-1/g0.0", "job-1/g0.1"});
  }

  CheckpointCoordinator Make(uint64_t now_ms = 0) {
    auto made = CheckpointCoordinator::Create(options_, now_ms);
    EXPECT_TRUE(made.ok()) << made.status().message();
    return std::move(made).value();
  }

  // Every task acknowledges `id`; returns what the last ack returned.
  static std::optional<proto::CheckpointMetadata> AckAll(CheckpointCoordinator& coordinator,
                                                         uint64_t id, uint64_t now_ms) {
    std::optional<proto::CheckpointMetadata> last;
    for (const std::string& task : kTasks) {
      last = coordinator.OnAcknowledge(now_ms, id, Snapshot(task));
    }
    return last;
  }

  // Acknowledges and persists `id`, which must then complete.
  static CheckpointCompleted Complete(CheckpointCoordinator& coordinator, uint64_t id,
                                      uint64_t now_ms) {
    EXPECT_TRUE(AckAll(coordinator, id, now_ms).has_value()) << "checkpoint " << id;
    auto completed = coordinator.OnPersisted(id);
    EXPECT_TRUE(completed.ok()) << completed.status().message();
    return std::move(completed).value();
  }

  CheckpointCoordinatorOptions options_;
};

TEST_F(CheckpointCoordinatorTest, TriggersAtTheSourceTasksOnceTheIntervalPassed) {
  CheckpointCoordinator coordinator = Make(100);
  EXPECT_FALSE(coordinator.Tick(1099).trigger);
  CheckpointTick tick = coordinator.Tick(1100);
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 1u);
  EXPECT_EQ(tick.trigger->directory, "/chk/job-1/chk-1");
  EXPECT_FALSE(tick.trigger->savepoint);
  EXPECT_EQ(tick.trigger->tasks, options_.trigger_tasks);
  EXPECT_TRUE(tick.failed.empty());
  EXPECT_EQ(coordinator.pending_id(), 1u);
}

TEST_F(CheckpointCoordinatorTest, KeepsAtMostOneCheckpointPending) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  EXPECT_FALSE(coordinator.Tick(2000).trigger);
  EXPECT_FALSE(coordinator.Tick(3000).trigger);
  Complete(coordinator, 1, 3100);
  // The interval counts from the last trigger (1000), long past: the next one goes at once.
  CheckpointTick tick = coordinator.Tick(3200);
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 2u);
  EXPECT_FALSE(coordinator.Tick(4100).trigger);
}

TEST_F(CheckpointCoordinatorTest, CompletesOnlyAfterEveryTaskAcknowledgedAndIsPersisted) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  // Acks arrive in any order; the metadata lists the tasks in the attempt's order.
  EXPECT_FALSE(coordinator.OnAcknowledge(1200, 1, Snapshot("job-1/g1.1")));
  EXPECT_FALSE(coordinator.OnAcknowledge(1200, 1, Snapshot("job-1/g0.0")));
  EXPECT_FALSE(coordinator.OnAcknowledge(1300, 1, Snapshot("job-1/g1.0")));
  auto metadata = coordinator.OnAcknowledge(1400, 1, Snapshot("job-1/g0.1"));
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->job_id(), "job-1");
  EXPECT_EQ(metadata->checkpoint_id(), 1u);
  EXPECT_EQ(metadata->directory(), "/chk/job-1/chk-1");
  EXPECT_FALSE(metadata->savepoint());
  EXPECT_EQ(metadata->triggered_at_ms(), 1000u);
  EXPECT_EQ(metadata->completed_at_ms(), 1400u);
  EXPECT_EQ(metadata->spec().name(), "bid-counts");
  ASSERT_EQ(metadata->tasks_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(metadata->tasks(i).task_id(), kTasks[i]);
    EXPECT_EQ(metadata->tasks(i).state_path(), "/state/" + kTasks[i]);
  }
  // Not complete until the caller persisted it.
  EXPECT_EQ(coordinator.latest_completed(), nullptr);
  EXPECT_EQ(coordinator.completed_count(), 0u);

  auto completed = coordinator.OnPersisted(1);
  ASSERT_TRUE(completed.ok()) << completed.status().message();
  EXPECT_EQ(completed->metadata.SerializeAsString(), metadata->SerializeAsString());
  EXPECT_TRUE(completed->to_delete.empty());
  ASSERT_NE(coordinator.latest_completed(), nullptr);
  EXPECT_EQ(coordinator.latest_completed()->checkpoint_id(), 1u);
  EXPECT_EQ(coordinator.completed_count(), 1u);
  EXPECT_FALSE(coordinator.pending_id());
  EXPECT_FALSE(coordinator.OnPersisted(1).ok());  // once only
}

TEST_F(CheckpointCoordinatorTest, IgnoresDuplicateStaleAndUnknownAcks) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.0")));
    EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.1")));
    EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g1.0")));
  }
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-2/g1.1")));  // not in the job
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 2, Snapshot("job-1/g1.1")));  // not triggered
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 0, Snapshot("job-1/g1.1")));
  EXPECT_EQ(coordinator.pending_id(), 1u);
  ASSERT_TRUE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g1.1")));
  ASSERT_TRUE(coordinator.OnPersisted(1).ok());

  // Acks of a completed checkpoint change nothing, nor do they disturb the next one.
  ASSERT_TRUE(coordinator.Tick(2000).trigger);
  EXPECT_FALSE(AckAll(coordinator, 1, 2100));
  EXPECT_EQ(coordinator.pending_id(), 2u);
  EXPECT_EQ(coordinator.completed_count(), 1u);
  EXPECT_EQ(coordinator.failed_count(), 0u);
  EXPECT_TRUE(AckAll(coordinator, 2, 2200));
}

TEST_F(CheckpointCoordinatorTest, ADeclineFailsThePendingCheckpointNamingTheTask) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.0")));
  EXPECT_FALSE(coordinator.OnDecline(2, TaskId("job-1/g1.0"), "stale id"));
  EXPECT_FALSE(coordinator.OnDecline(1, TaskId("job-2/g1.0"), "not in the job"));
  auto failure = coordinator.OnDecline(1, TaskId("job-1/g1.0"), "RocksDB checkpoint failed");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->checkpoint_id, 1u);
  EXPECT_EQ(failure->directory, "/chk/job-1/chk-1");
  EXPECT_TRUE(failure->triggered);
  EXPECT_FALSE(failure->savepoint);
  EXPECT_NE(failure->reason.find("job-1/g1.0"), std::string::npos) << failure->reason;
  EXPECT_NE(failure->reason.find("RocksDB checkpoint failed"), std::string::npos);
  EXPECT_NE(failure->reason.find("checkpoint 1 of job job-1"), std::string::npos);
  EXPECT_EQ(coordinator.failed_count(), 1u);
  EXPECT_FALSE(coordinator.pending_id());
  EXPECT_FALSE(AckAll(coordinator, 1, 1200));  // the failed one cannot complete any more
  EXPECT_EQ(coordinator.latest_completed(), nullptr);
}

TEST_F(CheckpointCoordinatorTest, TimesOutAPendingCheckpointAndTriggersTheNext) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.0")));
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.1")));
  CheckpointTick before = coordinator.Tick(5999);
  EXPECT_TRUE(before.failed.empty());
  EXPECT_FALSE(before.trigger);

  CheckpointTick tick = coordinator.Tick(6000);
  ASSERT_EQ(tick.failed.size(), 1u);
  const CheckpointFailure& failure = tick.failed[0];
  EXPECT_EQ(failure.checkpoint_id, 1u);
  EXPECT_EQ(failure.directory, "/chk/job-1/chk-1");
  EXPECT_NE(failure.reason.find("expired after 5000 ms"), std::string::npos) << failure.reason;
  EXPECT_NE(failure.reason.find("job-1/g1.0, job-1/g1.1"), std::string::npos) << failure.reason;
  EXPECT_EQ(failure.reason.find("job-1/g0.0"), std::string::npos) << failure.reason;
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 2u);
  EXPECT_EQ(coordinator.failed_count(), 1u);
  // Late acks of the expired checkpoint are ignored.
  EXPECT_FALSE(coordinator.OnAcknowledge(6100, 1, Snapshot("job-1/g1.0")));
  EXPECT_FALSE(coordinator.OnAcknowledge(6100, 1, Snapshot("job-1/g1.1")));
  EXPECT_EQ(coordinator.pending_id(), 2u);
}

TEST_F(CheckpointCoordinatorTest, RetentionKeepsTheLastTwoCheckpointsAndEverySavepoint) {
  CheckpointCoordinator coordinator = Make();
  std::vector<std::string> deleted;
  auto collect = [&](const CheckpointCompleted& completed) {
    deleted.insert(deleted.end(), completed.to_delete.begin(), completed.to_delete.end());
  };
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  collect(Complete(coordinator, 1, 1100));
  ASSERT_TRUE(coordinator.Tick(2000).trigger);
  collect(Complete(coordinator, 2, 2100));
  EXPECT_TRUE(deleted.empty());

  auto savepoint = coordinator.TriggerSavepoint(2200, "/savepoints/sp-3");
  ASSERT_TRUE(savepoint.ok());
  ASSERT_TRUE(savepoint->trigger);
  CheckpointCompleted kept = Complete(coordinator, 3, 2300);
  EXPECT_TRUE(kept.metadata.savepoint());
  EXPECT_TRUE(kept.to_delete.empty());

  ASSERT_TRUE(coordinator.Tick(3200).trigger);
  collect(Complete(coordinator, 4, 3300));
  EXPECT_EQ(deleted, std::vector<std::string>{"/chk/job-1/chk-1"});
  ASSERT_TRUE(coordinator.Tick(4200).trigger);
  collect(Complete(coordinator, 5, 4300));
  EXPECT_EQ(deleted, (std::vector<std::string>{"/chk/job-1/chk-1", "/chk/job-1/chk-2"}));
  EXPECT_EQ(coordinator.retained_directories(),
            (std::deque<std::string>{"/chk/job-1/chk-4", "/chk/job-1/chk-5"}));
  EXPECT_EQ(coordinator.completed_count(), 5u);
}

TEST_F(CheckpointCoordinatorTest, ASavepointWaitsBehindThePendingCheckpoint) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  auto request = coordinator.TriggerSavepoint(1500, "/savepoints/a");
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_EQ(request->checkpoint_id, 2u);
  EXPECT_FALSE(request->trigger);
  EXPECT_EQ(coordinator.queued_savepoints(), 1u);
  EXPECT_FALSE(coordinator.Tick(1600).trigger);  // checkpoint 1 still pending

  Complete(coordinator, 1, 1650);
  CheckpointTick tick = coordinator.Tick(1700);  // before the interval: savepoints do not wait
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 2u);
  EXPECT_TRUE(tick.trigger->savepoint);
  EXPECT_EQ(tick.trigger->directory, "/savepoints/a");
  EXPECT_EQ(tick.trigger->tasks, options_.trigger_tasks);
  EXPECT_EQ(coordinator.queued_savepoints(), 0u);

  CheckpointCompleted completed = Complete(coordinator, 2, 1800);
  EXPECT_TRUE(completed.metadata.savepoint());
  EXPECT_EQ(completed.metadata.directory(), "/savepoints/a");
  EXPECT_EQ(coordinator.latest_completed()->checkpoint_id(), 2u);
  // The interval counts from the savepoint's trigger.
  EXPECT_FALSE(coordinator.Tick(2699).trigger);
  tick = coordinator.Tick(2700);
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 3u);
  EXPECT_EQ(tick.trigger->directory, "/chk/job-1/chk-3");
}

TEST_F(CheckpointCoordinatorTest, WithCheckpointingDisabledOnlySavepointsAreTaken) {
  options_.interval_ms = 0;
  options_.job_dir = "";
  CheckpointCoordinator coordinator = Make();
  EXPECT_FALSE(coordinator.Tick(1000).trigger);
  EXPECT_FALSE(coordinator.Tick(1000000000).trigger);
  auto request = coordinator.TriggerSavepoint(1000000001, "/savepoints/b");
  ASSERT_TRUE(request.ok()) << request.status().message();
  ASSERT_TRUE(request->trigger);
  EXPECT_EQ(request->checkpoint_id, 1u);
  EXPECT_EQ(request->trigger->directory, "/savepoints/b");
  CheckpointCompleted completed = Complete(coordinator, 1, 1000000002);
  EXPECT_TRUE(completed.metadata.savepoint());
  EXPECT_FALSE(coordinator.Tick(2000000000).trigger);
  EXPECT_FALSE(coordinator.TriggerSavepoint(2000000001, "").ok());
}

TEST_F(CheckpointCoordinatorTest, AFinishedTaskFailsWhatWaitsForItAndStopsTriggering) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  auto queued = coordinator.TriggerSavepoint(1100, "/savepoints/c");
  ASSERT_TRUE(queued.ok());
  EXPECT_TRUE(coordinator.TaskFinished(TaskId("job-2/g0.0")).empty());  // not in the job

  std::vector<CheckpointFailure> failed = coordinator.TaskFinished(TaskId("job-1/g0.1"));
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].checkpoint_id, 1u);
  EXPECT_TRUE(failed[0].triggered);
  EXPECT_NE(failed[0].reason.find("task job-1/g0.1 finished"), std::string::npos)
      << failed[0].reason;
  EXPECT_EQ(failed[1].checkpoint_id, queued->checkpoint_id);
  EXPECT_TRUE(failed[1].savepoint);
  EXPECT_FALSE(failed[1].triggered);  // nothing written: nothing to delete
  EXPECT_EQ(failed[1].directory, "/savepoints/c");
  EXPECT_EQ(coordinator.failed_count(), 1u);  // only what was triggered counts

  EXPECT_FALSE(coordinator.Tick(100000).trigger);
  auto refused = coordinator.TriggerSavepoint(100001, "/savepoints/d");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("job-1/g0.1"), std::string::npos);
}

TEST_F(CheckpointCoordinatorTest, APendingCheckpointTheFinishedTaskAcknowledgedStillCompletes) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  EXPECT_FALSE(coordinator.OnAcknowledge(1100, 1, Snapshot("job-1/g0.0")));
  EXPECT_TRUE(coordinator.TaskFinished(TaskId("job-1/g0.0")).empty());
  EXPECT_TRUE(AckAll(coordinator, 1, 1200));
  EXPECT_TRUE(coordinator.OnPersisted(1).ok());
  EXPECT_EQ(coordinator.completed_count(), 1u);
  EXPECT_FALSE(coordinator.Tick(5000).trigger);
}

TEST_F(CheckpointCoordinatorTest, IdsAndRetentionContinueAfterARestore) {
  proto::CheckpointMetadata restored;
  restored.set_checkpoint_id(7);
  restored.set_directory("/chk/job-1/chk-7");
  options_.restored_from = restored;
  options_.first_checkpoint_id = 9;  // the failed attempt had triggered 8 already
  options_.retained_directories = {"/chk/job-1/chk-6", "/chk/job-1/chk-7"};
  CheckpointCoordinator coordinator = Make(50000);
  ASSERT_NE(coordinator.latest_completed(), nullptr);
  EXPECT_EQ(coordinator.latest_completed()->checkpoint_id(), 7u);
  EXPECT_EQ(coordinator.completed_count(), 0u);

  CheckpointTick tick = coordinator.Tick(51000);
  ASSERT_TRUE(tick.trigger);
  EXPECT_EQ(tick.trigger->checkpoint_id, 9u);
  EXPECT_EQ(tick.trigger->directory, "/chk/job-1/chk-9");
  CheckpointCompleted completed = Complete(coordinator, 9, 51100);
  EXPECT_EQ(completed.to_delete, std::vector<std::string>{"/chk/job-1/chk-6"});
  EXPECT_EQ(coordinator.next_checkpoint_id(), 10u);

  options_.first_checkpoint_id = 7;  // not above the restored checkpoint
  auto refused = CheckpointCoordinator::Create(options_, 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("restored checkpoint 7"), std::string::npos);
}

TEST_F(CheckpointCoordinatorTest, StopAbandonsThePendingCheckpointAndQueuedSavepoints) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  ASSERT_TRUE(coordinator.TriggerSavepoint(1100, "/savepoints/e").ok());
  std::vector<CheckpointFailure> failed = coordinator.Stop();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].directory, "/chk/job-1/chk-1");
  EXPECT_TRUE(failed[0].triggered);
  EXPECT_EQ(failed[1].directory, "/savepoints/e");
  EXPECT_FALSE(failed[1].triggered);
  EXPECT_TRUE(coordinator.stopped());

  EXPECT_TRUE(coordinator.Stop().empty());
  CheckpointTick tick = coordinator.Tick(100000);
  EXPECT_FALSE(tick.trigger);
  EXPECT_TRUE(tick.failed.empty());
  EXPECT_FALSE(AckAll(coordinator, 1, 100000));
  EXPECT_FALSE(coordinator.TriggerSavepoint(100001, "/savepoints/f").ok());
}

TEST_F(CheckpointCoordinatorTest, AMetadataWriteFailureFailsTheCheckpoint) {
  CheckpointCoordinator coordinator = Make();
  ASSERT_TRUE(coordinator.Tick(1000).trigger);
  ASSERT_TRUE(AckAll(coordinator, 1, 1100));
  // While the caller writes the metadata, neither timeouts nor declines touch it.
  CheckpointTick tick = coordinator.Tick(10000);
  EXPECT_TRUE(tick.failed.empty());
  EXPECT_FALSE(tick.trigger);
  EXPECT_FALSE(coordinator.OnDecline(1, TaskId("job-1/g0.0"), "late"));
  EXPECT_FALSE(coordinator.OnPersistFailed(2, "wrong id"));

  auto failure = coordinator.OnPersistFailed(1, "disk full");
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->reason.find("disk full"), std::string::npos) << failure->reason;
  EXPECT_EQ(failure->directory, "/chk/job-1/chk-1");
  EXPECT_EQ(coordinator.latest_completed(), nullptr);
  EXPECT_EQ(coordinator.failed_count(), 1u);
  EXPECT_FALSE(coordinator.OnPersisted(1).ok());
}

TEST_F(CheckpointCoordinatorTest, RefusesContradictoryOptions) {
  auto expect_refused = [](CheckpointCoordinatorOptions options, const std::string& what) {
    auto made = CheckpointCoordinator::Create(std::move(options), 0);
    ASSERT_FALSE(made.ok()) << what;
    EXPECT_NE(made.status().message().find(what), std::string::npos) << made.status().message();
  };
  CheckpointCoordinatorOptions no_tasks = options_;
  no_tasks.tasks.clear();
  expect_refused(no_tasks, "no tasks");
  CheckpointCoordinatorOptions stranger = options_;
  stranger.trigger_tasks.emplace_back("job-9/g0.0");
  expect_refused(stranger, "job-9/g0.0 is not one of its tasks");
  CheckpointCoordinatorOptions twice = options_;
  twice.tasks.emplace_back("job-1/g1.0");
  expect_refused(twice, "job-1/g1.0 is listed twice");
  CheckpointCoordinatorOptions keep_none = options_;
  keep_none.retained = 0;
  expect_refused(keep_none, "at least one");
  CheckpointCoordinatorOptions nowhere = options_;
  nowhere.job_dir = "";
  expect_refused(nowhere, "no checkpoint directory");
}

TEST(CheckpointCoordinatorOptionsTest, ForSpecResolvesTheSpecsZeros) {
  proto::JobSpec spec;
  spec.set_checkpoint_interval_ms(250);
  auto options = CheckpointCoordinatorOptions::ForSpec(JobId("j"), spec, "/chk/j");
  EXPECT_EQ(options.interval_ms, 250u);
  EXPECT_EQ(options.timeout_ms, kDefaultCheckpointTimeoutMs);
  EXPECT_EQ(options.retained, kDefaultCheckpointsRetained);
  EXPECT_EQ(options.job_dir, "/chk/j");
  spec.set_checkpoint_timeout_ms(9000);
  spec.set_checkpoints_retained(1);
  options = CheckpointCoordinatorOptions::ForSpec(JobId("j"), spec, "/chk/j");
  EXPECT_EQ(options.timeout_ms, 9000u);
  EXPECT_EQ(options.retained, 1u);
}

TEST(CheckpointCostTest, SlowestTaskPartsAndStateBytesOverAllTasks) {
  proto::CheckpointMetadata metadata;
  EXPECT_EQ(CostOf(metadata).sync_us, 0u);
  const uint64_t parts[][4] = {{1500, 90000, 1000, 200}, {4000, 30000, 3000, 0}, {200, 0, 0, 0}};
  for (const auto& p : parts) {
    proto::TaskSnapshot* task = metadata.add_tasks();
    task->set_sync_duration_us(p[0]);
    task->set_async_duration_us(p[1]);
    task->set_state_full_bytes(p[2]);
    task->set_state_incremental_bytes(p[3]);
  }
  const CheckpointCost cost = CostOf(metadata);
  EXPECT_EQ(cost.sync_us, 4000u);
  EXPECT_EQ(cost.async_us, 90000u);
  EXPECT_EQ(cost.full_bytes, 4000u);
  EXPECT_EQ(cost.incremental_bytes, 200u);
}

}  // namespace
}  // namespace sluice::coordinator
