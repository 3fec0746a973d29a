#include "connectors/kafka/kafka_source.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "connectors/kafka/kafka_positions.h"
#include "connectors/kafka/kafka_records.h"

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxBatchBytes = 1 << 20;
constexpr int kRequestTimeoutMs = 2000;
// How long Next() waits for messages before it returns an empty batch, so the task loop gets
// control back now and then even when the topics are idle.
constexpr auto kIdleReturn = std::chrono::milliseconds(500);

std::string OffsetText(int64_t offset) { return std::to_string(offset); }

}  // namespace

struct KafkaSource::PartitionState {
  TopicPartition tp;
  int64_t next = 0;                       // the next offset to read
  int64_t stop = -1;                      // bounded: the end offset as of the start; else -1
  std::optional<int64_t> skip_before_ts;  // a timestamp start scanned for on this side
  bool done = false;                      // bounded and nothing left to read
};

// Receives the client's error events (on the task thread, inside consume calls).
class KafkaSource::ErrorListener : public ClientErrorListener {
 public:
  explicit ErrorListener(KafkaSource* source) : source_(source) {}
  void OnClientError(rd_kafka_resp_err_t error, const std::string& reason) override {
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
      fatal = Status::External(EndpointProblem(source_->context_.operator_label,
                                               source_->config_.brokers, "fatal error: " + reason));
      return;
    }
    source_->ReportProblem(reason);
  }
  // The statistics are how an idle source learns that its brokers are back: no message or
  // error says so while there is nothing to read.
  void OnClientStats(std::string_view json) override {
    const std::optional<bool> up = AnyBrokerUp(json);
    if (up.value_or(false)) source_->ReportHealthy();
  }
  Status fatal = Status::Ok();

 private:
  KafkaSource* source_;
};

KafkaSource::KafkaSource(KafkaSourceConfig config, const runtime::SourceContext& context,
                         PartitionOffsets start_offsets)
    : config_(std::move(config)),
      context_(context),
      start_offsets_(std::move(start_offsets)),
      listener_(std::make_unique<ErrorListener>(this)),
      outage_(config_.retry) {}

KafkaSource::~KafkaSource() {
  wake_ = nullptr;
  queue_.reset();
  // Leaves the assignment; with no group joined there is nothing to commit or hand over, and
  // its error (if any) has no one left to tell.
  if (consumer_ != nullptr) static_cast<void>(rd_kafka_consumer_close(consumer_.get()));
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::Create(KafkaSourceConfig config,
                                                         const runtime::SourceContext& context,
                                                         PartitionOffsets start_offsets) {
  std::unique_ptr<KafkaSource> source(
      new KafkaSource(std::move(config), context, std::move(start_offsets)));
  const KafkaSourceConfig& c = source->config_;
  auto consumer = MakeClient(
      RD_KAFKA_CONSUMER, c.brokers,
      {{"group.id", "sluice"},  // never joined: partitions are assigned, not subscribed
       {"client.id", "sluice-source"},
       {"enable.auto.commit", "false"},
       {"enable.auto.offset.store", "false"},
       {"enable.partition.eof", "true"},
       // The partitions' fetch queues feed one consumer queue, and librdkafka compares that
       // shared queue's length with this per-partition threshold: at the default (100000) a
       // source of many partitions keeps pausing its fetches (a 32-partition topic read at a fifth
       // of the speed). The prefetched bytes stay bounded by queued.max.messages.kbytes.
       {"queued.min.messages", "1000000"},
       // Statistics every second say when a broker is connected again (ErrorListener).
       {"statistics.interval.ms", "1000"},
       // librdkafka backs off reconnecting up to 10 s; at most 1 s, brokers back from an outage
       // are connected again well inside a short retry budget.
       {"reconnect.backoff.max.ms", "1000"},
       {"auto.offset.reset", c.start.kind == StartKind::kLatest ? "latest" : "earliest"}},
      c.properties, source->listener_.get(), context.operator_label);
  if (!consumer.ok()) return consumer.status();
  source->consumer_ = std::move(consumer).value();
  rd_kafka_poll_set_consumer(source->consumer_.get());
  source->queue_.reset(rd_kafka_queue_get_consumer(source->consumer_.get()));
  source->wake_ = source->queue_.get();
  return source;
}

void KafkaSource::Cancel() {
  rd_kafka_queue_t* queue = wake_.load();
  if (queue != nullptr) rd_kafka_queue_yield(queue);
}

Status KafkaSource::Retry(const std::string& what,
                          const std::function<rd_kafka_resp_err_t()>& call) {
  Backoff backoff(context_.cancel);
  connectors::RetryAllowance allowance(config_.retry);
  while (true) {
    if (context_.cancel != nullptr && context_.cancel->cancelled()) {
      return Status::Cancelled("cancelled");
    }
    rd_kafka_resp_err_t error = call();
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ReportHealthy();
      return Status::Ok();
    }
    if (!IsTransportError(error)) {
      return Status::External(EndpointProblem(context_.operator_label, config_.brokers,
                                              what + ": " + rd_kafka_err2str(error)));
    }
    const auto now = std::chrono::steady_clock::now();
    if (!allowance.Take(now)) {
      // A bounded source that never connected, or any source whose brokers stay away: the task
      // fails, and the job restarts or fails as its restart strategy says.
      return Status::External(EndpointProblem(context_.operator_label, config_.brokers,
                                              allowance.GaveUp(now) + "; last error: " + what +
                                                  ": " + rd_kafka_err2str(error)));
    }
    ReportProblem(what + ": " + rd_kafka_err2str(error) + "; retrying in " +
                  std::to_string(backoff.next().count()) + " ms");
    if (!backoff.Wait()) return Status::Cancelled("cancelled");
  }
}

