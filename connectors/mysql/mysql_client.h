#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/mysql/mysql_config.h"
#include "connectors/mysql/mysql_row.h"

namespace sluice::mysql {

// A connection to one MySQL or MariaDB server with the sink's statement prepared on it. The
// sink owns it and uses it on its task's thread only. Statuses: a transient failure (the
// server unreachable or gone, a deadlock, a lock wait timeout) is retryable and leaves the
// client disconnected, so the whole transaction is written again on a new connection; anything
// else (a refused login, an unknown table, a row the server rejects) is not.
class MySqlClient {
 public:
  virtual ~MySqlClient() = default;
  // Connects, turns autocommit off and prepares the statement. With exactly-once, also creates
  // the commit table if it is missing and prepares the marker statements.
  virtual Status Connect() = 0;
  virtual bool connected() const = 0;
  // Executes the statement once per row, in order, in one transaction, and commits it. On a
  // failure nothing of the transaction stays (it is rolled back, or lost with the connection).
  virtual Status WriteTransaction(std::span<const SqlRow> rows) = 0;

  // Exactly-once, on the commit table. The committed epoch of each of `sink_ids` that has a
  // marker.
  virtual Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) = 0;
  // One transaction: locks the marker row of `sink_id`; when it holds `epoch` or a later one
  // already, rolls back and returns false (the epoch was committed before). Otherwise executes
  // the statement once per row, sets the marker to `epoch`, commits and returns true.
  virtual Result<bool> WriteEpoch(const std::string& sink_id, uint64_t epoch,
                                  std::span<const SqlRow> rows) = 0;
};

// The MySQL Connector/C++ implementation (its JDBC-style API, which speaks the classic
// protocol that MariaDB serves).
std::unique_ptr<MySqlClient> MakeConnectorClient(const MySqlConfig& config);

// Whether a server or client error code (and SQLSTATE) means "try again on a new connection":
// the server unreachable, gone or shutting down, too many connections, a deadlock, a lock wait
// timeout, or any SQLSTATE of class 08 (connection exception).
bool IsTransientSqlError(int code, const std::string& sql_state);

}  // namespace sluice::mysql
