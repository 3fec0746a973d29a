#include "connectors/kafka/kafka_sink_markers.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <set>

#include "connectors/kafka/kafka_client.h"

namespace sluice::kafka {
namespace {

constexpr int kPollMs = 200;

// A failure the caller retries: the message says what failed (the Retrier adds the operator
// and the endpoint); any other names them itself.
Status Failure(bool retryable, const std::string& operator_label, const std::string& brokers,
               const std::string& what) {
  if (retryable) return Status::Unavailable(what);
  return Status::External(EndpointProblem(operator_label, brokers, what));
}

}  // namespace

std::string TransactionalId(const std::string& sink_id) {
  std::string id = "sluice-";
  for (char c : sink_id) {
    if (c == '/') {
      id += '.';
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') {
      id += c;
    } else {
      id += '_';
    }
  }
  return id;
}

Status TransactionStatus(rd_kafka_error_t* error, const std::string& operator_label,
                         const std::string& brokers, const std::string& what, bool* must_abort) {
  if (error == nullptr) return Status::Ok();
  const std::string text = what + ": " + rd_kafka_error_string(error);
  if (must_abort != nullptr) *must_abort = rd_kafka_error_txn_requires_abort(error);
  const bool retryable =
      !rd_kafka_error_is_fatal(error) &&
      (rd_kafka_error_is_retriable(error) || rd_kafka_error_txn_requires_abort(error));
  rd_kafka_error_destroy(error);
  return Failure(retryable, operator_label, brokers, text);
}

Status FenceProducer(const KafkaSinkConfig& config, const std::string& sink_id,
                     const std::string& operator_label) {
  auto producer = MakeClient(
      RD_KAFKA_PRODUCER, config.brokers,
      {{"client.id", "sluice-sink-fence"}, {"transactional.id", TransactionalId(sink_id)}},
      config.properties, nullptr, operator_label);
  if (!producer.ok()) return producer.status();
  return TransactionStatus(rd_kafka_init_transactions(producer->get(), 10000), operator_label,
                           config.brokers, "fencing the producer of " + sink_id);
}

namespace {

// What of the commit topic holds markers now: each partition's end (read uncommitted), and the
// partitions with messages before it, assigned from their start.
struct MarkerRange {
  std::vector<int64_t> ends;
  std::vector<bool> done;  // per partition: read to its end (or empty)
  int remaining = 0;       // partitions not done
  PartitionList assignment;
};

// What ReadCommitMarkers is asked, and how it says what failed.
struct MarkerRead {
  const KafkaSinkConfig& config;
  const std::string& operator_label;
  int timeout_ms;
  std::string where;  // "the commit topic '...'"

