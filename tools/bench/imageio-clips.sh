#!/usr/bin/env bash
# Prints the folder that holds Debian python3-imageio's real clips
# (cockatoo.mp4, realshort.mp4): the installed package's, else the package
# downloaded and unpacked into a temporary folder (no install needed).
set -euo pipefail
src=/usr/lib/python3/dist-packages/imageio/resources/images
if [ ! -f "$src/cockatoo.mp4" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download python3-imageio >/dev/null 2>&1 && dpkg -x python3-imageio_*.deb x)
    src="$tmp/x/usr/lib/python3/dist-packages/imageio/resources/images"
fi
echo "$src"
