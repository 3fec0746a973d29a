#include "connectors/mysql/mysql_sink.h"

#include "connectors/common/endpoint.h"

namespace sluice::mysql {

MySqlSink::MySqlSink(MySqlConfig config, std::string label, std::string sink_id,
                     std::unique_ptr<MySqlClient> client, runtime::ConnectorHealth* health,
                     std::unique_ptr<connectors::RetrySleeper> sleeper, connectors::Backoff backoff)
    : config_(std::move(config)),
      label_(std::move(label)),
      endpoint_(label_ + ": mysql " + connectors::Endpoint{config_.host, config_.port}.ToString()),
      client_(std::move(client)),
      sleeper_(std::move(sleeper)),
      retrier_(endpoint_, backoff, health, sleeper_.get()),
      exactly_once_(std::move(sink_id), label_, *this) {}

Status MySqlSink::Write(const js::BatchResult& batch) {
  if (!exactly_once()) {
    SLUICE_RETURN_IF_ERROR(
        DecodeRowBatch(batch.json_lines, config_.placeholders, label_, &pending_));
    return CommitPending();
  }
  return exactly_once_.Write(batch.json_lines);
}

Status MySqlSink::Check(std::string_view json_lines) {
  std::vector<SqlRow> rows;
  return DecodeRowBatch(json_lines, config_.placeholders, label_, &rows);
}

Status MySqlSink::Connected() {
  if (client_->connected()) return Status::Ok();
  return client_->Connect();
}

Status MySqlSink::Explain(const Status& status) const {
  if (status.ok() || status.retryable() || status.code() == StatusCode::kCancelled) return status;
  // The retrier's "gave up" names the endpoint already.
  if (status.message().rfind(endpoint_, 0) == 0) return status;
  return status.WithContext(endpoint_ + ", statement `" + config_.statement + "`");
}

Status MySqlSink::CommitPending() {
  if (pending_.empty()) return Status::Ok();
  Status status = retrier_.Run([&]() -> Status {
    SLUICE_RETURN_IF_ERROR(Connected());
    return client_->WriteTransaction(pending_);
  });
  if (status.ok()) pending_.clear();
  return Explain(status);
}

Status MySqlSink::CommitEpoch(const std::string& sink_id, const connectors::Epoch& epoch) {
  std::vector<SqlRow> rows;
  SLUICE_RETURN_IF_ERROR(DecodeRowBatch(epoch.lines, config_.placeholders, label_, &rows));
  // A commit whose outcome the lost connection hid is tried again: the marker, read under
  // the transaction's lock, says whether it went through.
  return Explain(retrier_.Run([&]() -> Status {
    SLUICE_RETURN_IF_ERROR(Connected());
    return client_->WriteEpoch(sink_id, epoch.number, rows).status();
  }));
}

Result<std::string> MySqlSink::PrepareCommit(uint64_t checkpoint, const std::string& directory) {
  if (!exactly_once()) return std::string();
  return exactly_once_.Prepare(checkpoint, directory);
}

Status MySqlSink::CommitCheckpoint(uint64_t checkpoint) {
  if (!exactly_once()) return Status::Ok();
  return exactly_once_.Commit(checkpoint);
}

Result<std::map<std::string, uint64_t>> MySqlSink::ReadMarkers(
    const std::vector<std::string>& sink_ids) {
  std::map<std::string, uint64_t> markers;
  SLUICE_RETURN_IF_ERROR(Explain(retrier_.Run([&]() -> Status {
    SLUICE_RETURN_IF_ERROR(Connected());
    auto read = client_->ReadMarkers(sink_ids);
    if (read.ok()) markers = std::move(read).value();
    return read.status();
  })));
  return markers;
}

Status MySqlSink::Restore(uint64_t checkpoint, const std::vector<std::string>& prepared) {
  if (!exactly_once()) return Status::Ok();
  return exactly_once_.Restore(checkpoint, prepared);
}

Status MySqlSink::Finish() {
  if (!exactly_once()) return CommitPending();
  return exactly_once_.Finish();
}

void MySqlSink::Cancel() { sleeper_->Cancel(); }

Result<std::unique_ptr<runtime::BatchSink>> MakeMySqlSink(const std::string& config_json,
                                                          const runtime::SinkContext& context) {
  auto config = ParseMySqlConfig(config_json);
  if (!config.ok()) return config.status().WithContext(context.operator_label);
  auto client = MakeConnectorClient(*config);
  const connectors::Backoff backoff{.budget = config->retry};
  return std::unique_ptr<runtime::BatchSink>(new MySqlSink(
      std::move(config).value(), context.operator_label,
      connectors::SinkId(context.job.str(), context.operator_id, context.subtask),
      std::move(client), context.health, std::make_unique<connectors::CancellableSleeper>(),
      backoff));
}

}  // namespace sluice::mysql
