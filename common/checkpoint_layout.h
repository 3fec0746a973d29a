#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace sluice {

// Where a checkpoint's parts go, in one place for the coordinator (which triggers, persists,
// finds and deletes checkpoints) and the workers (which write their tasks' snapshots):
//   <checkpoint dir>/<job id>/chk-<n>/_metadata              (the coordinator)
//   <checkpoint dir>/<job id>/chk-<n>/<task file name>/...   (each task: state/, sink/)

// "chk-<n>", checkpoint n's directory name.
std::string CheckpointDirectoryName(uint64_t checkpoint);
// The n of a directory named chk-<n>, nullopt for any other name.
std::optional<uint64_t> ParseCheckpointDirectoryName(std::string_view name);
// Checkpoint n's directory inside a job's checkpoint directory.
std::string CheckpointDirectory(const std::string& job_directory, uint64_t checkpoint);
// A task id as a file name ('/' and '#' → '_'): its folder in a checkpoint and its state
// directory on the worker.
std::string TaskFileName(const TaskId& task);

}  // namespace sluice
