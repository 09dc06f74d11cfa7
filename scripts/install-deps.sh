#!/usr/bin/env bash
# Installs (with apt) exactly what the build, tests and tools need.
# Idempotent: does nothing when every package is present.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds benchmark peers)
set -euo pipefail

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

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

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
