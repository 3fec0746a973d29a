#include "connectors/kafka/kafka_sink.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "connectors/kafka/kafka_sink_markers.h"

namespace sluice::kafka {
namespace {

constexpr int kServeMs = 100;
// How long one call of the transactional API may block the task (then it is retried).
constexpr int kTransactionCallMs = 10000;
// How long one attempt to read the commit markers may take.
constexpr int kReadMarkersMs = 30000;

// Delivery errors no retry can help: the message or the topic is refused.
bool IsRefusal(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
      return true;
    default:
      return false;
  }
}

}  // namespace

// Receives the producer's delivery reports and error events (on the task thread, inside
// rd_kafka_poll / rd_kafka_flush).
class KafkaSink::Listener : public ClientErrorListener {
 public:
  explicit Listener(KafkaSink* sink) : sink_(sink) {}
  void OnClientError(rd_kafka_resp_err_t error, const std::string& reason) override {
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
      char text[256];
      rd_kafka_fatal_error(sink_->producer_.get(), text, sizeof(text));
      if (sink_->failure_.ok()) {
        sink_->failure_ =
            Status::External(EndpointProblem(sink_->context_.operator_label, sink_->config_.brokers,
                                             std::string("fatal error: ") + text));
      }
      return;
    }
    sink_->ReportProblem(reason + "; retrying");
  }
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    static_cast<Listener*>(opaque)->sink_->OnDelivery(*message);
  }

 private:
  KafkaSink* sink_;
};

KafkaSink::KafkaSink(KafkaSinkConfig config, const runtime::SinkContext& context,
                     connectors::Backoff backoff)
    : config_(std::move(config)),
      context_(context),
      listener_(std::make_unique<Listener>(this)),
      exactly_once_(connectors::SinkId(context.job.str(), context.operator_id, context.subtask),
                    context.operator_label, *this),
      retrier_(context.operator_label + ": kafka " + config_.brokers, backoff, context.health,
               &sleeper_) {}

KafkaSink::~KafkaSink() {
  if (producer_ != nullptr && transaction_ != Transaction::kNone) {
    // Ends it now rather than when the brokers time it out, so readers are not held back.
    rd_kafka_error_t* error = rd_kafka_abort_transaction(producer_.get(), 1000);
    if (error != nullptr) rd_kafka_error_destroy(error);
  }
  // After a failure or a cancel: drop what was not delivered rather than wait for it.
  if (producer_ != nullptr && rd_kafka_outq_len(producer_.get()) > 0) {
    static_cast<void>(
        rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT));
    static_cast<void>(rd_kafka_flush(producer_.get(), 1000));
  }
  commit_topic_.reset();
  topic_.reset();
}

