#include "coordinator/http/api_json.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "coordinator/planner.h"

namespace sluice::coordinator::http {
namespace {

using nlohmann::json;

std::string Lower(std::string text, size_t prefix) {
  text = text.substr(std::min(prefix, text.size()));
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string PartitioningName(proto::Partitioning partitioning) {
  switch (partitioning) {
    case proto::REBALANCE:
      return "rebalance";
    case proto::HASH:
      return "hash";
    case proto::BROADCAST:
      return "broadcast";
    default:
      return "forward";
  }
}

bool Ended(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED || state == proto::JOB_FAILED;
}

uint64_t DurationMs(const proto::JobInfo& info, uint64_t now_ms) {
  uint64_t end = info.ended_at_ms() > 0 ? info.ended_at_ms() : (Ended(info.state()) ? 0 : now_ms);
  return end > info.submitted_at_ms() ? end - info.submitted_at_ms() : 0;
}

}  // namespace

std::string StateName(proto::JobState state) {
  return Lower(proto::JobState_Name(state), 4);  // "JOB_RUNNING" -> "running"
}

std::string TaskStateName(proto::TaskState state) {
  return Lower(proto::TaskState_Name(state), 5);  // "TASK_RUNNING" -> "running"
}

json JobSummaryJson(const proto::JobInfo& info, uint64_t now_ms) {
  return {{"id", info.job_id()},
          {"name", info.name()},
          {"state", StateName(info.state())},
          {"startedAtMs", info.submitted_at_ms()},
          {"durationMs", DurationMs(info, now_ms)}};
}

json JobStatusJson(const proto::JobInfo& info, uint64_t now_ms) {
  json job = JobSummaryJson(info, now_ms);
  job["endedAtMs"] = info.ended_at_ms();
  job["reason"] = info.failure();
  job["restarts"] = info.restarts();
  job["lastRestartReason"] = info.last_restart_reason();
  json checkpoints = {{"completed", info.checkpoints_completed()},
                      {"failed", info.checkpoints_failed()},
                      {"latest", nullptr}};
  if (info.last_checkpoint_id() > 0) {
    checkpoints["latest"] = {{"id", info.last_checkpoint_id()},
                             {"path", info.last_checkpoint_path()},
                             {"durationMs", info.last_checkpoint_duration_ms()},
                             {"syncUs", info.last_checkpoint_sync_us()},
                             {"asyncUs", info.last_checkpoint_async_us()},
                             {"fullBytes", info.last_checkpoint_full_bytes()},
                             {"incrementalBytes", info.last_checkpoint_incremental_bytes()}};
  }
  job["checkpoints"] = std::move(checkpoints);
  json tasks = json::array();
  for (const auto& task : info.tasks()) {
    tasks.push_back({{"id", task.task_id()},
                     {"operators", task.operators()},
                     {"subtask", task.subtask()},
                     {"worker", task.worker_id()},
                     {"state", TaskStateName(task.state())},
                     {"failure", task.failure()},
                     {"detail", task.detail()}});
  }
  job["tasks"] = std::move(tasks);
  return job;
}

json JobDetailJson(const proto::JobInfo& info, uint64_t now_ms) {
  json job = JobStatusJson(info, now_ms);
  for (int i = 0; i < info.tasks_size(); ++i) {
    job["tasks"][i]["recordsIn"] = info.tasks(i).records_in();
    job["tasks"][i]["recordsOut"] = info.tasks(i).records_out();
    job["tasks"][i]["watermark"] = WatermarkJson(info.tasks(i));
    job["tasks"][i]["backpressuredMs"] = info.tasks(i).backpressured_ms();
    job["tasks"][i]["inPerSecond"] = info.tasks(i).in_per_second();
    job["tasks"][i]["outPerSecond"] = info.tasks(i).out_per_second();
  }
  return job;
}

json WatermarkJson(const proto::TaskInfo& task) {
  if (!task.has_watermark()) return nullptr;
  if (task.watermark() == std::numeric_limits<int64_t>::max()) return "end";
  return task.watermark();
}

json WorkersJson(const proto::ListWorkersResponse& workers) {
  json out = json::array();
  for (const auto& w : workers.workers()) {
    out.push_back({{"id", w.worker_id()},
                   {"address", w.address()},
                   {"name", w.name()},
                   {"slots", w.slots()},
                   {"assignedTasks", w.assigned_tasks()},
                   // Unknown until the worker's first heartbeat.
                   {"runningTasks", w.heartbeats() > 0 ? json(w.running_tasks()) : json(nullptr)},
                   {"lastHeartbeatMsAgo", w.last_seen_ms_ago()}});
  }
  return {{"workers", out}};
}

json ProblemsJson(const std::vector<proto::ValidationProblem>& problems) {
  json out = json::array();
  for (const auto& p : problems) {
    out.push_back(
        {{"operatorId", p.operator_id()}, {"operatorName", p.operator_name()}, {"message", p.message()}});
  }
  return out;
}

Result<json> PlanJson(const proto::JobSpec& spec, const std::string& job_id) {
  auto plan = PlanJob(spec, JobId(job_id));
  if (!plan.ok()) return plan.status();
  uint32_t job_parallelism = spec.parallelism() == 0 ? 1 : spec.parallelism();
  json operators = json::array();
  for (const auto& op : spec.operators()) {
    operators.push_back({{"id", op.id()},
                         {"name", op.name()},
                         {"kind", op.kind()},
                         {"parallelism", op.parallelism() == 0 ? job_parallelism : op.parallelism()}});
  }
  json edges = json::array();
  for (const auto& edge : spec.edges()) {
    edges.push_back({{"from", edge.from()},
                     {"to", edge.to()},
                     {"partitioning", PartitioningName(edge.partitioning())},
                     {"input", edge.input()},
                     {"fromOutput", edge.from_output()}});
  }
  json groups = json::array();
  for (const auto& group : plan->groups) {
    groups.push_back({{"index", group.index},
                      {"operators", group.operator_ids},
                      {"name", group.display},
                      {"parallelism", group.parallelism}});
  }
  json exchanges = json::array();
  for (const auto& edge : plan->edges) {
    json exchange = {{"from", edge.from},
                     {"to", edge.to},
                     {"partitioning", PartitioningName(edge.partitioning)},
                     {"input", edge.input}};
    if (!edge.combiner.empty()) exchange["combiner"] = edge.combiner;
    exchanges.push_back(std::move(exchange));
  }
  return json{{"name", spec.name()},
              {"operators", operators},
              {"edges", edges},
              {"groups", groups},
              {"exchanges", exchanges}};
}

json ErrorJson(const std::string& code, const std::string& message, const json& problems) {
  json error = {{"code", code}, {"message", message}};
  if (!problems.is_null()) error["problems"] = problems;
  return {{"error", error}};
}

}  // namespace sluice::coordinator::http
