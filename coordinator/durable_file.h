#pragma once

#include <functional>
#include <string>

#include "common/status.h"

namespace sluice::coordinator {

// "<what> <path>: <strerror(errno)>" as an External status.
Status FileError(const std::string& what, const std::string& path);

// Called with (temp, path) once the temp file is written and synced, before the rename.
using BeforeRenameHook = std::function<Status(const std::string& temp, const std::string& path)>;

// Replaces `path` with `contents` so that a crash leaves either the old file or the new one:
// writes and fsyncs `<dir>/.<name>.tmp`, renames it over `path`, then fsyncs the directory.
// On failure the temp file is removed and `path` is as it was.
Status WriteFileDurably(const std::string& path, const std::string& contents,
                        const BeforeRenameHook& before_rename = nullptr);

}  // namespace sluice::coordinator
