#!/usr/bin/env bash
# Installs what is missing, then builds the C++ tree (build/, Ninja, ccache), the SDK and the
# playground page.
# Usage: scripts/build.sh [cmake options...]   e.g. -DSLUICE_SANITIZE=ON
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/install-deps.sh"

# ccache keys on paths relative to the checkout, so clones and worktrees share one cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR=1
build_dir="${SLUICE_BUILD_DIR:-$root/build}"
if [ ! -f "$build_dir/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja "$@" >/dev/null
fi
ninja -C "$build_dir" -j "${SLUICE_JOBS:-$(nproc)}" --quiet

(cd sdk-ts && npm run --silent build >&2)
# The playground page, beside the binaries (build/playground), served by the coordinator.
node playground/build.mjs --out "$build_dir/playground" >&2
