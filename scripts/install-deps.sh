#!/usr/bin/env bash
# Installs what Sluice needs to build and test: Debian packages, V8 (from Debian's libnode,
# extracted into .deps/ because the machine's Node.js conflicts with libnode-dev) and the npm
# packages of the SDK. Idempotent: a second run with everything present takes about a second.
# `scripts/install-deps.sh deploy` also installs what deploy/ and its tests need (mmdebstrap,
# buildah, docker-compose, the npm packages of tests/deploy); the deploy tests call it.
set -euo pipefail
mode="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libuv1-dev libssl-dev libicu72 libc-ares2 libbrotli1 libnghttp2-14 zlib1g
  librocksdb-dev librdkafka-dev libhiredis-dev libmysqlcppconn-dev
  redis-server mariadb-server etcd-server etcd-client
  nodejs
  chromium
  iproute2
)
if [ "$mode" = deploy ]; then
  packages+=(mmdebstrap buildah docker-compose uidmap)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# V8 10.2 from Debian's libnode108/libnode-dev, extracted project-locally.
libnode_dir="$root/.deps/libnode"
if [ ! -f "$libnode_dir/usr/lib/x86_64-linux-gnu/libnode.so.108" ] || \
   [ ! -f "$libnode_dir/usr/include/node/v8.h" ]; then
  echo "install-deps: extracting libnode108 and libnode-dev into .deps/libnode" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download libnode108 libnode-dev >&2) || {
    $sudo_cmd apt-get update -qq
    (cd "$tmp" && apt-get download libnode108 libnode-dev >&2)
  }
  mkdir -p "$libnode_dir"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$libnode_dir"; done
  rm -rf "$tmp"
  ln -sf libnode.so.108 "$libnode_dir/usr/lib/x86_64-linux-gnu/libnode.so"
fi

# npm packages of the SDK (TypeScript compiler, esbuild).
if [ -f sdk-ts/package-lock.json ]; then
  stamp=sdk-ts/node_modules/.sluice-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s sdk-ts/package-lock.json "$stamp"; then
    echo "install-deps: npm ci in sdk-ts" >&2
    (cd sdk-ts && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp sdk-ts/package-lock.json "$stamp"
  fi
fi

# npm packages of the playground (CodeMirror, esbuild-wasm; playwright-core drives Debian's
# chromium in the browser tests: never a browser download).
if [ -f playground/package-lock.json ]; then
  stamp=playground/node_modules/.sluice-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s playground/package-lock.json "$stamp"; then
    echo "install-deps: npm ci in playground" >&2
    (cd playground && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
    cp playground/package-lock.json "$stamp"
  fi
fi

if [ "$mode" = deploy ]; then
  # Offline validation of deploy/kubernetes (kubernetes-models, yaml).
  stamp=tests/deploy/node_modules/.sluice-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s tests/deploy/package-lock.json "$stamp"; then
    echo "install-deps: npm ci in tests/deploy" >&2
    (cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp tests/deploy/package-lock.json "$stamp"
  fi
  # kubectl (for `kubectl kustomize`) is not in Debian 12 in a version with kustomize v3+;
  # machines of this project's kind come with it.
  command -v kubectl >/dev/null || echo "install-deps: kubectl is missing: the Kubernetes manifest test needs it" >&2
fi