void KafkaSource::ReportProblem(const std::string& what) {
  unhealthy_ = true;
  last_problem_ = what;
  // Once reading, each problem librdkafka reports counts against the retry budget (connecting
  // has its own, in Retry()); CheckOutage() fails the task when the budget is spent.
  if (connected_ && !outage_.Take(Clock::now())) outage_spent_ = true;
  if (context_.health != nullptr) {
    context_.health->Retrying(EndpointProblem(context_.operator_label, config_.brokers, what));
  }
}

void KafkaSource::ReportHealthy() {
  if (!unhealthy_) return;
  unhealthy_ = false;
  outage_.Reset();
  outage_spent_ = false;
  if (context_.health != nullptr) context_.health->Healthy();
}

Result<std::map<std::string, int32_t>> KafkaSource::FetchPartitionCounts() {
  std::map<std::string, int32_t> counts;
  for (const std::string& topic : config_.topics) {
    KafkaTopic handle(rd_kafka_topic_new(consumer_.get(), topic.c_str(), nullptr));
    rd_kafka_resp_err_t topic_error = RD_KAFKA_RESP_ERR_NO_ERROR;
    int32_t count = 0;
    SLUICE_RETURN_IF_ERROR(Retry("looking up topic '" + topic + "'", [&] {
      const rd_kafka_metadata_t* raw = nullptr;
      rd_kafka_resp_err_t error =
          rd_kafka_metadata(consumer_.get(), 0, handle.get(), &raw, kRequestTimeoutMs);
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return error;
      KafkaMetadata metadata(raw);
      topic_error = metadata->topic_cnt == 1 ? metadata->topics[0].err
                                             : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      count = metadata->topic_cnt == 1 ? metadata->topics[0].partition_cnt : 0;
      // A topic that is still being created has no leaders yet: wait for it.
      if (topic_error == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) return topic_error;
      return RD_KAFKA_RESP_ERR_NO_ERROR;
    }));
    if (topic_error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        (topic_error == RD_KAFKA_RESP_ERR_NO_ERROR && count == 0)) {
      return Status::User(EndpointProblem(context_.operator_label, config_.brokers,
                                          "topic '" + topic + "' does not exist"));
    }
    if (topic_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::External(
          EndpointProblem(context_.operator_label, config_.brokers,
                          "topic '" + topic + "': " + rd_kafka_err2str(topic_error)));
    }
    counts[topic] = count;
  }
  return counts;
}

