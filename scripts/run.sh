#!/usr/bin/env bash
# run.sh - set up a fresh Debian machine, build libflow (release, jemalloc)
# and run the main job: flowbench's default suite in the default master
# (local[*]), every figure checked against a single-threaded C baseline.
# Arguments go to flowbench (e.g. `run wordcount --size 1g --master local[2]`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf build-release
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DFLOW_BUILD_TESTS=OFF
cmake --build build-release -j "$(nproc)"
exec build-release/flowbench "$@"
