#include "connectors/mysql/mysql_sink.h"

#include "connectors/common/endpoint.h"

namespace sluice::mysql {

MySqlSink::MySqlSink(MySqlConfig config, std::string label, std::unique_ptr<MySqlClient> client,
                     runtime::ConnectorHealth* health,
                     std::unique_ptr<connectors::RetrySleeper> sleeper, connectors::Backoff backoff)
    : config_(std::move(config)),
      label_(std::move(label)),
      endpoint_(label_ + ": mysql " + connectors::Endpoint{config_.host, config_.port}.ToString()),
      client_(std::move(client)),
      sleeper_(std::move(sleeper)),
      retrier_(endpoint_, backoff, health, sleeper_.get()) {}

Status MySqlSink::Write(const js::BatchResult& batch) {
  SLUICE_RETURN_IF_ERROR(DecodeRowBatch(batch.json_lines, config_.placeholders, label_, &pending_));
  return CommitPending();
}

Status MySqlSink::CommitPending() {
  if (pending_.empty()) return Status::Ok();
  Status status = retrier_.Run([&]() -> Status {
    if (!client_->connected()) SLUICE_RETURN_IF_ERROR(client_->Connect());
    return client_->WriteTransaction(pending_);
  });
  if (status.ok()) {
    pending_.clear();
    return status;
  }
  if (status.retryable() || status.code() == StatusCode::kCancelled) return status;
  return Status(status.code(), status.domain(),
                endpoint_ + ", statement `" + config_.statement + "`: " + status.message());
}

Status MySqlSink::Finish() { return CommitPending(); }

void MySqlSink::Cancel() { sleeper_->Cancel(); }

Result<std::unique_ptr<runtime::BatchSink>> MakeMySqlSink(const std::string& config_json,
                                                          const runtime::SinkContext& context) {
  auto config = ParseMySqlConfig(config_json);
  if (!config.ok()) return Status::User(context.operator_label + ": " + config.status().message());
  auto client = MakeConnectorClient(*config);
  return std::unique_ptr<runtime::BatchSink>(
      new MySqlSink(std::move(config).value(), context.operator_label, std::move(client),
                    context.health, std::make_unique<connectors::CancellableSleeper>()));
}

}  // namespace sluice::mysql
