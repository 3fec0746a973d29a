#include "worker/runtime/worker_io_kinds.h"

#include <cstdio>
#include <cstdlib>

#include "connectors/kafka/kafka_kinds.h"
#include "connectors/mysql/mysql_kinds.h"
#include "connectors/redis/redis_kinds.h"

namespace sluice::runtime {

const IoKinds& WorkerIoKinds() {
  static const IoKinds kinds = [] {
    IoKinds all;
    for (auto add : {RegisterBuiltinSources, RegisterBuiltinSinks, kafka::RegisterKafka,
                     redis::RegisterRedis, mysql::RegisterMySql}) {
      Status added = add(all);
      if (!added.ok()) {  // two registrations of one kind: a programming error
        std::fprintf(stderr, "sluice: %s\n", added.message().c_str());
        std::abort();
      }
    }
    return all;
  }();
  return kinds;
}

}  // namespace sluice::runtime
