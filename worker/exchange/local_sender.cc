#include <atomic>
#include <stop_token>

#include "worker/exchange/exchange.h"
#include "worker/exchange/exchange_service.h"

namespace sluice::exchange {
namespace {

// Pushes into an inbox of this worker. Owned and used by the sending task's thread; Cancel()
// may come from any thread and interrupts a Push waiting for room.
class LocalSender final : public Sender {
 public:
  LocalSender(std::shared_ptr<Inbox> inbox, uint32_t channel)
      : inbox_(std::move(inbox)), channel_(channel) {}

  Status Send(Batch batch) override {
    if (stop_.stop_requested()) return Cancelled();
    size_t size = batch.data.size();
    if (!inbox_->Push(channel_, std::move(batch), stop_.get_token())) {
      if (stop_.stop_requested()) return Cancelled();
      return Gone();
    }
    bytes_sent_.fetch_add(size, std::memory_order_relaxed);
    return Status::Ok();
  }

  Status Finish() override {
    if (stop_.stop_requested()) return Cancelled();
    inbox_->EndChannel(channel_);
    return Status::Ok();
  }

  void Cancel() override { stop_.request_stop(); }

  uint64_t bytes_sent() const override { return bytes_sent_.load(std::memory_order_relaxed); }

 private:
  Status Cancelled() const {
    return Status::Cancelled("sending to task " + inbox_->task().str() + " was cancelled");
  }
  Status Gone() const {
    return Status(StatusCode::kFailedPrecondition, ErrorDomain::kInternal,
                  "receiving task " + inbox_->task().str() + " is gone", true);
  }

  std::shared_ptr<Inbox> inbox_;
  const uint32_t channel_;
  std::stop_source stop_;
  std::atomic<uint64_t> bytes_sent_{0};
};

}  // namespace

Result<std::unique_ptr<Sender>> ConnectLocal(Router& router, const TaskId& receiver,
                                             uint32_t channel) {
  // The receiver's deployment may still be in flight, as for a remote channel.
  Result<std::shared_ptr<Inbox>> inbox = router.Find(receiver, kReceiverWait);
  if (!inbox.ok()) return inbox.status();
  if (channel >= (*inbox)->channels()) {
    return Status::Internal("task " + receiver.str() + " has " +
                            std::to_string((*inbox)->channels()) + " input channels, not " +
                            std::to_string(channel + 1));
  }
  return std::unique_ptr<Sender>(std::make_unique<LocalSender>(std::move(*inbox), channel));
}

}  // namespace sluice::exchange
