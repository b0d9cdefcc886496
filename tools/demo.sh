#!/usr/bin/env bash
# The demo until training lands: probe a fixture and extract frames from it,
# saying what was done. Output goes to demo-out/.
set -euo pipefail
bin=$(swift build -c release --show-bin-path)/clipkit
out=demo-out
mkdir -p "$out"
video=Fixtures/h264_bframes.mp4
echo "== clipkit probe $video"
"$bin" probe "$video"
echo
echo "== clipkit frames $video --indices 49,0,13,13 --short-side 96"
"$bin" frames "$video" --indices 49,0,13,13 --short-side 96 > "$out/frames.rgb"
bytes=$(stat -c %s "$out/frames.rgb")
echo "wrote $out/frames.rgb: $bytes bytes = 4 frames of 128x96 rgb24"
if command -v ffmpeg >/dev/null; then
    ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 -s 128x96 -i "$out/frames.rgb" \
        -vf tile=4x1 -frames:v 1 "$out/frames.png"
    echo "wrote $out/frames.png: the four frames side by side"
fi
echo
echo "== a broken input: clipkit probe Fixtures/truncated.mp4"
"$bin" probe Fixtures/truncated.mp4 || echo "(exit status $?, as expected)"
