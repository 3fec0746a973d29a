#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/kafka/kafka_config.h"

namespace sluice::kafka {

// A Kafka source's position in a checkpoint (SourceDriver::Position): the offset of the next
// record to read in each partition, as
//   {"offsets": [{"topic": "t", "partition": 0, "offset": 42}, ...]}
std::string PositionJson(const PartitionOffsets& offsets);

// The offsets of every old subtask's position merged: a restored subtask takes those of the
// partitions it is assigned now, whatever subtask read them before. Should two positions name
// one partition (a subtask that had not connected yet reports the offsets it was restored
// from), the greater offset wins: only the reader of a partition moves its offset on. A user
// error naming `operator_label` when a position is malformed.
Result<PartitionOffsets> MergePositions(const std::vector<std::string>& positions,
                                        const std::string& operator_label);

}  // namespace sluice::kafka
