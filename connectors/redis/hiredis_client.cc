// RedisClient on hiredis's blocking API.
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "connectors/redis/redis_client.h"

namespace sluice::redis {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(uint32_t ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

class HiredisClient : public RedisClient {
 public:
  explicit HiredisClient(RedisConfig config) : config_(std::move(config)) {}
  ~HiredisClient() override { Disconnect(); }

  Status Connect() override {
    Disconnect();
    if (interrupted_) return Status::Cancelled("interrupted");
    const timeval timeout = ToTimeval(config_.timeout_ms);
    redisContext* context =
        redisConnectWithTimeout(config_.address.host.c_str(), config_.address.port, timeout);
    if (context == nullptr) return Status::Unavailable("unreachable (out of memory)");
    if (context->err != 0) {
      Status status = Status::Unavailable("unreachable (" + std::string(context->errstr) + ")");
      redisFree(context);
      return status;
    }
    if (redisSetTimeout(context, timeout) != REDIS_OK ||
        redisEnableKeepAlive(context) != REDIS_OK) {
      Status status = Status::Unavailable("cannot set up the connection (" +
                                          std::string(context->errstr) + ")");
      redisFree(context);
      return status;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      context_ = context;
    }
    if (!config_.password.empty()) {
      RedisCommand auth = config_.username.empty()
                              ? RedisCommand{"AUTH", config_.password}
                              : RedisCommand{"AUTH", config_.username, config_.password};
      SLUICE_RETURN_IF_ERROR(Setup(auth, "authentication failed"));
    }
    if (config_.database != 0) {
      SLUICE_RETURN_IF_ERROR(Setup({"SELECT", std::to_string(config_.database)},
                                   "cannot select database " + std::to_string(config_.database)));
    }
    return Status::Ok();
  }

  bool connected() const override { return context_ != nullptr; }

  Result<std::vector<RedisReply>> Pipeline(std::span<const RedisCommand> commands) override {
    if (context_ == nullptr) return Status::Unavailable("not connected");
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const RedisCommand& command : commands) {
      argv.clear();
      lengths.clear();
      for (const std::string& arg : command) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return ConnectionLost();
      }
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return ConnectionLost();
      ReplyPtr reply(static_cast<redisReply*>(raw));
      RedisReply& out = replies.emplace_back();
      if (reply->type == REDIS_REPLY_ERROR) {
        out.error = true;
        out.text.assign(reply->str, reply->len);
      }
    }
    return replies;
  }

  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
    // A blocked read or write on the socket returns at once; the task thread then sees an
    // I/O error and, the sink being cancelled, stops.
    if (context_ != nullptr) shutdown(context_->fd, SHUT_RDWR);
  }

 private:
  // Runs one command right after connecting; a refusal is permanent (wrong password, a
  // database the server does not have).
  Status Setup(const RedisCommand& command, const std::string& what) {
    auto replies = Pipeline(std::span<const RedisCommand>(&command, 1));
    if (!replies.ok()) return replies.status();
    if ((*replies)[0].error) {
      const std::string& error = (*replies)[0].text;
      Disconnect();
      if (IsTransientReplyError(error)) return Status::Unavailable(what + ": " + error);
      return Status::External(what + ": " + error);
    }
    return Status::Ok();
  }

  Status ConnectionLost() {
    std::string reason = context_->errstr[0] != '\0' ? context_->errstr : "connection closed";
    // hiredis reports a read past its timeout as the socket's EAGAIN.
    const bool timed_out = context_->err == REDIS_ERR_IO &&
                           (reason == std::strerror(EAGAIN) || reason == std::strerror(ETIMEDOUT));
    Disconnect();
    if (interrupted_) return Status::Cancelled("interrupted");
    return Status::Unavailable(timed_out ? "no reply within the timeout (" + reason + ")"
                                         : "connection lost (" + reason + ")");
  }

  void Disconnect() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

  RedisConfig config_;
  std::mutex mutex_;  // guards context_ against Interrupt(); the task thread only writes it
  redisContext* context_ = nullptr;
  std::atomic<bool> interrupted_{false};
};

}  // namespace

std::unique_ptr<RedisClient> MakeHiredisClient(const RedisConfig& config) {
  return std::make_unique<HiredisClient>(config);
}

bool IsTransientReplyError(const std::string& error) {
  for (const char* prefix : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"}) {
    if (error.rfind(prefix, 0) == 0) {
      const size_t n = std::char_traits<char>::length(prefix);
      if (error.size() == n || error[n] == ' ') return true;
    }
  }
  return false;
}

}  // namespace sluice::redis
