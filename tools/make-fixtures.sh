#!/usr/bin/env bash
# Makes the small deterministic test videos in Fixtures/ from ffmpeg's lavfi
# sources, the broken inputs, and the reference frames that the ffmpeg CLI
# decodes for chosen indices. Writes Fixtures/expected.json, which the tests read.
#
#   tools/make-fixtures.sh [OUT_DIR]      (default: Fixtures)
#
# Everything is deterministic for a given ffmpeg build (single-threaded encoders,
# fixed seeds), so re-running it on the same machine gives the same files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-Fixtures}
mkdir -p "$out/ref"
cd "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
enc="-threads 1 -fflags +bitexact -map_metadata -1"

# --- Decodable videos -------------------------------------------------------
# H.264 with B-frames, short GOP (keyframes every 12 frames, no scene cuts).
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=2 $enc \
   -c:v libx264 -preset fast -bf 2 -g 12 -keyint_min 12 -sc_threshold 0 -pix_fmt yuv420p h264_bframes.mp4
# H.264 4:4:4 at an odd size.
ff -f lavfi -i mandelbrot=size=129x97:rate=25 -frames:v 40 $enc \
   -c:v libx264 -preset fast -g 10 -pix_fmt yuv444p h264_444_odd.mp4
# HEVC in Matroska, x265 defaults apart from the GOP (open GOP stays on).
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1.6 $enc \
   -c:v libx265 -preset fast -x265-params log-level=error:keyint=12:min-keyint=12:pools=1:frame-threads=1 \
   -pix_fmt yuv420p hevc.mkv
# VP9 in WebM.
ff -f lavfi -i testsrc=size=160x120:rate=25:duration=1.6 $enc \
   -c:v libvpx-vp9 -deadline good -cpu-used 4 -g 12 -b:v 200k -pix_fmt yuv420p vp9.webm
# MPEG-4 part 2 in AVI.
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1.6 $enc \
   -c:v mpeg4 -g 12 -q:v 4 mpeg4.avi
# Motion JPEG in QuickTime (full-range yuvj422p, every frame a keyframe).
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1.2 $enc \
   -c:v mjpeg -q:v 3 -pix_fmt yuvj422p mjpeg.mov
# Rotation metadata (display matrix) on a copy of the H.264 stream.
ff -i h264_bframes.mp4 -c copy -metadata:s:v:0 rotate=90 rotate90.mp4
ff -i h264_bframes.mp4 -c copy -metadata:s:v:0 rotate=180 rotate180.mp4
# Variable frame rate: 20 frames at 1/25 s, then 20 at 2/25 s, then 10 at 1/25 s.
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=2 $enc \
   -vf "settb=1/1000,setpts='if(lt(N,20),N*0.04,if(lt(N,40),0.8+(N-20)*0.08,2.4+(N-40)*0.04))/TB'" \
   -fps_mode vfr -video_track_timescale 1000 \
   -c:v libx264 -preset fast -bf 0 -g 12 -pix_fmt yuv420p vfr.mp4
# Two video streams (320x180, then 480x270 at a lower bit rate, the
# default for both), AAC audio and mov_text subtitles: the ffmpeg CLI takes the larger
# stream (1), where av_find_best_stream would take the higher bit rate (0).
printf '1\n00:00:00,000 --> 00:00:00,800\nhello\n' > two_streams.srt
ff -f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i mandelbrot=size=480x270:rate=25 \
   -f lavfi -i sine=frequency=440 -i two_streams.srt -map 0:v -map 1:v -map 2:a -map 3:s -t 1 $enc \
   -c:v libx264 -preset fast -g 10 -pix_fmt yuv420p -crf:v:0 12 -crf:v:1 40 -c:a aac -c:s mov_text \
   -disposition:v:0 default -disposition:v:1 default two_video_streams.mp4
rm two_streams.srt

# --- Broken inputs ----------------------------------------------------------
: > empty.mp4
printf 'This is not a video, only text that happens to be named .mp4\n' > text.mp4
ff -f lavfi -i sine=frequency=440:duration=1 -c:a aac audio_only.mp4
# Truncated download: moov atom at the end (ffmpeg's default), cut at 60%.
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=2 $enc \
   -c:v libx264 -preset fast -g 12 -pix_fmt yuv420p full_for_truncation.mp4
size=$(stat -c %s full_for_truncation.mp4)
head -c $((size * 6 / 10)) full_for_truncation.mp4 > truncated.mp4
rm full_for_truncation.mp4
# Garbage bytes in the middle of the media data (index intact): no B-frames,
# so damage cannot reach frames displayed before it.
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=2.4 $enc \
   -c:v libx264 -preset fast -bf 0 -g 12 -keyint_min 12 -sc_threshold 0 -pix_fmt yuv420p \
   -movflags +faststart garbage_middle.mp4
