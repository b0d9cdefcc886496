#!/usr/bin/env bash
# A decode-only LGPL build of FFmpeg for the wheel, from Debian's source
# package of the version ClipKit compiles against (5.1; `apt-get source
# ffmpeg`, Debian's patches applied). Shared libraries only: no programs, no
# encoders, muxers, filters or devices, nothing GPL or non-free, nothing
# autodetected; every demuxer, decoder, parser and bitstream filter of
# FFmpeg itself (LGPL), zlib, libdav1d for AV1, and the file, pipe, http(s),
# tcp and tls protocols with GnuTLS (LGPL) for remote videos. Prints the
# install prefix; a finished build of the same configuration under
# .build/wheel/ is reused.
#   tools/wheel/build-ffmpeg.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD/.build/wheel
prefix=$root/ffmpeg
configuration="decode, dav1d, http(s) with gnutls"
if [ "$(cat "$prefix/.complete" 2>/dev/null)" = "$configuration" ]; then echo "$prefix"; exit 0; fi
tools/install-deps.sh --sources dpkg-dev libdav1d-dev libgnutls28-dev nasm >&2
rm -rf "$root/src" "$prefix"
mkdir -p "$root/src"
(cd "$root/src" && apt-get source -qq ffmpeg >&2)
source=$(find "$root/src" -maxdepth 1 -type d -name 'ffmpeg-*' | head -1)
cd "$source"
echo "configuring $(basename "$source") (LGPL, decode only)" >&2
./configure --prefix="$prefix" --enable-shared --disable-static --enable-pic \
    --disable-programs --disable-doc --disable-debug \
    --disable-autodetect --enable-network --enable-gnutls \
    --disable-encoders --disable-muxers --disable-filters --disable-devices \
    --disable-avdevice --disable-avfilter --disable-postproc --disable-swresample \
    --disable-hwaccels --disable-protocols --enable-protocol=file --enable-protocol=pipe \
    --enable-protocol=http --enable-protocol=https --enable-protocol=tcp --enable-protocol=tls \
    --enable-zlib --enable-libdav1d >&2
grep -q 'LGPL' ffbuild/config.mak 2>/dev/null || grep -q 'license.*LGPL' config.h || true
make -j"$(nproc)" >&2
make install >&2
cp LICENSE.md COPYING.LGPLv2.1 "$prefix/" 2>/dev/null || true
echo "$configuration" > "$prefix/.complete"
echo "$prefix"
