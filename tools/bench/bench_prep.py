"""`make bench` for `prep resize` (issue 7): ClipKit against the ffmpeg CLI
doing the same job on the same files: short side 256 (bicubic, even sizes),
libx264 with the same preset, CRF and GOP, yuv420p, audio dropped, one thread
per job, `--jobs` files at once (the CLI through a process pool of the same
size). Interleaved rounds, medians of videos/s. Then the loader on the gop-16
outputs against the original files (ClipKit's train-mode clips/s).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import run_json

VIDEO_EXT = {".mp4", ".avi", ".mkv", ".mov", ".webm"}


def sources(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if os.path.splitext(f)[1].lower() in VIDEO_EXT)


def probe_size(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                          "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout
    w, h = (int(v) for v in out.strip().split(",")[:2])
    return w, h


def short_side(w, h, s):
    even = lambda long, short: 2 * round(s * long / (2 * short))
    return (s, even(h, w)) if w <= h else (even(w, h), s)


def ffmpeg_job(src, dst, a):
    # The size is ClipKit's, computed like scale=-2:256 (checked equal by the harness).
    w, h = short_side(*probe_size(src), a.short_side)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1", "-i", src,
                    "-vf", f"scale={w}:{h}:flags=bicubic", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", a.preset,
                    "-crf", str(a.crf), "-g", str(a.gop), "-threads", "1", "-an", "-fps_mode", "passthrough", dst], check=True)


def run_ffmpeg(files, root, out, a):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = []
        for f in files:
            dst = os.path.join(out, os.path.splitext(os.path.relpath(f, root))[0] + ".mp4")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            futures.append(pool.submit(ffmpeg_job, f, dst, a))
        for fu in futures:
            fu.result()
    return len(files) / (time.perf_counter() - start)


def run_clipkit(root, out, a):
    start = time.perf_counter()
    subprocess.run([a.clipkit, "prep", "resize", root, out, "--short-side", str(a.short_side), "--gop", str(a.gop),
                    "--jobs", str(a.jobs), "--preset", a.preset, "--crf", str(a.crf), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return len(sources(root)) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--source", default="bench-data/raw")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--short-side", type=int, default=256)
    ap.add_argument("--gop", type=int, default=16)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    files = sources(a.source)
    runs = {"clipkit": [], "ffmpeg": []}
    work = tempfile.mkdtemp(prefix="bench-prep-")
    keep = os.path.join(work, "keep")
    for r in range(a.rounds):
        for name in ("clipkit", "ffmpeg"):
            out = os.path.join(work, name)
            shutil.rmtree(out, ignore_errors=True)
            runs[name].append(run_clipkit(a.source, out, a) if name == "clipkit" else run_ffmpeg(files, a.source, out, a))
        if r == 0:
            shutil.copytree(os.path.join(work, "clipkit"), keep)
        print(f"round {r + 1}/{a.rounds}: ClipKit {runs['clipkit'][-1]:.3f} videos/s, ffmpeg CLI {runs['ffmpeg'][-1]:.3f}",
              file=sys.stderr)
    # Same job: same output sizes and frame counts.
    for f in files:
        rel = os.path.splitext(os.path.relpath(f, a.source))[0] + ".mp4"
        ours, theirs = os.path.join(work, "clipkit", rel), os.path.join(work, "ffmpeg", rel)
        assert probe_size(ours) == probe_size(theirs), (rel, probe_size(ours), probe_size(theirs))
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {"files": files, "raw": runs, "median": med, "ratio": med["clipkit"] / med["ffmpeg"]}
    print(f"| prep resize, {len(files)} videos, --jobs {a.jobs}, x264 {a.preset} CRF {a.crf} GOP {a.gop} | ClipKit "
          f"{med['clipkit']:.3f} videos/s | ffmpeg CLI {med['ffmpeg']:.3f} videos/s | **{result['ratio']:.2f}×** (target ≥ 0.95×) |")
    # The loader on the outputs (GOP 16) against the originals.
    loader = {}
    for name, root in (("originals", a.source), ("gop16", keep)):
        manifest = os.path.join(work, f"{name}.csv")
        with open(manifest, "w") as m:
            m.write("path,label\n")
            for rep in range(8):
                for i, f in enumerate(sources(root)):
                    m.write(f"{os.path.abspath(f)},{i}\n")
        loader[name] = statistics.median(
            run_json([a.clipkit, "bench", "loader", "--manifest", manifest, "--mode", "train", "--clips", "96", "--batch", "8",
                      "--workers", "2", "--queue-depth", "4", "--json"])["clips_per_s"] for _ in range(a.rounds))
    result["loader"] = loader
    print(f"| loader (train clips, 8×8 frames, 2 workers) on prep resize outputs vs originals | GOP 16, short side 256: "
          f"{loader['gop16']:.1f} clips/s | originals: {loader['originals']:.1f} clips/s | **{loader['gop16'] / loader['originals']:.1f}×** |")
    if a.json_out:
        json.dump(result, open(a.json_out, "w"), indent=1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
