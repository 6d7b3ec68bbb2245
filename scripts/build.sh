#!/bin/bash
# Builds anet into build/ (and, with --sanitize, an ASan+UBSan build into
# build-asan/).  Usage: scripts/build.sh [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
args=()
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  args=(-DANET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