Result<std::unique_ptr<KafkaSink>> KafkaSink::Create(KafkaSinkConfig config,
                                                     const runtime::SinkContext& context,
                                                     connectors::Backoff backoff) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(std::move(config), context, backoff));
  std::map<std::string, std::string> defaults = {{"client.id", "sluice-sink"},
                                                 {"enable.idempotence", "true"},
                                                 {"partitioner", "murmur2_random"},
                                                 {"linger.ms", "5"}};
  if (sink->exactly_once()) {
    // message.timeout.ms follows transaction.timeout.ms: a transaction whose messages time
    // out is aborted and written again.
    defaults["transactional.id"] = TransactionalId(sink->exactly_once_.sink_id());
  } else {
    // A message the brokers do not take within the retry budget's time fails the task (0:
    // librdkafka retries it for ever).
    defaults["message.timeout.ms"] = std::to_string(backoff.budget.timeout.count());
  }
  auto producer =
      MakeClient(RD_KAFKA_PRODUCER, sink->config_.brokers, defaults, sink->config_.properties,
                 sink->listener_.get(), context.operator_label, &Listener::OnDelivery);
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(producer).value();
  for (auto [name, handle] : {std::pair{&sink->config_.topic, &sink->topic_},
                              std::pair{&sink->config_.commit_topic, &sink->commit_topic_}}) {
    if (handle == &sink->commit_topic_ && !sink->exactly_once()) continue;
    handle->reset(rd_kafka_topic_new(sink->producer_.get(), name->c_str(), nullptr));
    if (*handle == nullptr) {
      return Status::User(context.operator_label + ": topic '" + *name +
                          "': " + rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  return sink;
}

void KafkaSink::Cancel() {
  cancelled_ = true;
  sleeper_.Cancel();
}

void KafkaSink::ReportProblem(const std::string& what) {
  unhealthy_ = true;
  if (context_.health != nullptr) {
    context_.health->Retrying(EndpointProblem(context_.operator_label, config_.brokers, what));
  }
}

void KafkaSink::ReportHealthy() {
  if (!unhealthy_) return;
  unhealthy_ = false;
  if (context_.health != nullptr) context_.health->Healthy();
}

void KafkaSink::OnDelivery(const rd_kafka_message_t& message) {
  if (message.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (!exactly_once()) ++delivered_;  // exactly-once counts at the commit
    ReportHealthy();
    return;
  }
  const Status failure = Status::External(
      EndpointProblem(context_.operator_label, config_.brokers,
                      "a message to topic '" + std::string(rd_kafka_topic_name(message.rkt)) +
                          "' was not delivered: " + rd_kafka_err2str(message.err) +
                          (message.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT && !exactly_once()
                               ? " (gave up after the retry budget of " +
                                     config_.retry.Describe() +
                                     "; set retryTimeoutMs, or properties.message.timeout.ms)"
                               : "")));
  if (exactly_once()) {
    // The transaction fails as a whole and is written again; a message the brokers will never
    // take fails the task instead of being retried forever.
    if (delivery_error_.ok() && IsRefusal(message.err)) delivery_error_ = failure;
    return;
  }
  ++undelivered_;
  if (failure_.ok()) failure_ = failure;
}

Status KafkaSink::Serve(int timeout_ms) {
  rd_kafka_poll(producer_.get(), timeout_ms);
  return failure_;
}

Status KafkaSink::Produce(rd_kafka_topic_t* topic, const OutgoingMessage& message) {
  const int32_t partition = message.partition >= 0 ? message.partition : RD_KAFKA_PARTITION_UA;
  const std::string topic_name = rd_kafka_topic_name(topic);
  while (true) {
    if (cancelled_) return Status::Cancelled("cancelled");
    const auto& key = message.key;
    const auto& value = message.value;
    int rc = rd_kafka_produce(topic, partition, RD_KAFKA_MSG_F_COPY,
                              value.has_value() ? const_cast<char*>(value->data()) : nullptr,
                              value.has_value() ? value->size() : 0,
                              key.has_value() ? key->data() : nullptr,
                              key.has_value() ? key->size() : 0, nullptr);
    if (rc == 0) return Status::Ok();
    const rd_kafka_resp_err_t error = rd_kafka_last_error();
    if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // librdkafka holds as many messages as it may: wait for deliveries to make room.
      SLUICE_RETURN_IF_ERROR(Serve(kServeMs));
      continue;
    }
    const std::string label = context_.operator_label;
    if (error == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
      return Status::User(label + ": partition " + std::to_string(message.partition) +
                          " does not exist in topic '" + topic_name + "'");
    }
    if (error == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      return Status::User(label + ": a message of " +
                          std::to_string(value.has_value() ? value->size() : 0) +
                          " bytes is larger than the producer's message.max.bytes");
    }
    SLUICE_RETURN_IF_ERROR(failure_);
    return Status::External(
        EndpointProblem(label, config_.brokers,
                        "producing to topic '" + topic_name + "': " + rd_kafka_err2str(error)));
  }
}

Status KafkaSink::ParseLines(std::string_view rest, std::vector<OutgoingMessage>* messages) const {
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (line.empty()) continue;
    auto message = ParseOutgoingLine(line);
    if (!message.ok()) {
      return message.status().WithContext(context_.operator_label);
    }
    if (messages != nullptr) messages->push_back(std::move(message).value());
  }
  return Status::Ok();
}

