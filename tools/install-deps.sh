#!/usr/bin/env bash
# Installs the Debian packages ClipKit builds and tests with, if any are missing.
#   tools/install-deps.sh [extra-package ...]
#   tools/install-deps.sh --sources [extra-package ...]   also adds Debian's deb-src entries
#                                                          (`apt-get source ffmpeg`, for the wheel)
set -euo pipefail
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ "${1:-}" = "--sources" ]; then
    shift
    list=/etc/apt/sources.list.d/clipkit-src.sources
    if [ ! -f "$list" ]; then
        echo "adding Debian's source entries ($list)"
        $sudo tee "$list" >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
        $sudo apt-get update -qq
    fi
fi
packages=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libopenblas-dev pkg-config ffmpeg zlib1g-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev nginx-light openssl curl "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
