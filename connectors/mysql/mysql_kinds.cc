#include "connectors/mysql/mysql_kinds.h"

#include "connectors/mysql/mysql_sink.h"

namespace sluice::mysql {

Status RegisterMySql(runtime::IoKinds& kinds) {
  return kinds.AddSink("sink.mysql", runtime::SinkKind{MakeMySqlSink, runtime::SinkFunctionAsMapStage});
}

}  // namespace sluice::mysql