Status KafkaSource::ResolveOffsets() {
  for (PartitionState& state : partitions_) {
    int64_t low = 0, high = 0;
    SLUICE_RETURN_IF_ERROR(Retry("reading the offsets of " + state.tp.ToString(), [&] {
      return rd_kafka_query_watermark_offsets(consumer_.get(), state.tp.topic.c_str(),
                                              state.tp.partition, &low, &high, kRequestTimeoutMs);
    }));
    if (config_.bounded) state.stop = high;
    auto given = start_offsets_.find(state.tp);
    if (given != start_offsets_.end()) {
      state.next = given->second.value();
    } else if (config_.start.kind == StartKind::kEarliest) {
      state.next = low;
    } else if (config_.start.kind == StartKind::kLatest) {
      state.next = high;
    } else {
      SLUICE_RETURN_IF_ERROR(ResolveTimestampStart(low, high, &state));
    }
    state.done = state.stop >= 0 && state.next >= state.stop;
    next_offsets_[state.tp] = KafkaOffset(state.next);
  }
  return Status::Ok();
}

// offsetsForTimes: the first offset whose timestamp is at or after the start, -1 when there is
// none. A broker without a time index (librdkafka's mock cluster) answers -1 even for timestamp
// 0 in a partition that has records; then this side reads from the earliest offset and skips
// records until the first one at or after the start.
Status KafkaSource::ResolveTimestampStart(int64_t low, int64_t high, PartitionState* state) {
  const auto lookup = [&](int64_t timestamp, int64_t* offset) {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), state->tp.topic.c_str(), state->tp.partition)
        ->offset = timestamp;
    SLUICE_RETURN_IF_ERROR(Retry("looking up offsets by time in " + state->tp.ToString(), [&] {
      rd_kafka_resp_err_t error =
          rd_kafka_offsets_for_times(consumer_.get(), list.get(), kRequestTimeoutMs);
      return error != RD_KAFKA_RESP_ERR_NO_ERROR ? error : list->elems[0].err;
    }));
    *offset = list->elems[0].offset;
    return Status::Ok();
  };
  int64_t offset = -1;
  SLUICE_RETURN_IF_ERROR(lookup(config_.start.timestamp_ms, &offset));
  if (offset >= 0) {
    state->next = offset;
    return Status::Ok();
  }
  int64_t first = -1;
  if (high > low) SLUICE_RETURN_IF_ERROR(lookup(0, &first));
  if (high > low && first < 0) {
    state->next = low;
    state->skip_before_ts = config_.start.timestamp_ms;
  } else {
    state->next = high;  // no record at or after the timestamp yet
  }
  return Status::Ok();
}

Status KafkaSource::Assign() {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
  for (const PartitionState& state : partitions_) {
    if (state.done) continue;
    rd_kafka_topic_partition_list_add(list.get(), state.tp.topic.c_str(), state.tp.partition)
        ->offset = state.next;
  }
  rd_kafka_resp_err_t error = rd_kafka_assign(consumer_.get(), list.get());
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::External(
        EndpointProblem(context_.operator_label, config_.brokers,
                        std::string("assigning partitions: ") + rd_kafka_err2str(error)));
  }
  return Status::Ok();
}

Status KafkaSource::Connect() {
  auto counts = FetchPartitionCounts();
  if (!counts.ok()) return counts.status();
  assignment_ = AssignPartitions(*counts, context_.subtask, context_.parallelism);
  partitions_.clear();
  for (const TopicPartition& tp : assignment_) partitions_.push_back(PartitionState{tp});
  SLUICE_RETURN_IF_ERROR(ResolveOffsets());
  SLUICE_RETURN_IF_ERROR(Assign());
  if (config_.watermarks.has_value()) {
    watermarks_.emplace(*config_.watermarks, partitions_.size(), now_());
  }
  return Status::Ok();
}

bool KafkaSource::AllDone() const {
  if (!config_.bounded) return false;
  for (const PartitionState& state : partitions_) {
    if (!state.done) return false;
  }
  return true;
}

