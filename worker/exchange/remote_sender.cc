#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/grpc_util.h"
#include "sluice/exchange_service.grpc.pb.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {
namespace {

using Stream = grpc::ClientReaderWriter<proto::TransferMessage, proto::TransferCredit>;

// One Transfer stream to another worker's ExchangeService. The sending task's thread calls
// Send and Finish; a writer thread, owned here, writes what they queue to the stream, so the
// task goes back to its records while the batch goes out (a large batch spends a while in
// serialization, sendmsg and HTTP/2 flow control); a reader thread takes credits and the
// end-of-stream acknowledgement and wakes Send. Send takes a credit before it queues, so the
// queue never holds more batches than the receiver granted. Both threads are joined before the
// stream is finished; the destructor cancels a stream that was not finished.
class RemoteSender final : public Sender {
 public:
  RemoteSender(std::string address, TaskId receiver, const ClusterSecurity& security)
      : address_(std::move(address)),
        security_(security),
        receiver_(std::move(receiver)),
        what_("worker " + address_ + " for task " + receiver_.str()) {}

  ~RemoteSender() override {
    if (stream_ == nullptr) return;
    if (!finished_) context_.TryCancel();
    EndStream().IgnoreError();
  }

  // Opens the stream and names the receiving channel; credits arrive once the peer found the
  // receiving task, so a missing receiver or peer shows up in Send or Finish.
  void Open(uint32_t channel) {
    stub_ = proto::ExchangeService::NewStub(MakeChannel(address_, security_));
    stream_ = stub_->Transfer(&context_);
    proto::TransferMessage open;
    open.mutable_open()->set_task_id(receiver_.str());
    open.mutable_open()->set_channel(channel);
    // A failed write shows up as a failed stream, which the reader reports.
    stream_->Write(open);
    reader_ = std::thread([this] { ReadCredits(); });
    writer_ = std::thread([this] { WriteQueued(); });
  }

