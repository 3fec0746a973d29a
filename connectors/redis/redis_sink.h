#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "connectors/common/retry.h"
#include "connectors/redis/redis_client.h"
#include "connectors/redis/redis_config.h"
#include "worker/io/sink.h"

namespace sluice::redis {

// The `sink.redis` operator: each record is what the operator's function returned (the task
// runs that function as a map stage right before the sink), one command or a list of them.
// Write() sends a batch's commands in pipelines of `config.pipeline` and returns once the
// server has answered all of them.
//
// Delivery is at-least-once: when the connection fails, the sink reconnects with backoff
// (reporting through the task's ConnectorHealth) and sends the unanswered pipeline again
// whole, so commands should be idempotent (SET, HSET, XADD with an id; not INCRBY). A command
// the server refuses fails the task with the server's error, the operator and the command.
//
// Created on the task's thread by MakeRedisSink (or by tests with a fake client) and used on
// it; Cancel() may be called from any thread.
class RedisSink : public runtime::BatchSink {
 public:
  RedisSink(RedisConfig config, std::string label, std::unique_ptr<RedisClient> client,
            runtime::ConnectorHealth* health, std::unique_ptr<connectors::RetrySleeper> sleeper,
            connectors::Backoff backoff = {});

  Status Write(const js::BatchResult& batch) override;
  Status Finish() override;
  void Cancel() override;

 private:
  // Sends one pipeline until the server has answered every command of it.
  Status SendPipeline(std::span<const RedisCommand> commands);

  RedisConfig config_;
  std::string label_;     // "operator 'out' (op4)"
  std::string endpoint_;  // label_ + ": redis 127.0.0.1:6379"
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<connectors::RetrySleeper> sleeper_;
  connectors::Retrier retrier_;
  std::vector<RedisCommand> commands_;  // reused between batches
};

// Builds a RedisSink on hiredis from a `sink.redis` config.
Result<std::unique_ptr<runtime::BatchSink>> MakeRedisSink(const std::string& config_json,
                                                          const runtime::SinkContext& context);

}  // namespace sluice::redis