Status KafkaSink::Write(const js::BatchResult& batch) {
  if (exactly_once()) return exactly_once_.Write(batch.json_lines);
  SLUICE_RETURN_IF_ERROR(failure_);
  std::vector<OutgoingMessage> messages;
  SLUICE_RETURN_IF_ERROR(ParseLines(batch.json_lines, &messages));
  for (const OutgoingMessage& message : messages) {
    SLUICE_RETURN_IF_ERROR(Produce(topic_.get(), message));
  }
  return Serve(0);
}

Status KafkaSink::Finish() {
  if (exactly_once()) return exactly_once_.Finish();
  while (rd_kafka_outq_len(producer_.get()) > 0) {
    if (cancelled_) return Status::Cancelled("cancelled");
    static_cast<void>(rd_kafka_flush(producer_.get(), kServeMs));
    SLUICE_RETURN_IF_ERROR(failure_);
  }
  SLUICE_RETURN_IF_ERROR(Serve(0));
  if (undelivered_ > 0) {
    return Status::External(context_.operator_label + ": " + std::to_string(undelivered_) +
                            " messages to topic '" + config_.topic + "' were not delivered");
  }
  return Status::Ok();
}

Status KafkaSink::InitTransactions() {
  if (initialized_) return Status::Ok();
  // Also fences an earlier incarnation of this subtask: the brokers abort its open
  // transaction (or finish its commit) and refuse it anything later.
  SLUICE_RETURN_IF_ERROR(TransactionStatus(
      rd_kafka_init_transactions(producer_.get(), kTransactionCallMs), context_.operator_label,
      config_.brokers,
      "starting the transactional producer " + TransactionalId(exactly_once_.sink_id())));
  initialized_ = true;
  return Status::Ok();
}

Status KafkaSink::TryCommit(const std::string& sink_id, uint64_t epoch,
                            const std::vector<OutgoingMessage>& messages) {
  SLUICE_RETURN_IF_ERROR(InitTransactions());
  const std::string& label = context_.operator_label;
  const std::string what = "epoch " + std::to_string(epoch) + " of " + sink_id;
  if (transaction_ == Transaction::kMustAbort) {
    SLUICE_RETURN_IF_ERROR(
        TransactionStatus(rd_kafka_abort_transaction(producer_.get(), kTransactionCallMs), label,
                          config_.brokers, "aborting the transaction of " + what));
    ++aborts_;
    transaction_ = Transaction::kNone;
    SLUICE_RETURN_IF_ERROR(delivery_error_);
  }
  if (transaction_ == Transaction::kNone) {
    delivery_error_ = Status::Ok();
    in_transaction_ = 0;
    SLUICE_RETURN_IF_ERROR(TransactionStatus(rd_kafka_begin_transaction(producer_.get()), label,
                                             config_.brokers,
                                             "beginning the transaction of " + what));
    transaction_ = Transaction::kOpen;
    OutgoingMessage marker{sink_id, std::to_string(epoch), -1};
    for (size_t i = 0; i <= messages.size(); ++i) {
      const bool is_marker = i == messages.size();
      Status produced =
          Produce(is_marker ? commit_topic_.get() : topic_.get(), is_marker ? marker : messages[i]);
      if (!produced.ok()) {
        transaction_ = Transaction::kMustAbort;
        // A refused message fails the task; anything else (the transaction went into a
        // failed state) is aborted and written again.
        if (produced.domain() == ErrorDomain::kUser || !failure_.ok() ||
            produced.code() == StatusCode::kCancelled) {
          return produced;
        }
        std::string text = produced.message();
        const std::string prefix = EndpointProblem(label, config_.brokers, "");
        if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
        return Status::Unavailable(text);
      }
      if (!is_marker) ++in_transaction_;
    }
  }
  bool must_abort = false;
  Status committed =
      TransactionStatus(rd_kafka_commit_transaction(producer_.get(), kTransactionCallMs), label,
                        config_.brokers, "committing " + what, &must_abort);
  if (committed.ok()) {
    transaction_ = Transaction::kNone;
    ++commits_;
    delivered_ += in_transaction_;
    markers_[sink_id] = epoch;
    return committed;
  }
  // A commit that timed out is retried as it is; one that failed is aborted first.
  if (must_abort) transaction_ = Transaction::kMustAbort;
  if (!committed.retryable()) transaction_ = Transaction::kNone;
  return committed;
}