# Unsupported codec: an AVI whose FourCC names no decoder.
cp mpeg4.avi unsupported_codec.avi
python3 - <<'EOF'
import os, random
# Garbage: overwrite 1.5 kB at 55% of the file with seeded random bytes.
data = bytearray(open("garbage_middle.mp4", "rb").read())
start = len(data) * 55 // 100
rng = random.Random(7)
data[start:start + 1500] = bytes(rng.randrange(256) for _ in range(1500))
open("garbage_middle.mp4", "wb").write(data)
open("garbage_range.txt", "w").write(f"{start} {start + 1500}\n")
# FourCC: FMP4 (stream header and format) becomes ZZZ9.
data = open("unsupported_codec.avi", "rb").read()
assert data.count(b"FMP4") >= 1
open("unsupported_codec.avi", "wb").write(data.replace(b"FMP4", b"ZZZ9"))
EOF

# --- Expected values and reference frames ------------------------------------
python3 - <<'EOF'
import json, subprocess

def probe(path, *args):
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json", *args, path]
    return json.loads(subprocess.check_output(cmd))

def keyframes_in_display_order(path):
    pk = probe(path, "-show_entries", "packet=pts,dts,flags")["packets"]
    ts = [p.get("pts", p.get("dts")) for p in pk]
    order = sorted(range(len(pk)), key=lambda i: int(ts[i]))
    return [rank for rank, i in enumerate(order) if "K" in pk[i]["flags"]]

def frame_times(path):
    fr = probe(path, "-show_entries", "frame=best_effort_timestamp_time")["frames"]
    return [float(f["best_effort_timestamp_time"]) for f in fr]

def reference(path, index, name, vf_extra=""):
    vf = f"select=eq(n\\,{index}){vf_extra},format=rgb24"
    subprocess.check_call(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1",
                           "-i", path, "-vf", vf, "-fps_mode", "passthrough", "-frames:v", "1",
                           "-f", "rawvideo", f"ref/{name}"])

videos = ["h264_bframes.mp4", "h264_444_odd.mp4", "hevc.mkv", "vp9.webm", "mpeg4.avi",
          "mjpeg.mov", "rotate90.mp4", "rotate180.mp4", "vfr.mp4", "garbage_middle.mp4"]
expected = {"videos": {}, "resized": []}
for v in videos:
    st = probe(v, "-count_frames", "-show_entries",
               "stream=codec_name,width,height,nb_read_frames,pix_fmt:stream_side_data=rotation")["streams"][0]
    n = int(st["nb_read_frames"])
    keys = keyframes_in_display_order(v)
    rotation = 0
    for sd in st.get("side_data_list", []):
        rotation = int(-sd.get("rotation", 0)) % 360
    w, h = st["width"], st["height"]
    if rotation in (90, 270):
        w, h = h, w
    # first, last, either side of the second keyframe, and the middle
    k = keys[1] if len(keys) > 1 else n // 2
    picks = sorted({0, n - 1, max(k - 1, 0), k, min(k + 1, n - 1), n // 2})
    if v == "garbage_middle.mp4":
        picks = [i for i in picks if i < 12]   # frames before the damage
    refs = {}
    for i in picks:
        name = f"{v.replace('.', '_')}_{i}.rgb"
        reference(v, i, name)
        refs[str(i)] = name
    entry = {"codec": st["codec_name"], "pix_fmt": st["pix_fmt"], "width": w, "height": h,
             "frames": n, "keyframes": keys, "rotation": rotation, "references": refs}
    if v == "vfr.mp4":
        entry["frame_times"] = frame_times(v)
    expected["videos"][v] = entry

# Resized references: bilinear swscale straight to rgb24 at the target size.
for v, w, h in [("h264_bframes.mp4", 85, 64), ("h264_444_odd.mp4", 64, 48), ("vp9.webm", 224, 168)]:
    i = 13
    name = f"{v.replace('.', '_')}_{i}_{w}x{h}.rgb"
    reference(v, i, name, vf_extra=f",scale={w}:{h}:flags=bilinear")
    expected["resized"].append({"video": v, "index": i, "width": w, "height": h, "reference": name})

start, end = map(int, open("garbage_range.txt").read().split())
expected["garbage_middle_bytes"] = [start, end]
json.dump(expected, open("expected.json", "w"), indent=1, sort_keys=True)
EOF
rm -f garbage_range.txt
# The real-format corpus: containers, codecs and pixel formats of real datasets.
"$here/make-corpus.sh" corpus
echo "fixtures in $out: $(du -sh . | cut -f1)"