void KafkaSource::OnMessageError(const rd_kafka_message_t& message) {
  if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    ReportHealthy();
    if (message.rkt == nullptr) return;
    const std::string_view topic = rd_kafka_topic_name(message.rkt);
    for (PartitionState& state : partitions_) {
      if (state.tp.partition != message.partition || state.tp.topic != topic) continue;
      if (state.stop >= 0 && message.offset >= state.stop) state.done = true;
    }
    return;
  }
  char fatal[256];
  if (rd_kafka_fatal_error(consumer_.get(), fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    listener_->fatal = Status::External(EndpointProblem(context_.operator_label, config_.brokers,
                                                        std::string("fatal error: ") + fatal));
    return;
  }
  std::string where;
  if (message.rkt != nullptr) {
    where = TopicPartition{rd_kafka_topic_name(message.rkt), message.partition}.ToString() + ": ";
  }
  ReportProblem(where + rd_kafka_message_errstr(&message) + "; retrying");
}

Result<bool> KafkaSource::Take(const rd_kafka_message_t& message, runtime::InputBatch* batch) {
  const std::string_view topic = rd_kafka_topic_name(message.rkt);
  PartitionState* state = nullptr;
  size_t index = 0;
  for (; index < partitions_.size(); ++index) {
    if (partitions_[index].tp.partition == message.partition &&
        partitions_[index].tp.topic == topic) {
      state = &partitions_[index];
      break;
    }
  }
  if (state == nullptr || state->done) return false;
  if (state->stop >= 0 && message.offset >= state->stop) {
    state->done = true;
    return false;
  }
  rd_kafka_timestamp_type_t type;
  const int64_t timestamp = rd_kafka_message_timestamp(&message, &type);
  state->next = message.offset + 1;
  if (state->stop >= 0 && state->next >= state->stop) state->done = true;
  if (state->skip_before_ts.has_value()) {
    if (timestamp < *state->skip_before_ts) return false;
    state->skip_before_ts.reset();
  }

  const size_t size = message.len + message.key_len;
  if (size > context_.max_line_bytes) {
    return Status::User(context_.operator_label + ": " + state->tp.ToString() + " offset " +
                        OffsetText(message.offset) + ": the message is " + std::to_string(size) +
                        " bytes (key and value), over the limit of " +
                        std::to_string(context_.max_line_bytes) +
                        " bytes for one input record (--max-line-bytes)");
  }
  MessageView view;
  view.topic = topic;
  view.partition = message.partition;
  view.offset = message.offset;
  if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) view.timestamp_ms = timestamp;
  if (message.key != nullptr) {
    view.key = std::string_view(static_cast<const char*>(message.key), message.key_len);
  }
  if (message.payload != nullptr) {
    view.value = std::string_view(static_cast<const char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (config_.format == RecordFormat::kBytes &&
      rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      std::optional<std::string_view> bytes;
      if (value != nullptr) bytes = std::string_view(static_cast<const char*>(value), size);
      view.headers.emplace_back(name, bytes);
    }
  }
  auto appended = AppendRecordLine(config_.format, view, &batch->text);
  if (!appended.ok()) {
    return appended.status().WithContext(context_.operator_label + ": " + state->tp.ToString() +
                                         " offset " + OffsetText(message.offset));
  }
  if (*appended && config_.format == RecordFormat::kJson) {
    line_origins_.emplace_back(index, message.offset);
  }
  if (watermarks_.has_value()) {
    watermarks_->OnMessage(index, *appended ? view.timestamp_ms : std::nullopt, now_());
    if (*appended) batch->event_times.push_back(view.timestamp_ms);
  }
  return *appended;
}

Status KafkaSource::CheckOutage() {
  const auto now = Clock::now();
  if (!unhealthy_ || !(outage_spent_ || outage_.Spent(now))) return Status::Ok();
  return Status::External(EndpointProblem(context_.operator_label, config_.brokers,
                                          "unreachable while reading: " + outage_.GaveUp(now) +
                                              "; last error: " + last_problem_));
}

Status KafkaSource::LocateRecordError(const runtime::InputBatch& batch,
                                      const Status& error) const {
  if (config_.format != RecordFormat::kJson) return error;
  if (error.message().find("bad JSON line") == std::string::npos) return error;
  std::string_view rest = batch.text;
  for (const auto& [index, offset] : line_origins_) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (!nlohmann::json::accept(line)) {
      return Status::User(context_.operator_label + ": " + partitions_[index].tp.ToString() +
                          " offset " + OffsetText(offset) + ": the value is not valid JSON: " +
                          std::string(line.substr(0, 80)) + (line.size() > 80 ? "..." : ""));
    }
  }
  return error;
}

