#!/usr/bin/env bash
# run.sh - set up a fresh Debian machine, build libflow (release, jemalloc)
# and run the main job: until flowbench exists, a text_file + filter + count
# job (examples/grep) over generated text, in the default master (local[*]).
#   SIZE   input size (default 256m; k, m, g suffixes)
#   MASTER master URL (default: libflow's default, local[*])
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf build-release
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DFLOW_BUILD_TESTS=OFF
cmake --build build-release -j "$(nproc)"
size=${SIZE:-256m}
mkdir -p data
input=data/text-$size.txt
if [ ! -s "$input" ]; then
    echo "run: generating $input"
    build-release/gentext "$size" "$input"
fi
args=(--runs 5)
if [ -n "${MASTER:-}" ]; then
    args+=(--master "$MASTER")
fi
echo "run: lines containing 'needle' in $input"
build-release/grep "${args[@]}" needle "$input"