  Status Fail(bool retryable, const std::string& what) const {
    return Failure(retryable, operator_label, config.brokers, what);
  }
};

// The number of partitions of the commit topic, or why it cannot be read.
Result<int> CommitTopicPartitions(const MarkerRead& read, rd_kafka_t* probe) {
  KafkaTopic handle(rd_kafka_topic_new(probe, read.config.commit_topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(probe, 0, handle.get(), &raw, read.timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return read.Fail(IsTransportError(err),
                     "looking up " + read.where + ": " + rd_kafka_err2str(err));
  }
  KafkaMetadata metadata(raw);
  err =
      metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    return Status::User(EndpointProblem(
        read.operator_label, read.config.brokers,
        read.where + " does not exist: create it (with cleanup.policy=compact it stays small) or "
                     "name another with \"commitTopic\""));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return read.Fail(IsTransportError(err),
                     "looking up " + read.where + ": " + rd_kafka_err2str(err));
  }
  return metadata->topics[0].partition_cnt;
}

Result<MarkerRange> FindMarkerRange(const MarkerRead& read) {
  const std::string& topic = read.config.commit_topic;
  // The ends come from a reader of uncommitted messages: for a committed reader the end is the
  // first open transaction, which may precede markers that matter.
  auto probe =
      MakeClient(RD_KAFKA_CONSUMER, read.config.brokers,
                 {{"group.id", "sluice-commit-reader"}, {"isolation.level", "read_uncommitted"}},
                 read.config.properties, nullptr, read.operator_label);
  if (!probe.ok()) return probe.status();
  auto partitions = CommitTopicPartitions(read, probe->get());
  if (!partitions.ok()) return partitions.status();
  MarkerRange range;
  range.ends.assign(*partitions, 0);
  range.done.assign(*partitions, true);
  range.assignment.reset(rd_kafka_topic_partition_list_new(*partitions));
  for (int p = 0; p < *partitions; ++p) {
    int64_t low = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        probe->get(), topic.c_str(), p, &low, &range.ends[p], read.timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return read.Fail(IsTransportError(err), "looking up the end of " + read.where + "[" +
                                                  std::to_string(p) +
                                                  "]: " + rd_kafka_err2str(err));
    }
    if (low >= range.ends[p]) continue;
    rd_kafka_topic_partition_list_add(range.assignment.get(), topic.c_str(), p)->offset = low;
    range.done[p] = false;
    ++range.remaining;
  }
  return range;
}

// One message of the commit topic: a marker of a wanted sink id raises its epoch; the
// partition is done at its end.
Status TakeMarker(const MarkerRead& read, const rd_kafka_message_t& message,
                  const std::set<std::string>& wanted, MarkerRange& range,
                  std::map<std::string, uint64_t>* markers) {
  const int32_t p = message.partition;
  const bool in_range = p >= 0 && p < static_cast<int32_t>(range.ends.size());
  const auto reached = [&](bool at_end) {
    if (in_range && !range.done[p] && at_end) {
      range.done[p] = true;
      --range.remaining;
    }
  };
  if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    reached(in_range && message.offset >= range.ends[p]);
    return Status::Ok();
  }
  if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (IsTransportError(message.err)) return Status::Ok();
    return read.Fail(false, "reading " + read.where + ": " + rd_kafka_message_errstr(&message));
  }
  if (message.key != nullptr) {
    const std::string key(static_cast<const char*>(message.key), message.key_len);
    if (wanted.count(key) != 0) {
      const char* value = static_cast<const char*>(message.payload);
      uint64_t epoch = 0;
      const auto parsed = std::from_chars(value, value + message.len, epoch);
      if (value == nullptr || parsed.ec != std::errc() || parsed.ptr != value + message.len) {
        return read.Fail(false, read.where + " has a marker of " + key +
                                    " that is not an epoch, at [" + std::to_string(p) +
                                    "] offset " + std::to_string(message.offset));
      }
      (*markers)[key] = std::max((*markers)[key], epoch);
    }
  }
  reached(in_range && message.offset + 1 >= range.ends[p]);
  return Status::Ok();
}

}  // namespace

Result<std::map<std::string, uint64_t>> ReadCommitMarkers(const KafkaSinkConfig& config,
                                                          const std::vector<std::string>& sink_ids,
                                                          const std::string& operator_label,
                                                          int timeout_ms,
                                                          const std::atomic<bool>& cancelled) {
  const MarkerRead read{config, operator_label, timeout_ms,
                        "the commit topic '" + config.commit_topic + "'"};
  auto range = FindMarkerRange(read);
  if (!range.ok()) return range.status();
  std::map<std::string, uint64_t> markers;
  if (range->remaining == 0) return markers;

  auto reader = MakeClient(RD_KAFKA_CONSUMER, config.brokers,
                           {{"group.id", "sluice-commit-reader"},
                            {"enable.auto.commit", "false"},
                            {"enable.partition.eof", "true"},
                            {"isolation.level", "read_committed"}},
                           config.properties, nullptr, operator_label);
  if (!reader.ok()) return reader.status();
  rd_kafka_resp_err_t err = rd_kafka_assign(reader->get(), range->assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return read.Fail(false, "reading " + read.where + ": " + rd_kafka_err2str(err));
  }
  const std::set<std::string> wanted(sink_ids.begin(), sink_ids.end());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status status = Status::Ok();
  while (range->remaining > 0 && status.ok()) {
    if (cancelled.load()) {
      status = Status::Cancelled("cancelled while reading " + read.where);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      status = read.Fail(true, "reading " + read.where + " did not reach its end within " +
                                   std::to_string(timeout_ms) +
                                   " ms (an open transaction holds committed readers back)");
      break;
    }
    KafkaMessage message(rd_kafka_consumer_poll(reader->get(), kPollMs));
    if (message == nullptr) continue;
    status = TakeMarker(read, *message, wanted, *range, &markers);
  }
  rd_kafka_consumer_close(reader->get());
  if (!status.ok()) return status;
  return markers;
}

}  // namespace sluice::kafka
