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

Result<std::map<std::string, uint64_t>> ReadCommitMarkers(const KafkaSinkConfig& config,
                                                          const std::vector<std::string>& sink_ids,
                                                          const std::string& operator_label,
                                                          int timeout_ms,
                                                          const std::atomic<bool>& cancelled) {
  const std::string& topic = config.commit_topic;
  const std::string where = "the commit topic '" + topic + "'";
  const auto fail = [&](bool retryable, const std::string& what) {
    return Failure(retryable, operator_label, config.brokers, what);
  };
  // The ends come from a reader of uncommitted messages: for a committed reader the end is the
  // first open transaction, which may precede markers that matter.
  auto probe =
      MakeClient(RD_KAFKA_CONSUMER, config.brokers,
                 {{"group.id", "sluice-commit-reader"}, {"isolation.level", "read_uncommitted"}},
                 config.properties, nullptr, operator_label);
  if (!probe.ok()) return probe.status();
  KafkaTopic handle(rd_kafka_topic_new(probe->get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(probe->get(), 0, handle.get(), &raw, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(IsTransportError(err), "looking up " + where + ": " + rd_kafka_err2str(err));
  }
  KafkaMetadata metadata(raw);
  err =
      metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    return Status::User(EndpointProblem(
        operator_label, config.brokers,
        where + " does not exist: create it (with cleanup.policy=compact it stays small) or "
                "name another with \"commitTopic\""));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(IsTransportError(err), "looking up " + where + ": " + rd_kafka_err2str(err));
  }
  const int partitions = metadata->topics[0].partition_cnt;
  std::vector<int64_t> ends(partitions, 0);
  std::vector<bool> done(partitions, true);
  int remaining = 0;
  PartitionList assignment(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0;
    err = rd_kafka_query_watermark_offsets(probe->get(), topic.c_str(), p, &low, &ends[p],
                                           timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return fail(IsTransportError(err), "looking up the end of " + where + "[" +
                                             std::to_string(p) + "]: " + rd_kafka_err2str(err));
    }
    if (low >= ends[p]) continue;
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = low;
    done[p] = false;
    ++remaining;
  }
  std::map<std::string, uint64_t> markers;
  if (remaining == 0) return markers;

  auto reader = MakeClient(RD_KAFKA_CONSUMER, config.brokers,
                           {{"group.id", "sluice-commit-reader"},
                            {"enable.auto.commit", "false"},
                            {"enable.partition.eof", "true"},
                            {"isolation.level", "read_committed"}},
                           config.properties, nullptr, operator_label);
  if (!reader.ok()) return reader.status();
  err = rd_kafka_assign(reader->get(), assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(false, "reading " + where + ": " + rd_kafka_err2str(err));
  }
  const std::set<std::string> wanted(sink_ids.begin(), sink_ids.end());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status status = Status::Ok();
  while (remaining > 0 && status.ok()) {
    if (cancelled.load()) {
      status = Status::Cancelled("cancelled while reading " + where);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      status = fail(true, "reading " + where + " did not reach its end within " +
                              std::to_string(timeout_ms) +
                              " ms (an open transaction holds committed readers back)");
      break;
    }
    KafkaMessage message(rd_kafka_consumer_poll(reader->get(), kPollMs));
    if (message == nullptr) continue;
    const int32_t p = message->partition;
    const bool in_range = p >= 0 && p < partitions;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (in_range && !done[p] && message->offset >= ends[p]) {
        done[p] = true;
        --remaining;
      }
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (!IsTransportError(message->err)) {
        status = fail(false, "reading " + where + ": " + rd_kafka_message_errstr(message.get()));
      }
      continue;
    }
    if (message->key != nullptr) {
      const std::string key(static_cast<const char*>(message->key), message->key_len);
      if (wanted.count(key) != 0) {
        const char* value = static_cast<const char*>(message->payload);
        uint64_t epoch = 0;
        const auto parsed = std::from_chars(value, value + message->len, epoch);
        if (value == nullptr || parsed.ec != std::errc() || parsed.ptr != value + message->len) {
          status =
              fail(false, where + " has a marker of " + key + " that is not an epoch, at [" +
                              std::to_string(p) + "] offset " + std::to_string(message->offset));
          continue;
        }
        markers[key] = std::max(markers[key], epoch);
      }
    }
    if (in_range && !done[p] && message->offset + 1 >= ends[p]) {
      done[p] = true;
      --remaining;
    }
  }
  rd_kafka_consumer_close(reader->get());
  if (!status.ok()) return status;
  return markers;
}

}  // namespace sluice::kafka
