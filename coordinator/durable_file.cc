#include "coordinator/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice::coordinator {
namespace {

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError("cannot write", path);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The temp file's contents are written and synced; it is closed whatever happens.
Status WriteTempFile(const std::string& temp, const std::string& contents) {
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileError("cannot create", temp);
  Status written = ::fchmod(fd, 0600) == 0 ? Status::Ok() : FileError("cannot chmod", temp);
  if (written.ok()) written = WriteAll(fd, contents, temp);
  if (written.ok() && ::fsync(fd) != 0) written = FileError("cannot fsync", temp);
  if (::close(fd) != 0 && written.ok()) written = FileError("cannot close", temp);
  return written;
}

Status FsyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return FileError("cannot fsync", path);
  return Status::Ok();
}

}  // namespace

Status FileError(const std::string& what, const std::string& path) {
  return Status::External(what + " " + path + ": " + std::strerror(errno));
}

Status WriteFileDurably(const std::string& path, const std::string& contents,
                        const BeforeRenameHook& before_rename) {
  const std::filesystem::path target(path);
  const std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  const std::string temp =
      (target.parent_path() / ("." + target.filename().string() + ".tmp")).string();
  Status written = WriteTempFile(temp, contents);
  if (written.ok() && before_rename) written = before_rename(temp, path);
  if (written.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = FileError("cannot rename " + temp + " to", path);
  }
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written;
  }
  // The rename is durable only once the directory's entry is.
  return FsyncDirectory(dir);
}

}  // namespace sluice::coordinator
