#!/usr/bin/env bash
# Long-GOP videos for the shard and http benchmark (issue 30): 8 videos of
# 1,680 frames (84 s at 20 fps: Debian python3-imageio's cockatoo looped
# from 8 starting points, every other one mirrored), short side 256,
# H.264 with a keyframe every 250 frames exactly (no scene-cut keyframes),
# moov first, in class folders; their manifest with the frame index, and
# tar shards of them (`prep shards`, 8 MB each).
#   tools/bench/make-shard-set.sh CLIPKIT [OUT]      (default bench-data/shards-set/)
set -euo pipefail
clipkit=$1
out=${2:-bench-data/shards-set}
src=$("$(dirname "$0")/imageio-clips.sh")
mkdir -p "$out/src/a" "$out/src/b"
for i in 0 1 2 3 4 5 6 7; do
    f="$out/src/$([ $((i % 2)) = 0 ] && echo a || echo b)/v$i.mp4"
    flip=$([ $((i / 2 % 2)) = 1 ] && echo ",hflip" || echo "")
    [ -f "$f" ] || ffmpeg -hide_banner -loglevel error -y -stream_loop 6 -i "$src/cockatoo.mp4" -frames:v 1680 \
        -vf "trim=start_frame=$((i * 31)),setpts=PTS-STARTPTS,scale=-2:256$flip" -c:v libx264 -preset veryfast -crf 23 \
        -g 250 -keyint_min 250 -sc_threshold 0 -pix_fmt yuv420p -an -movflags +faststart "$f.tmp.mp4"
    [ -f "$f" ] || mv "$f.tmp.mp4" "$f"
done
[ -f "$out/files.csv" ] || "$clipkit" prep index "$out/src" --layout folders --probe -o "$out/files.csv" >/dev/null
[ -f "$out/shards/manifest.csv" ] || "$clipkit" prep shards "$out/files.csv" "$out/shards" --shard-size 8MB --quiet >/dev/null
echo "$out"
