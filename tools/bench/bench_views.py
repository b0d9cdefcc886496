"""`make bench` for test-time input (issue 3): 10 clips × 3 crops per video,
ClipKit (`clipkit bench views`) vs the mmaction2-style peer (views_peer.py:
decord get_batch + ThreeCrop + normalise), same files, interleaved rounds,
medians. Prints a Markdown row; --json-out keeps everything.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import run_json

HERE = os.path.dirname(os.path.abspath(__file__))




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    ours, peer, checks = [], [], []
    for r in range(a.rounds):
        o = run_json([a.clipkit, "bench", "views", *a.files, "--json"])
        p = run_json([sys.executable, os.path.join(HERE, "views_peer.py"), *a.files])
        ours.append(o["videos_per_s"]); peer.append(p["videos_per_s"])
        checks.append(abs(o["checksum"] - p["checksum"]))
        print(f"round {r + 1}/{a.rounds}: ClipKit {o['videos_per_s']:.2f} vs peer {p['videos_per_s']:.2f} videos/s", file=sys.stderr)
    ratio = statistics.median(ours) / statistics.median(peer)
    result = {"clipkit": statistics.median(ours), "peer": statistics.median(peer), "ratio": ratio,
              "raw": {"clipkit": ours, "peer": peer}, "checksum_difference": max(checks)}
    if a.json_out:
        json.dump(result, open(a.json_out, "w"), indent=1)
    print(f"| 30-view test input (10 clips × 3 crops, decode + crop + normalise) | ClipKit {result['clipkit']:.2f} videos/s "
          f"| decord + ThreeCrop + normalise {result['peer']:.2f} videos/s | **{ratio:.1f}×** (target ≥ 3×) |")


if __name__ == "__main__":
    main()
