#include "connectors/redis/redis_kinds.h"

#include "connectors/redis/redis_sink.h"

namespace sluice::redis {

Status RegisterRedis(runtime::IoKinds& kinds) {
  return kinds.AddSink("sink.redis", runtime::SinkKind{MakeRedisSink, runtime::SinkFunctionAsMapStage});
}

}  // namespace sluice::redis
