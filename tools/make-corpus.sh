#!/usr/bin/env bash
# Makes the real-format corpus in Fixtures/corpus/: small files in the
# containers, codecs and pixel formats that action datasets ship in (UCF101,
# HMDB51 and KTH are DivX/Xvid AVI; broadcast footage is MPEG-TS/PS; cut clips
# are MP4 with edit lists; …), and corpus.json with what the ffmpeg CLI makes
# of each: the frame count of `ffprobe -count_frames` and the Adler-32 of every
# frame of `ffmpeg -i F -vf format=rgb24 -fps_mode passthrough` (framecrc).
#
#   tools/make-corpus.sh [OUT_DIR]      (default: Fixtures/corpus)
#
# Needs Debian's ffmpeg (libx264, libx265, libxvid, libvpx, libaom, libsvtav1,
# libtheora). The files are committed: re-run only to change the set.
set -euo pipefail
out=${1:-Fixtures/corpus}
mkdir -p "$out"
cd "$out"
rm -f -- *.avi *.ts *.mpg *.vob *.m2v *.mp4 *.mkv *.webm *.asf *.wmv *.flv *.3gp *.ogv *.mov corpus.json
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
enc="-threads 1 -fflags +bitexact -map_metadata -1"
src="-f lavfi -i testsrc2=size=160x120:rate=25:duration=2"

# --- MPEG-4 part 2 in AVI (UCF101, HMDB51, KTH) --------------------------------
# FFmpeg's encoder with B-frames, tagged XVID: DTS-only timestamps, B-frames.
ff $src $enc -c:v mpeg4 -vtag XVID -bf 2 -g 12 -q:v 4 mpeg4_bframes.avi
# libxvid with B-frames: a real packed bitstream (P+B in one packet, then a
# 6-byte N-VOP placeholder), as DivX/Xvid files from the 2000s are.
ff $src $enc -c:v libxvid -bf 2 -g 12 xvid_packed.avi
# The same, re-muxed with the B-frames unpacked (what many tools do to old
# Xvid files): the AVI index then also flags the packet two after each I-frame.
ff -i xvid_packed.avi -c copy -bsf:v mpeg4_unpack_bframes -map_metadata -1 -fflags +bitexact xvid_unpacked.avi
# Motion JPEG in AVI.
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1.2 $enc -c:v mjpeg -q:v 5 mjpeg.avi

# --- MPEG-TS and MPEG-PS ----------------------------------------------------------
ff $src $enc -c:v libx264 -preset fast -bf 2 -g 12 -pix_fmt yuv420p h264.ts
# H.264 interlaced (MBAFF), top field first.
ff -f lavfi -i testsrc2=size=160x128:rate=25:duration=2 $enc -c:v libx264 -preset fast -flags +ildct+ilme \
   -x264-params interlaced=1:tff=1 -g 12 -pix_fmt yuv420p h264_interlaced.ts
# Timestamps that wrap past 2^33 ticks of 90 kHz a second into the file.
ff $src $enc -c:v libx264 -preset fast -bf 2 -g 12 -pix_fmt yuv420p -output_ts_offset 95442.5 h264_wrap.ts
# MPEG-2, interlaced, in program streams and raw.
ff -f lavfi -i testsrc2=size=160x128:rate=25:duration=2 $enc -c:v mpeg2video -flags +ildct+ilme -top 1 \
   -bf 2 -g 12 -q:v 4 mpeg2_interlaced.mpg
ff $src $enc -c:v mpeg2video -bf 2 -g 12 -q:v 4 -f vob mpeg2.vob
ff $src $enc -c:v mpeg2video -bf 2 -g 12 -q:v 4 -f mpeg2video mpeg2.m2v

# --- MP4 and Matroska timing --------------------------------------------------------
ff $src $enc -c:v libx264 -preset fast -bf 2 -g 250 -pix_fmt yuv420p long_gop.mp4
# A stream-copy cut: an edit list with a start inside the first GOP.
ff -ss 0.52 -i long_gop.mp4 -c copy -map_metadata -1 cut_editlist.mp4
# B-frames without an edit list: the first frame's timestamp is not 0.
ff $src $enc -c:v libx264 -preset fast -bf 2 -g 12 -pix_fmt yuv420p -use_editlist 0 no_editlist.mp4
# Matroska whose timestamps start at 10 s.
ff $src $enc -c:v libx264 -preset fast -bf 2 -g 12 -pix_fmt yuv420p -output_ts_offset 10 start_10s.mkv
# 30000/1001 frames a second.
ff -f lavfi -i testsrc2=size=160x120:rate=30000/1001:duration=1.6 $enc -c:v libx264 -preset fast -bf 2 -g 15 \
   -pix_fmt yuv420p ntsc_29.97.mp4

