#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/kafka/kafka_config.h"

namespace sluice::kafka {

// What the exactly-once sink.kafka needs besides its producer: its transactional.id, the
// wording of transactional errors, fencing old producers, and reading commit markers.
//
// A commit marker is a message in the commit topic (KafkaSinkConfig::commit_topic), key = the
// sink id, value = the epoch in decimal, written in the same transaction as the epoch's
// messages: a read_committed reader sees both or neither. (librdkafka's mock cluster keeps no
// offsets committed in a transaction, so the markers are messages rather than the consumer
// group offsets of send_offsets_to_transaction; see README.md.)
//
// Each function is one attempt: a retryable Status means the brokers could not be reached or
// answered in time, and the caller retries it (the sink with its Retrier).

// "sluice-" + the sink id, '/' written as '.' and anything but [A-Za-z0-9._-] as '_'.
std::string TransactionalId(const std::string& sink_id);

// Takes ownership of `error` (from the transactional API; null is success) and words it:
// fatal errors (a newer producer fenced this one, say) fail the task; retriable ones and those
// that need the transaction aborted are retryable (`must_abort`, when given, says which).
// `what` says what was being done.
Status TransactionStatus(rd_kafka_error_t* error, const std::string& operator_label,
                         const std::string& brokers, const std::string& what,
                         bool* must_abort = nullptr);

// Ends every earlier incarnation of `sink_id`'s transactional producer: init_transactions with
// its transactional.id makes the brokers abort its open transaction (or finish committing it
// if its commit had begun), and refuse it anything later.
Status FenceProducer(const KafkaSinkConfig& config, const std::string& sink_id,
                     const std::string& operator_label);

// The highest committed epoch of each of `sink_ids` that has a marker, read with a
// read_committed consumer from the start of every partition of the commit topic to its end (as
// of the call). A commit topic that does not exist is a user error naming it. Gives up with a
// retryable Status after `timeout_ms` (an open transaction of another producer holds readers
// back until it ends) or when `cancelled` becomes true.
Result<std::map<std::string, uint64_t>> ReadCommitMarkers(const KafkaSinkConfig& config,
                                                          const std::vector<std::string>& sink_ids,
                                                          const std::string& operator_label,
                                                          int timeout_ms,
                                                          const std::atomic<bool>& cancelled);

}  // namespace sluice::kafka
