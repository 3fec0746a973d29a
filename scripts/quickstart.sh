#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the example job
# examples/words on the embedded local cluster, printing its results.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root/examples/words"
exec "${SLUICE_BUILD_DIR:-$root/build}/cli/sluice" run job.ts "$@"
