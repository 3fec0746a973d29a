#pragma once

#include <memory>
#include <span>
#include <string>

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
  // Connects, turns autocommit off and prepares the statement.
  virtual Status Connect() = 0;
  virtual bool connected() const = 0;
  // Executes the statement once per row, in order, in one transaction, and commits it. On a
  // failure nothing of the transaction stays (it is rolled back, or lost with the connection).
  virtual Status WriteTransaction(std::span<const SqlRow> rows) = 0;
};

// The MySQL Connector/C++ implementation (its JDBC-style API, which speaks the classic
// protocol that MariaDB serves).
std::unique_ptr<MySqlClient> MakeConnectorClient(const MySqlConfig& config);

// Whether a server or client error code (and SQLSTATE) means "try again on a new connection":
// the server unreachable, gone or shutting down, too many connections, a deadlock, a lock wait
// timeout, or any SQLSTATE of class 08 (connection exception).
bool IsTransientSqlError(int code, const std::string& sql_state);

}  // namespace sluice::mysql
