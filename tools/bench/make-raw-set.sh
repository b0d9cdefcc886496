#!/usr/bin/env bash
# "Raw download" videos for the prep benchmark: Debian python3-imageio's
# cockatoo.mp4 (1280x720 H.264 4:4:4, 280 frames) and realshort.mp4 (320x240),
# plus cockatoo re-cut as a raw camera/YouTube file would be (720p 4:2:0 with
# x264's default 250-frame GOP, a 640x360 MPEG-4 AVI, 5 s segments), in two
# class folders.
#   tools/bench/make-raw-set.sh [OUT]       (default bench-data/raw)
set -euo pipefail
out=${1:-bench-data/raw}
src=$("$(dirname "$0")/imageio-clips.sh")
mkdir -p "$out/bird" "$out/street"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
[ -f "$out/bird/cockatoo.mp4" ] || cp "$src/cockatoo.mp4" "$out/bird/cockatoo.mp4"
[ -f "$out/street/realshort.mp4" ] || cp "$src/realshort.mp4" "$out/street/realshort.mp4"
[ -f "$out/bird/cockatoo_420.mp4" ] || ff -i "$src/cockatoo.mp4" -c:v libx264 -preset fast -pix_fmt yuv420p -an "$out/bird/cockatoo_420.mp4"
[ -f "$out/bird/cockatoo_360.avi" ] || ff -i "$src/cockatoo.mp4" -vf scale=640:360 -c:v mpeg4 -q:v 3 -an "$out/bird/cockatoo_360.avi"
for s in 0 4; do
    f="$out/street/cockatoo_seg$s.mp4"
    [ -f "$f" ] || ff -i "$src/cockatoo.mp4" -ss $s -t 4 -c:v libx264 -preset fast -pix_fmt yuv420p -an "$f"
done
find "$out" -type f | sort
