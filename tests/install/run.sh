#!/usr/bin/env bash
# run.sh SRC BUILD [SANITIZE] - install libflow from BUILD into a temporary
# prefix, then build and run an outside program against it twice: once with
# pkg-config, once with CMake's find_package(libflow).
set -euo pipefail
src=$1 build=$2 sanitize=${3:-OFF}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

flags=()
if [ "$sanitize" = ON ]; then
    flags=(-fsanitize=address,undefined)
fi

pc=$(dirname "$(find "$prefix" -name libflow.pc | head -n 1)")
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir libflow)
echo "install: pkg-config build"
gcc -std=c11 -Wall -Wextra -Werror "${flags[@]}" -o "$work/hello-pc" \
    "$src/tests/install/hello.c" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs libflow) \
    -Wl,-rpath,"$libdir"
"$work/hello-pc"

echo "install: CMake find_package build"
cmake -S "$src/tests/install" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="${flags[*]:-}" -DCMAKE_BUILD_RPATH="$libdir" > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/cmake-build.log"
"$work/cmake-build/hello"
echo "install: both builds ran"