Status KafkaSink::CommitEpoch(const std::string& sink_id, const connectors::Epoch& epoch) {
  const auto known = markers_.find(sink_id);
  if (known != markers_.end() && known->second >= epoch.number) return Status::Ok();
  std::vector<OutgoingMessage> messages;
  SLUICE_RETURN_IF_ERROR(ParseLines(epoch.lines, &messages));
  return retrier_.Run([&] { return TryCommit(sink_id, epoch.number, messages); });
}

Status KafkaSink::Start() {
  return retrier_.Run([&] { return InitTransactions(); });
}

Status KafkaSink::Check(std::string_view json_lines) { return ParseLines(json_lines, nullptr); }

Result<std::map<std::string, uint64_t>> KafkaSink::ReadMarkers(
    const std::vector<std::string>& sink_ids) {
  SLUICE_RETURN_IF_ERROR(retrier_.Run([&]() -> Status {
    auto read =
        ReadCommitMarkers(config_, sink_ids, context_.operator_label, kReadMarkersMs, cancelled_);
    if (!read.ok()) return read.status();
    for (const auto& [sink_id, epoch] : *read)
      markers_[sink_id] = std::max(markers_[sink_id], epoch);
    return Status::Ok();
  }));
  return markers_;
}

Status KafkaSink::FenceOld(const std::vector<std::string>& old_sink_ids) {
  // No producer of an old subtask may commit anything once its markers are read.
  for (const std::string& old : old_sink_ids) {
    SLUICE_RETURN_IF_ERROR(
        retrier_.Run([&] { return FenceProducer(config_, old, context_.operator_label); }));
  }
  return Status::Ok();
}

Result<std::string> KafkaSink::PrepareCommit(uint64_t checkpoint, const std::string& directory) {
  if (!exactly_once()) return std::string();
  return exactly_once_.Prepare(checkpoint, directory);
}

Status KafkaSink::CommitCheckpoint(uint64_t checkpoint) {
  if (!exactly_once()) return Status::Ok();
  return exactly_once_.Commit(checkpoint);
}

Status KafkaSink::Restore(uint64_t checkpoint, const std::vector<std::string>& prepared) {
  if (!exactly_once()) return Status::Ok();
  return exactly_once_.Restore(checkpoint, prepared);
}

Result<std::unique_ptr<runtime::BatchSink>> MakeKafkaSink(const std::string& config_json,
                                                          const runtime::SinkContext& context) {
  auto config = SinkConfigFromJson(config_json, context.operator_label);
  if (!config.ok()) return config.status();
  const connectors::Backoff backoff{.budget = config->retry};
  auto sink = KafkaSink::Create(std::move(config).value(), context, backoff);
  if (!sink.ok()) return sink.status();
  return std::unique_ptr<runtime::BatchSink>(std::move(sink).value());
}

std::vector<js::StageSpec> KafkaSinkStages(const std::string& operator_id,
                                           const std::string& operator_name,
                                           const std::map<std::string, std::string>& functions) {
  std::vector<js::StageSpec> stages;
  const auto stage = [&](std::string fn) {
    stages.push_back(js::StageSpec{operator_id, operator_name, "map", "", {{"fn", std::move(fn)}}});
  };
  // The user's source starts on the first line of each stage's text, so V8's line numbers are
  // the function's own.
  static const std::pair<const char*, const char*> kRoles[] = {
      {"key", "k"}, {"value", "v"}, {"partition", "p"}};
  for (const auto& [role, field] : kRoles) {
    auto fn = functions.find(role);
    if (fn == functions.end()) continue;
    const std::string field_name(field);
    if (stages.empty()) {
      stage("(function (f) { return function (r, params) { return { r: r, " + field_name +
            ": f(r, params) }; }; })(" + fn->second + "\n)");
    } else {
      stage("(function (f) { return function (e, params) { e." + field_name +
            " = f(e.r, params); return e; }; })(" + fn->second + "\n)");
    }
  }
  if (stages.empty()) {
    stage("function (r) { return { v: r }; }");
  } else {
    stage("function (e) { return { k: e.k, v: \"v\" in e ? e.v : e.r, p: e.p }; }");
  }
  return stages;
}

}  // namespace sluice::kafka
