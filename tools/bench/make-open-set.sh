#!/usr/bin/env bash
# Files for the open-time benchmark (bench_open.py), from Debian
# python3-imageio's cockatoo.mp4 (real footage, 1280x720, 280 frames): the
# formats whose frame index takes a decoding scan, each with an H.264 MP4
# re-encode of the same frames at the same size to compare with.
#   xvid_240.avi     Xvid with B-frames (packed), 320x240, as UCF101/HMDB51 ship
#   xvid_1080.avi    the same at 1920x1080, 103 frames, as NTU RGB+D's samples
#   h264_720.ts      H.264 with B-frames in MPEG-TS, 1280x720
#   <name>.mp4       libx264 re-encode of <name>'s decoded frames
#   tools/bench/make-open-set.sh [OUT]       (default bench-data/open)
set -euo pipefail
out=${1:-bench-data/open}
src=$("$(dirname "$0")/imageio-clips.sh")
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
in="$src/cockatoo.mp4"
[ -f "$out/xvid_240.avi" ] || ff -i "$in" -vf scale=320:240 -c:v libxvid -bf 2 -g 250 -q:v 4 -vtag XVID -an "$out/xvid_240.avi"
[ -f "$out/xvid_1080.avi" ] || ff -i "$in" -frames:v 103 -vf scale=1920:1080 -c:v libxvid -bf 2 -g 250 -q:v 4 -vtag XVID -an "$out/xvid_1080.avi"
[ -f "$out/h264_720.ts" ] || ff -i "$in" -c:v libx264 -preset fast -bf 3 -pix_fmt yuv420p -an "$out/h264_720.ts"
for f in xvid_240 xvid_1080 h264_720; do
    src_file=$(ls "$out/$f".* | grep -v '\.mp4$' | head -1)
    [ -f "$out/$f.mp4" ] || ff -i "$src_file" -c:v libx264 -preset fast -pix_fmt yuv420p -an "$out/$f.mp4"
done
ls "$out"
