#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/redis/redis_command.h"
#include "connectors/redis/redis_config.h"

namespace sluice::redis {

// What the server answered to one command of a pipeline.
struct RedisReply {
  bool error = false;
  std::string text;  // the error message ("ERR wrong number of arguments ..."), when error
};

// A connection to one Redis server. The sink owns it and uses it on its task's thread, except
// Interrupt(). Statuses: a transient failure (refused, reset, timed out) is retryable and
// leaves the client disconnected; anything else (a refused AUTH or SELECT) is not.
class RedisClient {
 public:
  virtual ~RedisClient() = default;
  // Connects, authenticates and selects the database.
  virtual Status Connect() = 0;
  virtual bool connected() const = 0;
  // Sends the commands in one pipeline and reads one reply per command, in order.
  virtual Result<std::vector<RedisReply>> Pipeline(std::span<const RedisCommand> commands) = 0;
  // Makes a call blocked on the server return at once (the task is being cancelled); any
  // thread.
  virtual void Interrupt() = 0;
};

// The hiredis implementation (blocking context with timeouts).
std::unique_ptr<RedisClient> MakeHiredisClient(const RedisConfig& config);

// Server error replies that mean "not now" rather than "never" (LOADING, BUSY, TRYAGAIN, ...):
// the sink retries the pipeline.
bool IsTransientReplyError(const std::string& error);

}  // namespace sluice::redis
