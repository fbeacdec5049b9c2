#!/usr/bin/env bash
# setup.sh - install the Debian packages libflow needs to build and test.
# Idempotent: when every package is already installed it changes nothing and
# touches no network. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libzmq3-dev libcjson-dev liblz4-dev libjemalloc-dev libxxhash-dev check
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
