#include "connectors/kafka/kafka_sink.h"

#include <string_view>

namespace sluice::kafka {
namespace {

constexpr int kServeMs = 100;

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

KafkaSink::KafkaSink(KafkaSinkConfig config, const runtime::SinkContext& context)
    : config_(std::move(config)), context_(context), listener_(std::make_unique<Listener>(this)) {}

KafkaSink::~KafkaSink() {
  // After a failure or a cancel: drop what was not delivered rather than wait for it.
  if (producer_ != nullptr && rd_kafka_outq_len(producer_.get()) > 0) {
    static_cast<void>(
        rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT));
    static_cast<void>(rd_kafka_flush(producer_.get(), 1000));
  }
  topic_.reset();
}

Result<std::unique_ptr<KafkaSink>> KafkaSink::Create(KafkaSinkConfig config,
                                                     const runtime::SinkContext& context) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(std::move(config), context));
  auto producer = MakeClient(RD_KAFKA_PRODUCER, sink->config_.brokers,
                             {{"client.id", "sluice-sink"},
                              {"enable.idempotence", "true"},
                              {"message.timeout.ms", "0"},
                              {"partitioner", "murmur2_random"},
                              {"linger.ms", "5"}},
                             sink->config_.properties, sink->listener_.get(),
                             context.operator_label, &Listener::OnDelivery);
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(producer).value();
  sink->topic_.reset(
      rd_kafka_topic_new(sink->producer_.get(), sink->config_.topic.c_str(), nullptr));
  if (sink->topic_ == nullptr) {
    return Status::User(context.operator_label + ": topic '" + sink->config_.topic +
                        "': " + rd_kafka_err2str(rd_kafka_last_error()));
  }
  return sink;
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
    ++delivered_;
    ReportHealthy();
    return;
  }
  ++undelivered_;
  if (failure_.ok()) {
    failure_ = Status::External(
        EndpointProblem(context_.operator_label, config_.brokers,
                        "a message to topic '" + config_.topic +
                            "' was not delivered: " + rd_kafka_err2str(message.err)));
  }
}

Status KafkaSink::Serve(int timeout_ms) {
  rd_kafka_poll(producer_.get(), timeout_ms);
  return failure_;
}

Status KafkaSink::Produce(const OutgoingMessage& message) {
  const int32_t partition = message.partition >= 0 ? message.partition : RD_KAFKA_PARTITION_UA;
  while (true) {
    if (cancelled_) return Status::Cancelled("cancelled");
    const auto& key = message.key;
    const auto& value = message.value;
    int rc = rd_kafka_produce(topic_.get(), partition, RD_KAFKA_MSG_F_COPY,
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
                          " does not exist in topic '" + config_.topic + "'");
    }
    if (error == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      return Status::User(label + ": a message of " +
                          std::to_string(value.has_value() ? value->size() : 0) +
                          " bytes is larger than the producer's message.max.bytes");
    }
    SLUICE_RETURN_IF_ERROR(failure_);
    return Status::External(
        EndpointProblem(label, config_.brokers,
                        "producing to topic '" + config_.topic + "': " + rd_kafka_err2str(error)));
  }
}

Status KafkaSink::Write(const js::BatchResult& batch) {
  SLUICE_RETURN_IF_ERROR(failure_);
  std::string_view rest = batch.json_lines;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (line.empty()) continue;
    auto message = ParseOutgoingLine(line);
    if (!message.ok()) {
      const Status& status = message.status();
      return Status(status.code(), status.domain(),
                    context_.operator_label + ": " + status.message());
    }
    SLUICE_RETURN_IF_ERROR(Produce(*message));
  }
  return Serve(0);
}

Status KafkaSink::Finish() {
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

Result<std::unique_ptr<runtime::BatchSink>> MakeKafkaSink(const std::string& config_json,
                                                          const runtime::SinkContext& context) {
  auto config = SinkConfigFromJson(config_json, context.operator_label);
  if (!config.ok()) return config.status();
  auto sink = KafkaSink::Create(std::move(config).value(), context);
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
