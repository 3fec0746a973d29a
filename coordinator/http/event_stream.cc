// GET /api/v1/jobs/{id}/events: Server-Sent Events of one job.
//
//   event: status   the job's state, reason, restarts, checkpoints and tasks, whenever they change
//   event: metrics  once a second: per task and per chained group, records in/out and per second,
//                   the watermark (a group's: its subtasks' least) and back-pressure: the share
//                   of the last interval the task waited for room downstream (a group's: its
//                   busiest subtask's)
//   event: output   records of the job's stdout and collect sinks: {"records", "dropped"}
//   event: end      the job ended and every output record was sent; the stream closes
//   ": heartbeat"   a comment when nothing else was sent for a while
//
// Every event's id is the number of output records the stream has passed so far; a client that
// reconnects with Last-Event-ID gets the records after it (those still in the job's buffer; the
// rest are counted in `dropped`). Status and metrics are snapshots and are always sent afresh.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "coordinator/http/api_json.h"
#include "coordinator/http/http_api.h"

namespace sluice::coordinator::http {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

uint64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Ended(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED || state == proto::JOB_FAILED;
}

std::string Event(const char* name, uint64_t id, const std::string& data) {
  return std::string("event: ") + name + "\nid: " + std::to_string(id) + "\ndata: " + data + "\n\n";
}

// One stream's position and what it last sent; lives on the stream's HTTP thread.
struct StreamState {
  uint64_t cursor = 0;
  std::string last_status;
  Clock::time_point last_metrics;
  Clock::time_point last_write = Clock::now();
  uint64_t last_metrics_ms = 0;
  struct Counts {
    uint64_t in = 0;
    uint64_t out = 0;
    uint64_t backpressured_ms = 0;
  };
  std::map<std::string, Counts> previous;  // by task id
  bool ended = false;
};

// The least of two watermarks (numbers, "end" or null); a subtask without one holds its group back.
json LeastWatermark(const json& a, const json& b) {
  if (a.is_null() || b.is_null()) return nullptr;
  if (a.is_string()) return b;
  if (b.is_string()) return a;
  return std::min(a.get<int64_t>(), b.get<int64_t>());
}

json MetricsJson(const proto::JobInfo& info, StreamState& state, uint64_t now_ms) {
  double seconds = state.last_metrics_ms == 0 ? 0 : (now_ms - state.last_metrics_ms) / 1000.0;
  json tasks = json::array();
  std::map<std::string, json> groups;
  for (const auto& task : info.tasks()) {
    double in_rate = 0;
    double out_rate = 0;
    double backpressure = 0;
    auto prev = state.previous.find(task.task_id());
    if (prev != state.previous.end() && seconds > 0) {
      const StreamState::Counts& was = prev->second;
      in_rate = (task.records_in() - std::min(task.records_in(), was.in)) / seconds;
      out_rate = (task.records_out() - std::min(task.records_out(), was.out)) / seconds;
      const uint64_t waited =
          task.backpressured_ms() - std::min(task.backpressured_ms(), was.backpressured_ms);
      backpressure = std::min(1.0, waited / (seconds * 1000.0));
    }
    state.previous[task.task_id()] = {task.records_in(), task.records_out(),
                                      task.backpressured_ms()};
    const json watermark = WatermarkJson(task);
    tasks.push_back({{"id", task.task_id()},
                     {"operators", task.operators()},
                     {"subtask", task.subtask()},
                     {"state", TaskStateName(task.state())},
                     {"recordsIn", task.records_in()},
                     {"recordsOut", task.records_out()},
                     {"inPerSecond", in_rate},
                     {"outPerSecond", out_rate},
                     {"watermark", watermark},
                     {"backpressure", backpressure}});
    json& group = groups[task.operators()];
    if (group.is_null()) {
      group = {{"operators", task.operators()}, {"recordsIn", 0}, {"recordsOut", 0},
               {"inPerSecond", 0.0}, {"outPerSecond", 0.0}, {"subtasks", 0},
               {"watermark", watermark}, {"backpressure", 0.0}};
    }
    group["backpressure"] = std::max(group["backpressure"].get<double>(), backpressure);
    group["watermark"] = LeastWatermark(group["watermark"], watermark);
    group["recordsIn"] = group["recordsIn"].get<uint64_t>() + task.records_in();
    group["recordsOut"] = group["recordsOut"].get<uint64_t>() + task.records_out();
    group["inPerSecond"] = group["inPerSecond"].get<double>() + in_rate;
    group["outPerSecond"] = group["outPerSecond"].get<double>() + out_rate;
    group["subtasks"] = group["subtasks"].get<int>() + 1;
  }
  state.last_metrics_ms = now_ms;
  json group_list = json::array();
  for (auto& [name, group] : groups) group_list.push_back(std::move(group));
  return {{"atMs", now_ms}, {"tasks", tasks}, {"groups", group_list}};
}

}  // namespace

