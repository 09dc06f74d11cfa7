#!/usr/bin/env bash
# Installs (with apt) exactly what the build, tests and tools need.
# Idempotent: does nothing when every package is present.
# Usage: scripts/install-deps.sh [--bench | --compat | --fuzz]
#   --bench   adds benchmark peers (redis-server, CAF)
#   --fuzz    adds clang and its libFuzzer runtime (make fuzz)
#   --compat  adds Node.js and the Redis client libraries the compatibility
#             tests use (tests/compat: npm ci from its package-lock.json)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake make pkg-config
  libasio-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libedit-dev libabsl-dev
  libssl-dev zlib1g-dev
  clang-format redis-tools tmux python3 python3-redis
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(redis-server libcaf-dev)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang)
  # libFuzzer comes with clang's runtime package, named after its major
  # version (libclang-rt-14-dev on Debian 12), which clang only recommends.
  if command -v clang >/dev/null 2>&1; then
    major=$(clang -dumpversion | cut -d. -f1)
    packages+=("libclang-rt-${major}-dev")
  fi
fi
# Node.js may come from Debian (nodejs, npm) or be there already from
# elsewhere with its own npm: only a missing command asks apt for them.
if [[ "${1:-}" == "--compat" ]]; then
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

# The Node packages of tests/compat, exactly as locked; again only when
# the lock changed since the last install. Without the npm registry the
# compatibility test runs without them (and says so).
install_compat() {
  local lock=tests/compat/package-lock.json
  local stamp=tests/compat/node_modules/.package-lock.json
  if [[ -f $stamp && ! $lock -nt $stamp ]]; then return 0; fi
  echo "install-deps: npm ci in tests/compat"
  if ! (cd tests/compat && timeout 300 npm ci --no-audit --no-fund \
    --loglevel=error); then
    echo "install-deps: npm ci failed (is the npm registry reachable?);" \
      "the compatibility test will skip the Node clients" >&2
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  [[ "${1:-}" == "--compat" ]] && install_compat
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: not root and no sudo; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
[[ "${1:-}" == "--compat" ]] && install_compat
# Now that clang is there, its runtime (see --fuzz above).
if [[ "${1:-}" == "--fuzz" ]] && ! clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a" | grep -q /; then
  exec bash "$0" --fuzz
fi
exit 0
