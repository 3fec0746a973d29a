#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/common/retry.h"
#include "connectors/mysql/mysql_client.h"
#include "connectors/mysql/mysql_config.h"
#include "worker/runtime/batch_sink.h"

namespace sluice::mysql {

// The `sink.mysql` operator: each record is what the operator's function returned (the task
// runs that function as a map stage right before the sink), the statement's parameters for
// one row. Rows wait in `pending_` until they are committed; today every batch is committed as
// one transaction before Write() returns.
//
// Delivery is at-least-once: when the server is unreachable or goes away mid-transaction, the
// sink reconnects with backoff (reporting through the task's ConnectorHealth) and writes the
// whole transaction again, so statements should be upserts (INSERT ... ON DUPLICATE KEY
// UPDATE, REPLACE). A row the server refuses fails the task with the server's error, the
// operator, the statement and the row.
//
// Checkpoints will keep this shape: pending rows then span a checkpoint interval and are
// committed, with a commit marker written in the same transaction, when the checkpoint's
// barrier passes (CommitPending is the one place a transaction ends).
//
// Created on the task's thread by MakeMySqlSink (or by tests with a fake client) and used on
// it; Cancel() may be called from any thread.
class MySqlSink : public runtime::BatchSink {
 public:
  MySqlSink(MySqlConfig config, std::string label, std::unique_ptr<MySqlClient> client,
            runtime::ConnectorHealth* health, std::unique_ptr<connectors::RetrySleeper> sleeper,
            connectors::Backoff backoff = {});

  Status Write(const js::BatchResult& batch) override;
  Status Finish() override;
  void Cancel() override;

 private:
  // Writes every pending row in one transaction, retrying it whole on transient failures.
  Status CommitPending();

  MySqlConfig config_;
  std::string label_;     // "operator 'out' (op4)"
  std::string endpoint_;  // label_ + ": mysql 127.0.0.1:3306"
  std::unique_ptr<MySqlClient> client_;
  std::unique_ptr<connectors::RetrySleeper> sleeper_;
  connectors::Retrier retrier_;
  std::vector<SqlRow> pending_;  // decoded, not yet committed
};

// Builds a MySqlSink on MySQL Connector/C++ from a `sink.mysql` config.
Result<std::unique_ptr<runtime::BatchSink>> MakeMySqlSink(const std::string& config_json,
                                                          const runtime::SinkContext& context);

}  // namespace sluice::mysql
