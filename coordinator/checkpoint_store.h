#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "sluice/checkpoint.pb.h"

namespace sluice::coordinator {

// The name of a completed checkpoint's (or savepoint's) metadata file inside its directory.
inline constexpr char kMetadataFile[] = "_metadata";

// Checkpoint metadata on the file system: `<checkpoint dir>/_metadata` holds a header (the magic
// "SLUICECP", a format version, the payload's length and CRC-32) and the CheckpointMetadata as
// binary protobuf; the header tells a Sluice checkpoint from any other file and a damaged one
// from a good one. Stateless apart from the files; one per coordinator process, created by the
// binary's wiring code and called under the coordinator's lock. Every error names its path.
// Methods are virtual so that tests of callers can inject failures.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  // Writes `<metadata.directory()>/_metadata` atomically: a temp file in the same directory,
  // fsync, rename, fsync of the directory, so a reader sees no file or the whole file. Creates
  // the directory if needed; FailedPrecondition when it already holds a _metadata (a checkpoint
  // is never overwritten), InvalidArgument when the directory is "".
  [[nodiscard]] virtual Status WriteMetadata(const proto::CheckpointMetadata& metadata);

  // Reads a checkpoint's metadata from its directory, or from the _metadata file itself.
  // NotFound when the path or the directory's _metadata does not exist, InvalidArgument when
  // the file is not Sluice checkpoint metadata, External when it cannot be read or is corrupt.
  [[nodiscard]] virtual Result<proto::CheckpointMetadata> ReadMetadata(const std::string& path);

  // Deletes a checkpoint directory and all in it; a missing directory is fine.
  [[nodiscard]] virtual Status Delete(const std::string& directory);

  // The completed checkpoint with the highest n among `<job_dir>/chk-<n>` whose _metadata reads
  // back (those that do not are skipped with a warning), nullopt when none does or job_dir does
  // not exist. External when job_dir cannot be listed.
  [[nodiscard]] virtual Result<std::optional<proto::CheckpointMetadata>> LatestCompleted(
      const std::string& job_dir);

 protected:
  // Called by WriteMetadata once the temp file is written and synced, before it is renamed to
  // `final_path`; an error aborts the write (the temp file is removed). A sync point for tests
  // (to look at the directory mid-write, or to simulate a crash); does nothing in production.
  [[nodiscard]] virtual Status BeforeRename(const std::string& temp_path,
                                            const std::string& final_path);
};

}  // namespace sluice::coordinator
