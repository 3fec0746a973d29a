#!/usr/bin/env bash
# Builds Sluice's one OCI image (coordinator, worker and CLI) without a Docker daemon and without
# pulling a base image: Debian's mmdebstrap makes a Debian 12 root file system holding only the
# runtime packages the `sluice` binary links against (found with ldd and dpkg -S), plus Node.js
# to compile TypeScript job files; buildah (vfs storage, chroot isolation) adds the binary, the
# SDK and the examples on top and writes an OCI archive. Runs as root.
#
# Usage: deploy/build-image.sh [--output FILE] [--tag NAME]
#   FILE defaults to build/image/sluice-image.oci.tar; NAME to localhost/sluice:latest.
# Needs: scripts/build.sh first; mmdebstrap and buildah (scripts/install-deps.sh deploy).
# The root file system is kept in build/image/ and reused while the package list is the same.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SLUICE_BUILD_DIR:-$root/build}"
output="$build_dir/image/sluice-image.oci.tar"
tag="localhost/sluice:latest"
while [ $# -gt 0 ]; do
  case "$1" in
    --output) output="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    *) echo "build-image: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
binary="$build_dir/cli/sluice"
[ -x "$binary" ] || { echo "build-image: $binary is missing; run scripts/build.sh first" >&2; exit 2; }
[ -f "$root/sdk-ts/dist/index.js" ] || { echo "build-image: the SDK is not built; run scripts/build.sh" >&2; exit 2; }
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (scripts/install-deps.sh deploy)" >&2; exit 2; }
done
mkdir -p "$build_dir/image" "$(dirname "$output")"

# The Debian packages that hold the libraries the binary loads; V8 comes from libnode108 (the
# build uses a copy extracted into .deps/, the image the package itself).
packages=(libnode108 nodejs ca-certificates)
mapfile -t libs < <(ldd "$binary" | awk '$3 ~ /^\// && $3 !~ /\/\.deps\// { print $3 }')
# One dpkg-query for all of them (it is slow); a library is found by its path or its target.
paths=()
for lib in "${libs[@]}"; do paths+=("$lib" "$(readlink -f "$lib")"); done
owners="$(dpkg -S "${paths[@]}" 2>/dev/null || true)"
for lib in "${libs[@]}"; do
  pkg="$(printf '%s\n' "$owners" | awk -v a="$lib" -v b="$(readlink -f "$lib")" \
    '{ p = $0; sub(/: .*/, "", p); f = $0; sub(/^[^:]*(:[a-z0-9]+)?: /, "", f) }
     f == a || f == b { print p; exit }')"
  [ -n "$pkg" ] || { echo "build-image: no Debian package holds $lib" >&2; exit 1; }
  packages+=("${pkg%%:*}")
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
# The cache key: the package list and how the root file system is made (bump on change).
recipe="essential, merged-usr hook, no recommends, no docs; user 10001"
key="$(printf '%s\n' "$recipe" "${packages[@]}" | sha256sum | cut -c1-12)"
rootfs="$build_dir/image/rootfs-$key.tar"

if [ ! -f "$rootfs" ]; then
  echo "build-image: mmdebstrap: Debian 12 with ${#packages[@]} runtime packages" >&2
  # The machine's own Debian sources, when it has them; else mmdebstrap's default mirror.
  mirror=()
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=(/etc/apt/sources.list.d/debian.sources)
  fi
  include="$(IFS=,; echo "${packages[*]}")"
  mmdebstrap --variant=essential --format=tar --include="$include" \
    --aptopt='APT::Install-Recommends "false"' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='echo "sluice:x:10001:10001:Sluice:/var/lib/sluice:/usr/sbin/nologin" >> "$1/etc/passwd"' \
    --customize-hook='echo "sluice:x:10001:" >> "$1/etc/group"' \
    --customize-hook='mkdir -p "$1/var/lib/sluice" "$1/checkpoints" && chown 10001:10001 "$1/var/lib/sluice" "$1/checkpoints"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
    bookworm "$rootfs.partial" "${mirror[@]}" >&2
  mv "$rootfs.partial" "$rootfs"
fi

# What goes on top: the stripped binary, the SDK with its production dependencies only, and the
# examples.
stage="$(mktemp -d)"
store="$(mktemp -d)"
cleanup() {
  buildah --root "$store/root" --runroot "$store/run" --storage-driver=vfs rm --all >/dev/null 2>&1 || true
  rm -rf "$stage" "$store"
}
trap cleanup EXIT
ln "$rootfs" "$stage/rootfs.tar" 2>/dev/null || cp "$rootfs" "$stage/rootfs.tar"
strip --strip-unneeded -o "$stage/sluice" "$binary"
mkdir -p "$stage/sdk"
cp -r "$root/sdk-ts/package.json" "$root/sdk-ts/package-lock.json" "$root/sdk-ts/dist" \
  "$root/sdk-ts/proto" "$stage/sdk/"
(cd "$stage/sdk" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
cp -r "$root/examples" "$stage/examples"
cp "$root/deploy/Containerfile" "$stage/Containerfile"

echo "build-image: buildah bud (vfs, chroot isolation)" >&2
buildah --root "$store/root" --runroot "$store/run" --storage-driver=vfs bud --isolation=chroot \
  --quiet --layers=false -f "$stage/Containerfile" -t "$tag" "$stage" >&2
rm -f "$output"
buildah --root "$store/root" --runroot "$store/run" --storage-driver=vfs push --quiet "$tag" \
  "oci-archive:$output:$tag" >&2

archive_mb=$(( $(stat -c %s "$output") / 1024 / 1024 ))
unpacked_mb=$(( ($(tar -tvf "$rootfs" | awk '{ s += $3 } END { print s }') + $(du -sb "$stage" | cut -f1) \
  - $(stat -c %s "$stage/rootfs.tar")) / 1024 / 1024 ))
echo "image $tag: $output ($archive_mb MiB compressed, about $unpacked_mb MiB unpacked)"