void HttpApi::StreamEvents(const httplib::Request& request, const std::string& id,
                           httplib::Response& response) {
  auto info = node_.GetJob(JobId(id));
  if (!info.ok()) return SendError(response, 404, "not_found", info.status().message());
  if (streams_.fetch_add(1) >= options_.max_event_streams) {
    streams_.fetch_sub(1);
    return SendError(response, 429, "too_many_streams",
                     "at most " + std::to_string(options_.max_event_streams) +
                         " event streams at once; close one and retry");
  }
  auto state = std::make_shared<StreamState>();
  const std::string last_id = request.get_header_value("Last-Event-ID");
  if (!last_id.empty()) state->cursor = std::strtoull(last_id.c_str(), nullptr, 10);
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");
  const JobId job(id);
  response.set_chunked_content_provider(
      "text/event-stream",
      [this, state, job](size_t, httplib::DataSink& sink) {
        if (stopping_ || !sink.is_writable()) return false;
        std::string out;
        auto info = node_.GetJob(job);
        if (!info.ok()) return false;
        uint64_t now_ms = NowMs();
        std::string status = JobStatusJson(*info, now_ms).dump();
        // Duration changes every millisecond; compare what a watcher cares about.
        json comparable = json::parse(status);
        comparable.erase("durationMs");
        std::string key = comparable.dump();
        if (key != state->last_status) {
          state->last_status = key;
          out += Event("status", state->cursor, status);
        }
        auto slice = outputs_.Read(job, state->cursor, 500);
        if (!slice.records.empty() || slice.skipped > 0) {
          state->cursor = slice.next;
          json records = json::array();
          for (const auto& record : slice.records) {
            json parsed = json::parse(record, nullptr, false);
            records.push_back(parsed.is_discarded() ? json(record) : parsed);
          }
          out += Event("output", state->cursor,
                       json{{"records", records}, {"dropped", slice.skipped}}.dump());
        }
        auto now = Clock::now();
        if (now - state->last_metrics >= std::chrono::seconds(1)) {
          state->last_metrics = now;
          out += Event("metrics", state->cursor, MetricsJson(*info, *state, now_ms).dump());
        }
        bool drained = outputs_.Read(job, state->cursor, 1).records.empty();
        // Workers send stdout records every 100 ms: give the last ones time to arrive.
        bool settled = info->ended_at_ms() == 0 || now_ms >= info->ended_at_ms() + 1000;
        if (Ended(info->state()) && settled && drained && slice.records.empty()) {
          out += Event("end", state->cursor, json{{"state", StateName(info->state())}}.dump());
          state->ended = true;
        }
        if (out.empty() &&
            now - state->last_write >= std::chrono::milliseconds(options_.heartbeat_ms)) {
          out = ": heartbeat\n\n";
        }
        if (!out.empty()) {
          state->last_write = now;
          if (!sink.write(out.data(), out.size())) return false;
        }
        if (state->ended) {
          sink.done();
          return true;
        }
        outputs_.Wait(job, state->cursor, std::chrono::milliseconds(200));
        return true;
      },
      [this](bool) { streams_.fetch_sub(1); });
}

}  // namespace sluice::coordinator::http
