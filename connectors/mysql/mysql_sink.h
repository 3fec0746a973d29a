#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/common/exactly_once.h"
#include "connectors/common/guarantee.h"
#include "connectors/common/pending_epochs.h"
#include "connectors/common/retry.h"
#include "connectors/mysql/mysql_client.h"
#include "connectors/mysql/mysql_config.h"
#include "worker/io/sink.h"

namespace sluice::mysql {

// The `sink.mysql` operator: each record is what the operator's function returned (the task
// runs that function as a map stage right before the sink), the statement's parameters for
// one row. A row the server refuses fails the task with the server's error, the operator, the
// statement and the row. When the server is unreachable or goes away mid-transaction, the sink
// reconnects with backoff (reporting through the task's ConnectorHealth) and writes the whole
// transaction again.
//
// At-least-once (the default): every batch is committed as one transaction before Write()
// returns; a transaction written again after a restore or a lost commit repeats its rows, so
// statements should be upserts (INSERT ... ON DUPLICATE KEY UPDATE, REPLACE).
//
// Exactly-once: the protocol is connectors::ExactlyOnceProtocol (Write only checks and buffers;
// barriers write the uncommitted epochs to the checkpoint; a completed checkpoint commits
// them); this sink is its EpochStore: each epoch is written in one transaction that also sets
// this sink's marker in the commit table to the epoch, unless the marker says it was committed
// already. So a commit retried after a lost connection, or repeated after a restore, writes
// nothing twice.
//
// Created on the task's thread by MakeMySqlSink (or by tests with another client) and used on
// it; Cancel() may be called from any thread.
class MySqlSink : public runtime::BatchSink, private connectors::EpochStore {
 public:
  // `sink_id` names this subtask in the commit table (connectors::SinkId).
  MySqlSink(MySqlConfig config, std::string label, std::string sink_id,
            std::unique_ptr<MySqlClient> client, runtime::ConnectorHealth* health,
            std::unique_ptr<connectors::RetrySleeper> sleeper, connectors::Backoff backoff = {});

  Status Write(const js::BatchResult& batch) override;
  // Exactly-once: commits what is buffered as the epoch after the last barrier's, with its
  // marker, even when it is empty: a restore from an earlier checkpoint then finds the marker
  // past it and drops the output it makes again.
  Status Finish() override;
  void Cancel() override;

  Result<std::string> PrepareCommit(uint64_t checkpoint, const std::string& directory) override;
  Status CommitCheckpoint(uint64_t checkpoint) override;
  // Commits each prepared epoch its sink's marker does not cover, then goes on after
  // `checkpoint`; when this sink's own marker is past `checkpoint` (it had finished), its
  // output from now on is dropped.
  Status Restore(uint64_t checkpoint, const std::vector<std::string>& prepared) override;

 private:
  bool exactly_once() const { return config_.guarantee == connectors::Guarantee::kExactlyOnce; }
  // Writes every pending row in one transaction, retrying it whole on transient failures.
  Status CommitPending();
  Status Connected();
  // EpochStore: rows decoded (and dropped); one epoch of `sink_id` with its marker in one
  // transaction (nothing when the marker covers it); the committed epochs of `sink_ids`. Each
  // retries.
  Status Check(std::string_view json_lines) override;
  Status CommitEpoch(const std::string& sink_id, const connectors::Epoch& epoch) override;
  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override;
  // A failure that is not retried, with the endpoint and statement.
  Status Explain(const Status& status) const;

  MySqlConfig config_;
  std::string label_;     // "operator 'out' (op4)"
  std::string endpoint_;  // label_ + ": mysql 127.0.0.1:3306"
  std::unique_ptr<MySqlClient> client_;
  std::unique_ptr<connectors::RetrySleeper> sleeper_;
  connectors::Retrier retrier_;
  std::vector<SqlRow> pending_;  // at-least-once: decoded, not yet committed
  connectors::ExactlyOnceProtocol exactly_once_;  // exactly-once: the epochs, the protocol
};

// Builds a MySqlSink on MySQL Connector/C++ from a `sink.mysql` config.
Result<std::unique_ptr<runtime::BatchSink>> MakeMySqlSink(const std::string& config_json,
                                                          const runtime::SinkContext& context);

}  // namespace sluice::mysql
