#include "connectors/redis/redis_sink.h"

#include <algorithm>

namespace sluice::redis {

RedisSink::RedisSink(RedisConfig config, std::string label, std::unique_ptr<RedisClient> client,
                     runtime::ConnectorHealth* health,
                     std::unique_ptr<connectors::RetrySleeper> sleeper, connectors::Backoff backoff)
    : config_(std::move(config)),
      label_(std::move(label)),
      endpoint_(label_ + ": redis " + config_.address.ToString()),
      client_(std::move(client)),
      sleeper_(std::move(sleeper)),
      retrier_(endpoint_, backoff, health, sleeper_.get()) {}

Status RedisSink::Write(const js::BatchResult& batch) {
  commands_.clear();
  SLUICE_RETURN_IF_ERROR(DecodeCommandBatch(batch.json_lines, label_, &commands_));
  std::span<const RedisCommand> all(commands_);
  for (size_t first = 0; first < all.size(); first += config_.pipeline) {
    SLUICE_RETURN_IF_ERROR(
        SendPipeline(all.subspan(first, std::min<size_t>(config_.pipeline, all.size() - first))));
  }
  return Status::Ok();
}

Status RedisSink::SendPipeline(std::span<const RedisCommand> commands) {
  return retrier_.Run([&]() -> Status {
    // The retrier names the endpoint of the failures it retries; these name it themselves.
    auto named = [&](const Status& status) {
      if (status.retryable() || status.code() == StatusCode::kCancelled) return status;
      return status.WithContext(endpoint_);
    };
    if (!client_->connected()) {
      Status connected = client_->Connect();
      if (!connected.ok()) return named(connected);
    }
    auto replies = client_->Pipeline(commands);
    if (!replies.ok()) return named(replies.status());
    for (size_t i = 0; i < replies->size(); ++i) {
      const RedisReply& reply = (*replies)[i];
      if (!reply.error) continue;
      if (IsTransientReplyError(reply.text)) {
        return Status::Unavailable("server busy (" + reply.text + ")");
      }
      return Status::External(endpoint_ + " refused the command " + DescribeCommand(commands[i]) +
                              ": " + reply.text);
    }
    return Status::Ok();
  });
}

Status RedisSink::Finish() { return Status::Ok(); }

void RedisSink::Cancel() {
  sleeper_->Cancel();
  client_->Interrupt();
}

Result<std::unique_ptr<runtime::BatchSink>> MakeRedisSink(const std::string& config_json,
                                                          const runtime::SinkContext& context) {
  auto config = ParseRedisConfig(config_json);
  if (!config.ok()) return config.status().WithContext(context.operator_label);
  auto client = MakeHiredisClient(*config);
  const connectors::Backoff backoff{.budget = config->retry};
  return std::unique_ptr<runtime::BatchSink>(
      new RedisSink(std::move(config).value(), context.operator_label, std::move(client),
                    context.health, std::make_unique<connectors::CancellableSleeper>(),
                    backoff));
}

}  // namespace sluice::redis
