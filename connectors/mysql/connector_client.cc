// MySqlClient on MySQL Connector/C++ 1.1 (the legacy JDBC-style API).
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
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

// `name` or `schema`.`name`, quoted (the config allows only identifier characters).
std::string QuoteTable(const std::string& table) {
  const size_t dot = table.find('.');
  if (dot == std::string::npos) return "`" + table + "`";
  return "`" + table.substr(0, dot) + "`.`" + table.substr(dot + 1) + "`";
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
    if (config_.guarantee == connectors::Guarantee::kExactlyOnce) {
      SLUICE_RETURN_IF_ERROR(PrepareMarkers());
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
    SLUICE_RETURN_IF_ERROR(ExecuteRows(rows));
    return Commit(rows.size());
  }

  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override {
    if (!connected() || read_marker_ == nullptr) return Status::Unavailable("not connected");
    std::map<std::string, uint64_t> markers;
    try {
      for (const std::string& sink_id : sink_ids) {
        read_marker_->setString(1, sink_id);
        std::unique_ptr<sql::ResultSet> result(read_marker_->executeQuery());
        if (result->next()) markers[sink_id] = static_cast<uint64_t>(result->getInt64(1));
      }
      connection_->commit();  // ends the read view, so later reads see later commits
    } catch (const sql::SQLException& e) {
      return Failed(e, "connection lost reading " + Table(), "cannot read " + Table());
    }
    return markers;
  }

  Result<bool> WriteEpoch(const std::string& sink_id, uint64_t epoch,
                          std::span<const SqlRow> rows) override {
    if (!connected() || lock_marker_ == nullptr) return Status::Unavailable("not connected");
    const std::string marker = "the marker of " + sink_id + " in " + Table();
    try {
      // The row exists before it is locked: locking a missing one would take a gap lock, on
      // which two sinks' first commits could deadlock.
      ensure_marker_->setString(1, sink_id);
      ensure_marker_->executeUpdate();
      lock_marker_->setString(1, sink_id);
      std::unique_ptr<sql::ResultSet> result(lock_marker_->executeQuery());
      const int64_t committed = result->next() ? result->getInt64(1) : 0;
      if (committed >= static_cast<int64_t>(epoch)) {
        connection_->rollback();
        return false;
      }
    } catch (const sql::SQLException& e) {
      return Failed(e, "connection lost locking " + marker, "cannot lock " + marker);
    }
    SLUICE_RETURN_IF_ERROR(ExecuteRows(rows));
    try {
      set_marker_->setString(1, sink_id);
      set_marker_->setInt64(2, static_cast<int64_t>(epoch));
      set_marker_->executeUpdate();
    } catch (const sql::SQLException& e) {
      return Failed(e, "connection lost setting " + marker, "cannot set " + marker);
    }
    SLUICE_RETURN_IF_ERROR(Commit(rows.size()));
    return true;
  }

 private:
  std::string Table() const { return "commit table " + QuoteTable(config_.commit_table); }

  // Creates the commit table if it is missing and prepares the marker statements.
  Status PrepareMarkers() {
    const std::string table = QuoteTable(config_.commit_table);
    try {
      std::unique_ptr<sql::Statement> create(connection_->createStatement());
      create->execute("CREATE TABLE IF NOT EXISTS " + table +
                      " (sink_id VARCHAR(255) NOT NULL PRIMARY KEY, epoch BIGINT NOT NULL)");
      read_marker_.reset(
          connection_->prepareStatement("SELECT epoch FROM " + table + " WHERE sink_id = ?"));
      ensure_marker_.reset(connection_->prepareStatement("INSERT IGNORE INTO " + table +
                                                         " (sink_id, epoch) VALUES (?, 0)"));
      lock_marker_.reset(connection_->prepareStatement("SELECT epoch FROM " + table +
                                                       " WHERE sink_id = ? FOR UPDATE"));
      set_marker_.reset(connection_->prepareStatement(
          "INSERT INTO " + table +
          " (sink_id, epoch) VALUES (?, ?) ON DUPLICATE KEY UPDATE epoch = VALUES(epoch)"));
    } catch (const sql::SQLException& e) {
      return Failed(e, "connection lost preparing the " + Table(),
                    "cannot create or use the " + Table());
    }
    return Status::Ok();
  }

  // Executes the statement once per row in the open transaction.
  Status ExecuteRows(std::span<const SqlRow> rows) {
    size_t i = 0;
    try {
      for (; i < rows.size(); ++i) {
        Bind(rows[i]);
        statement_->executeUpdate();
      }
    } catch (const sql::SQLException& e) {
      const std::string row = " row " + std::to_string(i + 1) + " of " +
                              std::to_string(rows.size()) + " " + DescribeRow(rows[i]);
      return Failed(e, "connection lost at" + row, "refused" + row);
    }
    return Status::Ok();
  }

  Status Commit(size_t rows) {
    try {
      connection_->commit();
    } catch (const sql::SQLException& e) {
      const std::string what = " the commit of " + std::to_string(rows) + " rows";
      return Failed(e, "connection lost at" + what, "refused" + what);
    }
    return Status::Ok();
  }

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
    read_marker_.reset();
    ensure_marker_.reset();
    lock_marker_.reset();
    set_marker_.reset();
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
  // Exactly-once only: the commit table's statements.
  std::unique_ptr<sql::PreparedStatement> read_marker_;
  std::unique_ptr<sql::PreparedStatement> ensure_marker_;
  std::unique_ptr<sql::PreparedStatement> lock_marker_;
  std::unique_ptr<sql::PreparedStatement> set_marker_;
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
