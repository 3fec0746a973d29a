#include "connectors/mysql/mysql_kinds.h"

#include <nlohmann/json.hpp>

#include "connectors/mysql/mysql_config.h"
#include "connectors/mysql/mysql_sink.h"

namespace sluice::mysql {

namespace {

void CheckMySqlSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  for (const std::string& problem : CheckMySqlConfig(config)) problems->push_back(": " + problem);
}

}  // namespace

Status RegisterMySql(runtime::IoKinds& kinds) {
  return kinds.AddSink("sink.mysql",
                       runtime::SinkKind{MakeMySqlSink, runtime::SinkFunctionAsMapStage,
                                         {.functions = {{"fn", true}}, .check_config = &CheckMySqlSink}});
}

}  // namespace sluice::mysql
