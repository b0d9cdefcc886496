#!/usr/bin/env bash
# Real footage for benchmarks: Debian python3-imageio's cockatoo.mp4 (1280x720,
# H.264 4:4:4, 280 frames) and realshort.mp4 (320x240, 36 frames), transcoded to
# short side 256, H.264 yuv420p, as `prep resize` makes them (GOP 16), plus the
# cockatoo at x264's default GOP and in trimmed segments.
#   tools/bench/make-bench-set.sh [OUT]       (default bench-data/)
set -euo pipefail
out=${1:-bench-data}
src=$("$(dirname "$0")/imageio-clips.sh")
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
x264="-c:v libx264 -preset medium -crf 23 -pix_fmt yuv420p -threads 2"
[ -f "$out/cockatoo_256_g16.mp4" ] || ff -i "$src/cockatoo.mp4" -vf scale=-2:256 $x264 -g 16 -keyint_min 16 -an "$out/cockatoo_256_g16.mp4"
[ -f "$out/cockatoo_256_g250.mp4" ] || ff -i "$src/cockatoo.mp4" -vf scale=-2:256 $x264 -an "$out/cockatoo_256_g250.mp4"
[ -f "$out/realshort_256_g16.mp4" ] || ff -i "$src/realshort.mp4" -vf scale=-2:256 $x264 -g 16 -keyint_min 16 -an "$out/realshort_256_g16.mp4"
[ -f "$out/realshort_256_g250.mp4" ] || ff -i "$src/realshort.mp4" -vf scale=-2:256 $x264 -an "$out/realshort_256_g250.mp4"
for s in 0 3 6; do
    f="$out/cockatoo_256_g16_seg$s.mp4"
    [ -f "$f" ] || ff -i "$src/cockatoo.mp4" -ss $s -t 5 -vf scale=-2:256 $x264 -g 16 -keyint_min 16 -an "$f"
    # The raw long-GOP set: x264's default GOP (250), as downloaded videos are.
    f="$out/cockatoo_256_g250_seg$s.mp4"
    [ -f "$f" ] || ff -i "$src/cockatoo.mp4" -ss $s -t 5 -vf scale=-2:256 $x264 -an "$f"
done
ls "$out"/*.mp4
