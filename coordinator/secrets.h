#pragma once

#include <string>

#include "sluice/job.pb.h"

namespace sluice::coordinator {

// What stands in for a secret in anything the coordinator writes or shows.
inline constexpr char kRedacted[] = "[redacted]";

// Whether a config or params key names a secret: it contains "password", "secret" or "token"
// (any case) and is not a reference to one (…Env, …File: the name of a variable or a file).
bool IsSecretKey(const std::string& key);

// `json` (a config_json or params_json object) with every string value under a secret key,
// at any depth, replaced by kRedacted. Text that is not JSON comes back as is.
std::string RedactJson(const std::string& json);

// The spec with its operators' configs and its params redacted: what job records and
// checkpoint metadata keep on disk. Pure; the spec deployed to workers keeps its secrets.
proto::JobSpec RedactSecrets(proto::JobSpec spec);

}  // namespace sluice::coordinator