Result<runtime::InputBatch> KafkaSource::Next() {
  if (!connected_) {
    SLUICE_RETURN_IF_ERROR(Connect());
    connected_ = true;
  }
  if (watermarks_.has_value()) {
    if (auto moved = MoveTime(); moved.has_value()) return std::move(moved).value();
  }
  if (AllDone()) return runtime::InputBatch::End();
  runtime::InputBatch batch;
  const std::string& text = batch.text;
  line_origins_.clear();
  int32_t lines = 0;
  const auto idle_until = Clock::now() + kIdleReturn;
  std::vector<rd_kafka_message_t*> raw(std::min(context_.batch_size, 1024));
  while (lines < context_.batch_size && text.size() < kMaxBatchBytes && !AllDone()) {
    if (context_.cancel != nullptr && context_.cancel->cancelled()) {
      return Status::Cancelled("cancelled");
    }
    SLUICE_RETURN_IF_ERROR(listener_->fatal);
    SLUICE_RETURN_IF_ERROR(CheckOutage());
    const size_t wanted = std::min<size_t>(raw.size(), context_.batch_size - lines);
    // With a timeout the call waits until it has `wanted` messages: take what is there, and
    // wait (for one message) only when the batch is still empty.
    ssize_t got = rd_kafka_consume_batch_queue(queue_.get(), 0, raw.data(), wanted);
    if (got == 0 && lines == 0)
      got = rd_kafka_consume_batch_queue(queue_.get(), 100, raw.data(), 1);
    if (got < 0) {
      return Status::External(
          EndpointProblem(context_.operator_label, config_.brokers,
                          std::string("consuming: ") + rd_kafka_err2str(rd_kafka_last_error())));
    }
    std::vector<KafkaMessage> messages;
    messages.reserve(got);
    for (ssize_t i = 0; i < got; ++i) messages.emplace_back(raw[i]);
    for (const KafkaMessage& message : messages) {
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        OnMessageError(*message);
        continue;
      }
      ReportHealthy();
      auto taken = Take(*message, &batch);
      if (!taken.ok()) return taken.status();
      if (*taken) ++lines;
    }
    if (got == 0 && (lines > 0 || Clock::now() >= idle_until)) break;
  }
  for (const PartitionState& state : partitions_) next_offsets_[state.tp] = KafkaOffset(state.next);
  if (lines == 0) {
    if (AllDone()) return runtime::InputBatch::End();
    return runtime::InputBatch{};
  }
  if (idle_) {  // records came: the source is not idle any more
    idle_ = false;
    batch.idle = false;
  }
  return batch;
}

std::optional<runtime::InputBatch> KafkaSource::MoveTime() {
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (partitions_[i].done) watermarks_->OnFinished(i);
  }
  const auto now = now_();
  std::optional<runtime::InputBatch> time;
  const std::optional<int64_t> watermark = watermarks_->Current(now);
  if (watermark.has_value() && *watermark > watermark_) {
    watermark_ = *watermark;
    time.emplace().watermark = watermark_;
  }
  // A bounded source at its end is about to finish, which says more than idleness.
  const bool idle = watermarks_->AllIdle(now) && !AllDone();
  if (idle != idle_) {
    idle_ = idle;
    if (!time.has_value()) time.emplace();
    time->idle = idle;
  }
  return time;
}

std::string KafkaSource::Position() const {
  return PositionJson(connected_ ? next_offsets_ : start_offsets_);
}

Result<std::unique_ptr<runtime::SourceDriver>> MakeKafkaSource(
    const std::string& config_json, const runtime::SourceContext& context) {
  auto config = SourceConfigFromJson(config_json, context.operator_label);
  if (!config.ok()) return config.status();
  PartitionOffsets offsets;
  if (!context.restore_positions.empty()) {
    auto merged = MergePositions(context.restore_positions, context.operator_label);
    if (!merged.ok()) return merged.status();
    offsets = std::move(merged).value();
  }
  auto source = KafkaSource::Create(std::move(config).value(), context, std::move(offsets));
  if (!source.ok()) return source.status();
  return std::unique_ptr<runtime::SourceDriver>(std::move(source).value());
}

}  // namespace sluice::kafka
