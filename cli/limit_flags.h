#pragma once

#include <CLI/CLI.hpp>

#include "cli/limit_options.h"

namespace sluice::cli {

// Adds the cluster's maxima to `command` (run, coordinator, worker, cluster) and, with
// `paths`, --allow-path; `allow_default` says what no --allow-path means there.
inline void AddLimitFlags(CLI::App* command, LimitOptions* options, bool paths,
                          const char* allow_default) {
  ClusterLimits& limits = options->limits;
  command->add_option("--max-heap-mb", limits.max_heap_mb,
                      "Largest heapLimitMb a job may ask for (its tasks' JS heap; their "
                      "ArrayBuffers may take as much again)")
      ->default_val(limits.max_heap_mb)
      ->check(CLI::Range(kMinHeapLimitMb, 1u << 20));
  command->add_option("--max-call-timeout-ms", limits.max_call_timeout_ms,
                      "Largest callTimeout a job may ask for, in milliseconds")
      ->default_val(limits.max_call_timeout_ms)
      ->check(CLI::PositiveNumber);
  command->add_option("--max-record-bytes", limits.max_record_bytes,
                      "Longest JSON of one record a task sends to a sink")
      ->default_val(limits.max_record_bytes)
      ->check(CLI::PositiveNumber);
  command->add_option("--max-line-bytes", limits.max_line_bytes,
                      "Longest line a file source reads, and longest message a Kafka source "
                      "takes (a longer one fails the job, naming the file or partition and "
                      "offset)")
      ->default_val(limits.max_line_bytes)
      ->check(CLI::PositiveNumber);
  if (paths) {
    command->add_option("--allow-path", options->allow_paths,
                        std::string("A folder below which jobs' file sources and sinks may read "
                                    "and write (repeatable; `..` and symbolic links are resolved "
                                    "first). Default: ") +
                            allow_default);
  }
}

}  // namespace sluice::cli