# --- Pixel formats ------------------------------------------------------------------
ff $src $enc -c:v libx264 -preset fast -g 12 -pix_fmt yuv420p10le h264_10bit.mp4
ff $src $enc -c:v libx265 -preset fast -x265-params log-level=error:keyint=12:pools=1:frame-threads=1 \
   -pix_fmt yuv420p10le hevc_10bit.mkv
ff $src $enc -c:v libx265 -preset fast -x265-params log-level=error:keyint=12:pools=1:frame-threads=1 \
   -pix_fmt yuv420p12le hevc_12bit.mkv
ff $src $enc -c:v libx264 -preset fast -g 12 -pix_fmt yuv422p h264_422.mp4
# Full range (phone footage tags yuvj420p); x264 needs even sizes for 4:2:0,
# MJPEG takes odd ones (the source goes through rgb24 so lavfi keeps 163x119).
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1.2 $enc -c:v libx264 -preset fast -g 12 -pix_fmt yuvj420p \
   h264_yuvj420p.mp4
ff -f lavfi -i "testsrc2=size=163x119:rate=25:duration=1.2,format=rgb24" $enc -c:v mjpeg -q:v 5 -pix_fmt yuvj420p \
   mjpeg_yuvj420p_odd.mov
# Alpha: dropped on conversion, as format=rgb24 drops it.
ff -f lavfi -i "testsrc2=size=160x120:rate=25:duration=1.2,format=yuva420p,geq=lum='lum(X,Y)':cb='cb(X,Y)':cr='cr(X,Y)':a='X'" \
   $enc -c:v libvpx-vp9 -deadline good -cpu-used 4 -g 12 -b:v 200k -pix_fmt yuva420p vp9_alpha.webm
ff -f lavfi -i "testsrc2=size=160x120:rate=25:duration=0.8,format=yuva444p10le" $enc -c:v prores_ks -profile:v 4444 \
   -pix_fmt yuva444p10le prores4444_alpha.mov
ff -f lavfi -i "testsrc2=size=160x120:rate=25:duration=0.8,format=argb" $enc -c:v qtrle -pix_fmt argb qtrle.mov

# --- Other codecs -------------------------------------------------------------------
ff $src $enc -c:v libaom-av1 -cpu-used 8 -g 12 -b:v 100k av1_aom.mkv
ff $src $enc -c:v libsvtav1 -preset 10 -g 12 -svtav1-params lp=1 av1_svt.mp4 2>/dev/null
ff $src $enc -c:v libvpx -deadline good -cpu-used 4 -auto-alt-ref 1 -lag-in-frames 16 -g 12 -b:v 200k vp8_altref.webm
ff $src $enc -c:v wmv1 -g 12 -q:v 4 wmv1.asf
ff $src $enc -c:v wmv2 -g 12 -q:v 4 wmv2.wmv
ff $src $enc -c:v flv1 -g 12 -q:v 4 flv1.flv
ff -f lavfi -i testsrc2=size=128x96:rate=25:duration=2 $enc -c:v h263 -g 12 -q:v 4 h263.3gp
ff $src $enc -c:v libtheora -g 12 -q:v 6 theora.ogv

# --- What the ffmpeg CLI makes of each ------------------------------------------------
python3 - <<'EOF'
import glob, json, os, subprocess

def probe(path):
    cmd = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-of", "json",
           "-show_entries", "stream=codec_name,width,height,pix_fmt,nb_read_frames", path]
    return json.loads(subprocess.check_output(cmd))["streams"][0]

def frame_adler32(path):
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path,
           "-map", "0:v:0", "-vf", "format=rgb24", "-fps_mode", "passthrough", "-f", "framecrc", "-"]
    lines = subprocess.check_output(cmd, text=True).splitlines()
    return [line.rsplit(",", 1)[1].strip() for line in lines if line and not line.startswith("#")]

corpus = {}
for path in sorted(f for f in glob.glob("*") if not f.endswith(".json")):
    st = probe(path)
    crcs = frame_adler32(path)
    entry = {"codec": st["codec_name"], "pix_fmt": st["pix_fmt"], "width": st["width"],
             "height": st["height"], "frames": int(st["nb_read_frames"]), "adler32": crcs}
    if len(crcs) != entry["frames"]:
        entry["cli_frames"] = len(crcs)   # the CLI and ffprobe disagree: said, not hidden
    corpus[path] = entry
json.dump(corpus, open("corpus.json", "w"), indent=1, sort_keys=True)
EOF
echo "corpus in $out: $(ls | wc -l) files, $(du -sh . | cut -f1)"