  Status Send(Batch batch) override {
    if (!error_.ok()) return error_;
    if (finished_) return Status::Internal(what_ + ": Send after Finish");
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return credits_ > 0 || reader_done_ || write_failed_ || cancelled_;
      });
      if (cancelled_) return Cancelled();
      if (reader_done_ || write_failed_) {  // the stream ended or broke: a credit is no use
        lock.unlock();
        return Fail();
      }
      --credits_;
      queue_.push_back(std::move(batch));
    }
    changed_.notify_all();
    return Status::Ok();
  }

  Status Finish() override {
    if (!error_.ok()) return error_;
    if (finished_) return Status::Ok();
    {
      std::unique_lock lock(mutex_);
      end_queued_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] {
        return end_acknowledged_ || reader_done_ || write_failed_ || cancelled_;
      });
      if (cancelled_) return Cancelled();
    }
    Status status = EndStream();
    if (!status.ok()) return error_ = status;
    std::lock_guard lock(mutex_);
    if (!end_acknowledged_) {
      return error_ = Status::Internal(what_ + ": the stream ended without acknowledging the end");
    }
    finished_ = true;
    return Status::Ok();
  }

  void Cancel() override {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
    context_.TryCancel();
  }

  uint64_t bytes_sent() const override { return bytes_sent_.load(std::memory_order_relaxed); }

 private:
  void ReadCredits() {
    proto::TransferCredit credit;
    while (stream_->Read(&credit)) {
      std::lock_guard lock(mutex_);
      credits_ += credit.credits();
      if (credit.end_acknowledged()) end_acknowledged_ = true;
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    reader_done_ = true;
    changed_.notify_all();
  }

  // The writer thread: the queued batches in order, then the end of the stream once Finish asked
  // for it. Stops at the first failed write (the stream is broken; Send and Finish report why)
  // and when told to.
  void WriteQueued() {
    while (true) {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty() || end_queued_ || stop_writer_; });
      if (stop_writer_ || cancelled_) return;
      if (queue_.empty()) {  // end_queued_: everything before it is written
        lock.unlock();
        proto::TransferMessage end;
        end.mutable_end();
        if (!stream_->Write(end) || !stream_->WritesDone()) WriteFailed();
        return;
      }
      Batch batch = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const size_t size = batch.data.size();
      proto::TransferMessage message;
      message.mutable_batch()->set_data(std::move(batch.data));
      message.mutable_batch()->set_records(batch.records);
      if (batch.watermark.has_value()) message.mutable_batch()->set_watermark(*batch.watermark);
      message.mutable_batch()->set_idle(batch.idle);
      message.mutable_batch()->set_barrier(batch.barrier);
      if (!stream_->Write(message)) {
        WriteFailed();
        return;
      }
      bytes_sent_.fetch_add(size, std::memory_order_relaxed);
    }
  }

  void WriteFailed() {
    {
      std::lock_guard lock(mutex_);
      write_failed_ = true;
    }
    changed_.notify_all();
  }

  // Joins the writer and the reader and takes the stream's final status; once only.
  Status EndStream() {
    if (stream_finished_) return final_status_;
    stream_finished_ = true;
    {
      std::lock_guard lock(mutex_);
      if (!end_queued_ || write_failed_ || cancelled_) stop_writer_ = true;
    }
    changed_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
    grpc::Status status = stream_->Finish();
    if (status.ok()) return final_status_ = Status::Ok();
    if (status.error_code() == grpc::StatusCode::ABORTED) {
      // The receiving task ended or was cancelled.
      return final_status_ = Status(StatusCode::kFailedPrecondition, ErrorDomain::kInternal,
                                    what_ + ": " + status.error_message(), true);
    }
    if (status.error_code() == grpc::StatusCode::CANCELLED) {
      // Not cancelled here (Cancel() answers before this): the peer cut the stream, e.g. its
      // worker is shutting down.
      return final_status_ = Status::Unavailable("cannot reach " + what_ +
                                                 ": the stream was cut: " + status.error_message());
    }
    Status converted = FromGrpc(status, what_);
    if (converted.message().find(address_) == std::string::npos) {
      converted = Status(converted.code(), converted.domain(), what_ + ": " + converted.message(),
                         converted.retryable());
    }
    return final_status_ = converted;
  }

  // The stream broke while sending: report why, from its final status.
  Status Fail() {
    {
      std::lock_guard lock(mutex_);
      if (cancelled_) return Cancelled();
    }
    Status status = EndStream();
    if (status.ok()) status = Status::Internal(what_ + ": the stream ended before end of stream");
    return error_ = status;
  }

  Status Cancelled() const { return Status::Cancelled("sending to " + what_ + " was cancelled"); }

  const std::string address_;
  const ClusterSecurity security_;
  const TaskId receiver_;
  const std::string what_;  // names the peer and the receiver in errors
  std::unique_ptr<proto::ExchangeService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
  std::thread reader_;
  std::thread writer_;

  // Touched by the sending thread only.
  Status error_;  // the first failure; every later call returns it
  bool finished_ = false;
  bool stream_finished_ = false;
  Status final_status_;

  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t credits_ = 0;
  std::deque<Batch> queue_;   // taken by the writer; at most the credits granted
  bool end_queued_ = false;   // Finish asked the writer to end the stream
  bool stop_writer_ = false;  // the writer is to stop where it is
  bool write_failed_ = false;
  bool end_acknowledged_ = false;
  bool reader_done_ = false;
  bool cancelled_ = false;

  std::atomic<uint64_t> bytes_sent_{0};
};

}  // namespace

Result<std::unique_ptr<Sender>> ConnectRemote(const std::string& address, const TaskId& receiver,
                                              uint32_t channel, const ClusterSecurity& security) {
  auto sender = std::make_unique<RemoteSender>(address, receiver, security);
  sender->Open(channel);
  return std::unique_ptr<Sender>(std::move(sender));
}

}  // namespace sluice::exchange
