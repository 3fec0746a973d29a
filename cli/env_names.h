#pragma once

#include <CLI/CLI.hpp>

namespace sluice::cli {

// Lets every long option of every subcommand come from the environment, as containers expect:
// --metrics-listen from SLUICE_METRICS_LISTEN, --advertise from SLUICE_ADVERTISE, and so on.
// A flag given on the command line wins over the environment. Call once, after every option is
// declared and before parsing.
void AddEnvironmentNames(CLI::App& app);

}  // namespace sluice::cli
