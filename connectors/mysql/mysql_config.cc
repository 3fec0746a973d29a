#include "connectors/mysql/mysql_config.h"

#include <algorithm>
#include <cctype>

#include "connectors/common/config_reader.h"
#include "connectors/common/endpoint.h"
#include "connectors/common/secret.h"

namespace sluice::mysql {
namespace {

// Skips whitespace and comments from `i`; returns false at an unclosed /* comment.
bool SkipSpace(std::string_view text, size_t& i) {
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#' || (c == '-' && text.substr(i, 3).size() == 3 && text[i + 1] == '-' &&
                            std::isspace(static_cast<unsigned char>(text[i + 2])))) {
      size_t end = text.find('\n', i);
      i = end == std::string_view::npos ? text.size() : end + 1;
    } else if (text.substr(i, 2) == "/*") {
      size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) return false;
      i = end + 2;
    } else {
      break;
    }
  }
  return true;
}

// Skips a quoted string or identifier starting at text[i] (the quote); returns false when it
// is not closed. Backslash escapes count inside ' and "; a doubled quote is an escaped quote.
bool SkipQuoted(std::string_view text, size_t& i) {
  const char quote = text[i++];
  while (i < text.size()) {
    const char c = text[i++];
    if (c == '\\' && quote != '`') {
      ++i;
    } else if (c == quote) {
      if (i < text.size() && text[i] == quote) {
        ++i;
      } else {
        return true;
      }
    }
  }
  return false;
}

// `name` or `schema.name`, each part of unquoted identifier characters (it is quoted in SQL).
bool TableNameOk(std::string_view name) {
  const auto part_ok = [](std::string_view part) {
    return !part.empty() && part.size() <= 64 && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
    });
  };
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos) return part_ok(name);
  return part_ok(name.substr(0, dot)) && part_ok(name.substr(dot + 1));
}

MySqlConfig Read(connectors::ConfigReader& reader, connectors::SecretSource* password) {
  MySqlConfig config;
  if (auto host = reader.String("host", /*required=*/true)) {
    Status status = connectors::CheckHost(*host);
    if (!status.ok()) {
      reader.FieldProblem("host", "must be a host name or address (" + status.message() +
                                      "), got \"" + *host + "\"");
    }
    config.host = *host;
  }
  if (auto port = reader.Integer("port", false, 1, 65535))
    config.port = static_cast<uint16_t>(*port);
  if (auto user = reader.String("user", true)) config.user = *user;
  *password = connectors::ReadSecret(reader, "password");
  if (auto database = reader.String("database", true)) config.database = *database;
  if (auto statement = reader.String("statement", true)) {
    config.statement = *statement;
    auto placeholders = CountPlaceholders(*statement);
    if (!placeholders.ok()) {
      reader.FieldProblem("statement", placeholders.status().message());
    } else if (*placeholders == 0) {
      reader.FieldProblem("statement",
                          "has no '?' placeholders, so the values the function returns would go "
                          "nowhere; write e.g. INSERT INTO t (a, b) VALUES (?, ?)");
    } else {
      config.placeholders = *placeholders;
    }
  }
  if (auto timeout = reader.Integer("timeoutMs", false, 1, 3600000)) {
    config.timeout_ms = static_cast<uint32_t>(*timeout);
  }
  if (auto guarantee = reader.String("guarantee", false)) {
    if (auto parsed = connectors::ParseGuarantee(*guarantee)) {
      config.guarantee = *parsed;
    } else {
      reader.FieldProblem("guarantee", std::string("must be ") + connectors::kGuaranteeValues +
                                           ", got \"" + *guarantee + "\"");
    }
  }
  if (auto table = reader.String("commitTable", false)) {
    if (TableNameOk(*table)) {
      config.commit_table = *table;
    } else {
      reader.FieldProblem("commitTable",
                          "must be a table name or schema.table, each 1 to 64 characters of "
                          "a-z, A-Z, 0-9, '_' and '$', got \"" +
                              *table + "\"");
    }
  }
  config.retry = connectors::ReadRetryBudget(reader);
  reader.RefuseUnknownFields();
  return config;
}

}  // namespace

Result<uint32_t> CountPlaceholders(std::string_view statement) {
  size_t i = 0;
  if (!SkipSpace(statement, i)) return Status::User("has an unclosed /* comment");
  size_t word_end = i;
  while (word_end < statement.size() &&
         std::isalpha(static_cast<unsigned char>(statement[word_end]))) {
    ++word_end;
  }
  std::string verb(statement.substr(i, word_end - i));
  std::transform(verb.begin(), verb.end(), verb.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static const char* const kVerbs[] = {"INSERT", "REPLACE", "UPDATE", "DELETE", "CALL"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
    return Status::User("must be an INSERT, REPLACE, UPDATE, DELETE or CALL statement, not \"" +
                        std::string(statement.substr(i, 40)) + "\"");
  }
  uint32_t count = 0;
  while (i < statement.size()) {
    if (!SkipSpace(statement, i)) return Status::User("has an unclosed /* comment");
    if (i >= statement.size()) break;
    const char c = statement[i];
    if (c == '\'' || c == '"' || c == '`') {
      if (!SkipQuoted(statement, i)) {
        return Status::User(std::string("has an unclosed ") + c + " quote");
      }
    } else if (c == '?') {
      ++count;
      ++i;
    } else if (c == ';') {
      ++i;
      if (!SkipSpace(statement, i)) return Status::User("has an unclosed /* comment");
      if (i < statement.size()) {
        return Status::User("must be a single statement, but it goes on after ';'");
      }
    } else {
      ++i;
    }
  }
  return count;
}

std::vector<std::string> CheckMySqlConfig(const nlohmann::json& config) {
  connectors::ConfigReader reader(config, "sink.mysql");
  connectors::SecretSource password;
  Read(reader, &password);
  return reader.problems();
}

Result<MySqlConfig> ParseMySqlConfig(std::string_view config_json) {
  connectors::ConfigReader reader(config_json, "sink.mysql");
  connectors::SecretSource password;
  MySqlConfig config = Read(reader, &password);
  if (!reader.ok()) return Status::User(reader.Joined());
  auto resolved = connectors::ResolveSecret(password, "password");
  if (!resolved.ok()) return resolved.status();
  config.password = std::move(resolved).value();
  return config;
}

}  // namespace sluice::mysql
