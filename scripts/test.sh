#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test (C++ unit
# tests, SDK tests, end-to-end suites) through ctest, whose summary ends the output.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
cd "${SLUICE_BUILD_DIR:-$root/build}"
ctest -j2 --output-on-failure --timeout 600 "$@"
