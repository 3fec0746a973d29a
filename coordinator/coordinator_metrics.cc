#include "coordinator/coordinator_metrics.h"

#include <map>

namespace sluice::coordinator {

void CollectCoordinatorMetrics(const CoordinatorNode& node, MetricsWriter& writer) {
  proto::ListJobsResponse jobs = node.ListJobs();
  std::map<std::string, double> by_state;
  for (int s = proto::JOB_CREATED; s <= proto::JOB_FAILED; ++s) {
    by_state[proto::JobState_Name(static_cast<proto::JobState>(s))] = 0;
  }
  for (const auto& job : jobs.jobs()) {
    by_state[proto::JobState_Name(job.state())] += 1;
    if (job.last_checkpoint_id() > 0) {
      const MetricLabels labels = {{"job", job.job_id()}};
      writer.Gauge("sluice_job_checkpoint_sync_seconds",
                   "The latest checkpoint's synchronous part in its slowest task.", labels,
                   job.last_checkpoint_sync_us() / 1e6);
      writer.Gauge("sluice_job_checkpoint_async_seconds",
                   "The latest checkpoint's asynchronous part in its slowest task.", labels,
                   job.last_checkpoint_async_us() / 1e6);
      writer.Gauge("sluice_job_checkpoint_state_bytes",
                   "The latest checkpoint's keyed state over all tasks (every file).", labels,
                   static_cast<double>(job.last_checkpoint_full_bytes()));
      writer.Gauge("sluice_job_checkpoint_incremental_bytes",
                   "The latest checkpoint's keyed state written anew (not shared with the "
                   "tasks' previous checkpoints).",
                   labels, static_cast<double>(job.last_checkpoint_incremental_bytes()));
    }
    for (const auto& task : job.tasks()) {
      MetricLabels labels = {{"job", job.job_id()}, {"task", task.task_id()}};
      writer.Counter("sluice_job_task_records_in_total",
                     "Records that entered a task's chain, as last reported by its worker.", labels,
                     static_cast<double>(task.records_in()));
      writer.Counter("sluice_job_task_records_out_total",
                     "Records that left a task's chain, as last reported by its worker.", labels,
                     static_cast<double>(task.records_out()));
      writer.Counter("sluice_job_task_backpressured_seconds_total",
                     "Time a task waited for room downstream, as last reported by its worker.",
                     labels, static_cast<double>(task.backpressured_ms()) / 1000.0);
    }
  }
  for (const auto& [state, count] : by_state) {
    writer.Gauge("sluice_jobs", "Jobs the coordinator knows, by state.", {{"state", state}}, count);
  }
  writer.Gauge("sluice_workers", "Workers registered with the coordinator.", {},
               node.ListWorkers().workers_size());
}

}  // namespace sluice::coordinator
