#include "coordinator/checkpoint_store.h"

#include "common/checkpoint_layout.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "coordinator/durable_file.h"

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "SLUICECP";  // 8 bytes, no terminator written
constexpr size_t kMagicSize = 8;
constexpr uint32_t kFormatVersion = 1;
// magic, version (u32), payload length (u64), payload CRC-32 (u32); integers little endian.
constexpr size_t kHeaderSize = kMagicSize + 4 + 8 + 4;

// CRC-32 (IEEE 802.3, the zlib one), to tell a damaged file from a good one.
uint32_t Crc32(const std::string& data) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) crc = kTable[(crc ^ byte) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

uint64_t GetLittleEndian(const std::string& in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return value;
}

std::string Encode(const proto::CheckpointMetadata& metadata) {
  std::string payload = metadata.SerializeAsString();
  std::string out(kMagic, kMagicSize);
  PutLittleEndian(out, kFormatVersion, 4);
  PutLittleEndian(out, payload.size(), 8);
  PutLittleEndian(out, Crc32(payload), 4);
  return out + payload;
}

Result<proto::CheckpointMetadata> Decode(const std::string& bytes, const std::string& path) {
  if (bytes.size() < kMagicSize || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    return Status::InvalidArgument(path + " is not a Sluice checkpoint or savepoint (no " +
                                   "Sluice metadata header)");
  }
  const std::string corrupt = "the checkpoint metadata " + path + " is corrupt: ";
  if (bytes.size() < kHeaderSize) return Status::External(corrupt + "its header is cut short");
  const uint64_t version = GetLittleEndian(bytes, kMagicSize, 4);
  if (version != kFormatVersion) {
    return Status::InvalidArgument("the checkpoint metadata " + path + " has format version " +
                                   std::to_string(version) + "; this Sluice reads version " +
                                   std::to_string(kFormatVersion));
  }
  const uint64_t length = GetLittleEndian(bytes, kMagicSize + 4, 8);
  const uint32_t crc = static_cast<uint32_t>(GetLittleEndian(bytes, kMagicSize + 12, 4));
  if (bytes.size() - kHeaderSize != length) {
    return Status::External(corrupt + "it holds " + std::to_string(bytes.size() - kHeaderSize) +
                            " bytes of metadata, its header says " + std::to_string(length));
  }
  const std::string payload = bytes.substr(kHeaderSize);
  if (Crc32(payload) != crc) return Status::External(corrupt + "its checksum does not match");
  proto::CheckpointMetadata metadata;
  if (!metadata.ParseFromString(payload)) {
    return Status::External(corrupt + "it does not parse as CheckpointMetadata");
  }
  if (metadata.checkpoint_id() == 0) return Status::External(corrupt + "its checkpoint id is 0");
  return metadata;
}

}  // namespace

Status CheckpointStore::BeforeRename(const std::string&, const std::string&) {
  return Status::Ok();
}

Status CheckpointStore::WriteMetadata(const proto::CheckpointMetadata& metadata) {
  const std::string& dir = metadata.directory();
  if (dir.empty()) {
    return Status::InvalidArgument("checkpoint " + std::to_string(metadata.checkpoint_id()) +
                                   " of job " + metadata.job_id() + " has no directory");
  }
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return Status::External("cannot create " + dir + ": " + error.message());
  const std::string path = (fs::path(dir) / kMetadataFile).string();
  if (fs::exists(path, error)) {
    return Status::FailedPrecondition(dir + " already holds a checkpoint (" + path + " exists)");
  }
  return WriteFileDurably(path, Encode(metadata),
                          [this](const std::string& temp, const std::string& target) {
                            return BeforeRename(temp, target);
                          });
}

Result<proto::CheckpointMetadata> CheckpointStore::ReadMetadata(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) {
    return Status::NotFound("no checkpoint or savepoint at " + path + ": it does not exist");
  }
  if (error) return Status::External("cannot look at " + path + ": " + error.message());
  std::string file = path;
  if (fs::is_directory(status)) {
    file = (fs::path(path) / kMetadataFile).string();
    if (!fs::exists(file, error)) {
      return Status::NotFound(path + " is not a completed Sluice checkpoint or savepoint: it has " +
                              "no " + kMetadataFile + " file");
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return FileError("cannot open", file);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return FileError("cannot read", file);
  return Decode(bytes.str(), file);
}

Status CheckpointStore::Delete(const std::string& directory) {
  if (directory.empty() || fs::path(directory).lexically_normal() == "/") {
    return Status::InvalidArgument("refusing to delete the checkpoint directory '" + directory +
                                   "'");
  }
  std::error_code error;
  fs::remove_all(directory, error);
  if (error) return Status::External("cannot delete " + directory + ": " + error.message());
  return Status::Ok();
}

Result<std::optional<proto::CheckpointMetadata>> CheckpointStore::LatestCompleted(
    const std::string& job_dir) {
  std::error_code error;
  if (!fs::exists(job_dir, error) && !error) return std::optional<proto::CheckpointMetadata>();
  fs::directory_iterator it(job_dir, error);
  if (error) return Status::External("cannot list " + job_dir + ": " + error.message());
  std::vector<std::pair<uint64_t, std::string>> candidates;
  for (const fs::directory_entry& entry : it) {
    std::optional<uint64_t> n = ParseCheckpointDirectoryName(entry.path().filename().string());
    if (n && entry.is_directory(error)) candidates.emplace_back(*n, entry.path().string());
  }
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  for (const auto& [n, dir] : candidates) {
    Result<proto::CheckpointMetadata> metadata = ReadMetadata(dir);
    if (metadata.ok()) return std::optional<proto::CheckpointMetadata>(std::move(metadata).value());
    // A checkpoint that failed or was cut short by a crash has no (good) _metadata.
    spdlog::warn("skipping checkpoint {}: {}", dir, metadata.status().message());
  }
  return std::optional<proto::CheckpointMetadata>();
}

}  // namespace sluice::coordinator
