// MySqlClient on MySQL Connector/C++ 1.1 (the legacy JDBC-style API).
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>

#include "connectors/mysql/mysql_client.h"

namespace sluice::mysql {
namespace {

// The driver initialises the client library once per process; function-local statics are
// initialised thread-safely.
sql::mysql::MySQL_Driver* Driver() {
  static sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
  return driver;
}

std::string Describe(const sql::SQLException& e) {
  std::string text = e.what();
  if (text.empty()) text = "unknown error";
  text += " (error " + std::to_string(e.getErrorCode());
  if (e.getSQLState().empty()) return text + ")";
  return text + ", SQLSTATE " + e.getSQLState() + ")";
}

class ConnectorClient : public MySqlClient {
 public:
  explicit ConnectorClient(MySqlConfig config) : config_(std::move(config)) {
    Driver()->threadInit();
  }
  ~ConnectorClient() override {
    Disconnect();
    Driver()->threadEnd();
  }

  Status Connect() override {
    Disconnect();
    const int timeout_s =
        static_cast<int>(std::max<uint32_t>(1, (config_.timeout_ms + 999) / 1000));
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString(config_.host);
    options["port"] = static_cast<int>(config_.port);
    options["userName"] = sql::SQLString(config_.user);
    options["password"] = sql::SQLString(config_.password);
    options["schema"] = sql::SQLString(config_.database);
    options["OPT_CONNECT_TIMEOUT"] = timeout_s;
    options["OPT_READ_TIMEOUT"] = timeout_s;
    options["OPT_WRITE_TIMEOUT"] = timeout_s;
    options["OPT_RECONNECT"] = false;
    try {
      connection_.reset(Driver()->connect(options));
      connection_->setAutoCommit(false);
    } catch (const sql::SQLException& e) {
      return Failed(e, "unreachable", "cannot log in");
    }
    try {
      statement_.reset(connection_->prepareStatement(config_.statement));
    } catch (const sql::SQLException& e) {
      return Failed(e, "connection lost while preparing the statement",
                    "cannot prepare the statement");
    }
    return Status::Ok();
  }

  bool connected() const override { return statement_ != nullptr; }

  Status WriteTransaction(std::span<const SqlRow> rows) override {
    if (!connected()) return Status::Unavailable("not connected");
    size_t i = 0;
    try {
      for (; i < rows.size(); ++i) {
        Bind(rows[i]);
        statement_->executeUpdate();
      }
      i = rows.size();
      connection_->commit();
    } catch (const sql::SQLException& e) {
      const std::string row = i < rows.size()
                                  ? " row " + std::to_string(i + 1) + " of " +
                                        std::to_string(rows.size()) + " " + DescribeRow(rows[i])
                                  : " the commit of " + std::to_string(rows.size()) + " rows";
      return Failed(e, "connection lost at" + row, "refused" + row);
    }
    return Status::Ok();
  }

 private:
  void Bind(const SqlRow& row) {
    for (size_t p = 0; p < row.size(); ++p) {
      const unsigned index = static_cast<unsigned>(p + 1);
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              statement_->setNull(index, sql::DataType::VARCHAR);
            } else if constexpr (std::is_same_v<T, bool>) {
              statement_->setBoolean(index, v);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              statement_->setInt64(index, v);
            } else if constexpr (std::is_same_v<T, uint64_t>) {
              statement_->setUInt64(index, v);
            } else if constexpr (std::is_same_v<T, double>) {
              statement_->setDouble(index, v);
            } else {
              statement_->setString(index, sql::SQLString(v));
            }
          },
          row[p]);
    }
  }

  // Turns an exception into a Status: retryable (and disconnected) when transient; `transient`
  // and `permanent` say what was going on in each case.
  Status Failed(const sql::SQLException& e, const std::string& transient,
                const std::string& permanent) {
    const bool retry = IsTransientSqlError(e.getErrorCode(), e.getSQLState());
    const std::string message = (retry ? transient : permanent) + ": " + Describe(e);
    if (retry) {
      Disconnect();
      return Status::Unavailable(message);
    }
    Rollback();
    return Status::External(message);
  }

  void Rollback() {
    if (connection_ == nullptr) return;
    try {
      connection_->rollback();
    } catch (const sql::SQLException&) {
      Disconnect();  // the connection is no good either way; the next attempt reconnects
    }
  }

  void Disconnect() {
    statement_.reset();
    if (connection_ != nullptr) {
      try {
        connection_->close();
      } catch (const sql::SQLException&) {
        // Closing a connection the server already dropped: nothing left to release.
      }
    }
    connection_.reset();
  }

  MySqlConfig config_;
  std::unique_ptr<sql::Connection> connection_;
  std::unique_ptr<sql::PreparedStatement> statement_;
};

}  // namespace

std::unique_ptr<MySqlClient> MakeConnectorClient(const MySqlConfig& config) {
  return std::make_unique<ConnectorClient>(config);
}

bool IsTransientSqlError(int code, const std::string& sql_state) {
  static constexpr int kTransient[] = {
      1040,  // ER_CON_COUNT_ERROR: too many connections
      1053,  // ER_SERVER_SHUTDOWN
      1205,  // ER_LOCK_WAIT_TIMEOUT
      1213,  // ER_LOCK_DEADLOCK
      1927,  // ER_CONNECTION_KILLED (MariaDB)
      2002,  // CR_CONNECTION_ERROR: cannot connect (socket)
      2003,  // CR_CONN_HOST_ERROR: cannot connect (TCP)
      2005,  // CR_UNKNOWN_HOST: name resolution failed (often transient)
      2006,  // CR_SERVER_GONE_ERROR
      2013,  // CR_SERVER_LOST
      2055,  // CR_SERVER_LOST_EXTENDED
      4031,  // ER_CLIENT_INTERACTION_TIMEOUT
  };
  if (std::find(std::begin(kTransient), std::end(kTransient), code) != std::end(kTransient)) {
    return true;
  }
  return sql_state.size() >= 2 && sql_state[0] == '0' && sql_state[1] == '8';
}

}  // namespace sluice::mysql
