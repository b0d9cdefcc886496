"""`make bench` for the decoder: ClipKit vs its peers on the same files, same
machine, same thread count (1 decoder thread), in interleaved rounds; reports
medians and ratios as Markdown (stdout) and JSON (--json-out).

    python tools/bench/bench_decode.py --clipkit PATH --files F... [--rounds 5]

(a) full sequential decode to RGB24: `clipkit bench decode --mode full` vs
    `ffmpeg -threads 1 -i F -pix_fmt rgb24 -f null -`
(b) clips of 8 frames at stride 8 from random windows, one open per clip:
    ClipKit vs decord get_batch vs torchcodec get_frames_at (exact), same plan
(c) resident memory before/after 1,000 opens (+ one decoded frame each)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import run_json
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))




def ffmpeg_full(files):
    frames, start = 0, time.perf_counter()
    for f in files:
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", f,
                        "-pix_fmt", "rgb24", "-f", "null", "-"], check=True)
    seconds = time.perf_counter() - start
    for f in files:
        frames += int(run_json(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                                "-show_entries", "stream=nb_read_frames", "-of", "json", f])["streams"][0]["nb_read_frames"])
    return {"frames": frames, "seconds": seconds, "frames_per_s": frames / seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clips-per-file", type=int, default=40)
    ap.add_argument("--opens", type=int, default=1000)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    ck = a.clipkit
    plan = os.path.join(tempfile.mkdtemp(), "plan.json")
    run_json([ck, "bench", "decode", *a.files, "--mode", "clips", "--clips-per-file", str(a.clips_per_file),
              "--plan-out", plan, "--json"])
    peers = [sys.executable, os.path.join(HERE, "decode_peers.py"), "--plan", plan, "--peer"]

    full = {"clipkit": [], "ffmpeg": []}
    clips = {"clipkit": [], "decord": [], "torchcodec": []}
    for r in range(a.rounds):
        full["clipkit"].append(run_json([ck, "bench", "decode", *a.files, "--mode", "full", "--json"])["frames_per_s"])
        full["ffmpeg"].append(ffmpeg_full(a.files)["frames_per_s"])
        clips["clipkit"].append(run_json([ck, "bench", "decode", "--plan", plan, "--json"])["frames_per_s"])
        clips["decord"].append(run_json(peers + ["decord"])["frames_per_s"])
        clips["torchcodec"].append(run_json(peers + ["torchcodec"])["frames_per_s"])
        print(f"round {r + 1}/{a.rounds}: full {full['clipkit'][-1]:.0f} vs ffmpeg {full['ffmpeg'][-1]:.0f}; "
              f"clips {clips['clipkit'][-1]:.0f} vs decord {clips['decord'][-1]:.0f}, "
              f"torchcodec {clips['torchcodec'][-1]:.0f} frames/s", file=sys.stderr)
    opens = run_json([ck, "bench", "decode", a.files[0], "--mode", "opens", "--opens", str(a.opens), "--json"])

    med = lambda xs: statistics.median(xs)
    best_peer = max(med(clips["decord"]), med(clips["torchcodec"]))
    result = {
        "full": {k: med(v) for k, v in full.items()},
        "full_ratio_vs_ffmpeg": med(full["clipkit"]) / med(full["ffmpeg"]),
        "clips": {k: med(v) for k, v in clips.items()},
        "clips_ratio_vs_best_peer": med(clips["clipkit"]) / best_peer,
        "rounds": a.rounds, "raw": {"full": full, "clips": clips},
        "opens": opens,
    }
    if a.json_out:
        json.dump(result, open(a.json_out, "w"), indent=1)
    print(f"| (a) full decode to rgb24 | ClipKit {result['full']['clipkit']:.0f} | ffmpeg CLI {result['full']['ffmpeg']:.0f} "
          f"| **{result['full_ratio_vs_ffmpeg']:.2f}×** (target ≥ 0.9×) |")
    print(f"| (b) 8 frames @ stride 8, open per clip | ClipKit {result['clips']['clipkit']:.0f} | decord {result['clips']['decord']:.0f}, "
          f"torchcodec {result['clips']['torchcodec']:.0f} | **{result['clips_ratio_vs_best_peer']:.2f}×** vs the faster (target ≥ 1.5×) |")
    print(f"| (c) {opens['frames']} opens + 1 frame each | RSS {opens['rss_mb_before']:.1f} MB → {opens['rss_mb_after']:.1f} MB "
          f"| {opens['opens_per_s']:.0f} opens/s | |")


if __name__ == "__main__":
    main()
