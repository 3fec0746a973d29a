#include "connectors/redis/redis_kinds.h"

#include <nlohmann/json.hpp>

#include "connectors/redis/redis_config.h"
#include "connectors/redis/redis_sink.h"

namespace sluice::redis {

namespace {

void CheckRedisSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  for (const std::string& problem : CheckRedisConfig(config)) problems->push_back(": " + problem);
}

}  // namespace

Status RegisterRedis(runtime::IoKinds& kinds) {
  return kinds.AddSink("sink.redis",
                       runtime::SinkKind{MakeRedisSink, runtime::SinkFunctionAsMapStage,
                                         {.functions = {{"fn", true}}, .check_config = &CheckRedisSink}});
}

}  // namespace sluice::redis
