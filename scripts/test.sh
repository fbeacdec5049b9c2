#!/usr/bin/env bash
# test.sh - set up a fresh Debian machine, build libflow from scratch and run
# its test suite. Extra arguments go to cmake's configure step, e.g.
#   scripts/test.sh -DFLOW_SANITIZE=ON
# BUILD_DIR picks the build folder (default: build, removed first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${BUILD_DIR:-build}
rm -rf "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
