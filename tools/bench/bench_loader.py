"""`make bench` for the loader (issue 4): ClipKit's prefetching loader vs a
torch DataLoader over decord, torchcodec and PyAV (loader_peers.py), same
manifest, 2 workers, interleaved rounds, medians. Train: clips/s and peak RSS;
test (10 clips × 3 crops): videos/s. Prints Markdown rows.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from benchlib import run_json

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ["decord", "torchcodec", "pyav"]




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-clips", type=int, default=200)
    ap.add_argument("--test-videos", type=int, default=16)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    results = {}
    for mode, n in (("train", a.train_clips), ("test", a.test_videos)):
        runs = {k: [] for k in ["clipkit", "python"] + PEERS}
        rss = []
        for r in range(a.rounds):
            o = run_json([a.clipkit, "bench", "loader", "--manifest", a.manifest, "--mode", mode, "--clips", str(n),
                          "--batch", "8" if mode == "train" else "1", "--workers", "2", "--queue-depth", "4", "--json"])
            runs["clipkit"].append(o["clips_per_s"]); rss.append(o["peak_rss_mb"])
            # The same loader through the Python package (pip install ./python), in one Python process.
            runs["python"].append(run_json([sys.executable, os.path.join(HERE, "python_loader.py"), "--manifest", a.manifest, "--mode", mode,
                                            "--clips", str(n), "--batch", "8" if mode == "train" else "1"])["clips_per_s"])
            for p in PEERS:
                runs[p].append(run_json([sys.executable, os.path.join(HERE, "loader_peers.py"), "--manifest", a.manifest,
                                         "--backend", p, "--mode", mode, "--clips", str(n)])["clips_per_s"])
            print(f"{mode} round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in runs.items()), file=sys.stderr)
        med = {k: statistics.median(v) for k, v in runs.items()}
        best = max(PEERS, key=lambda p: med[p])
        results[mode] = {"median": med, "raw": runs, "best_peer": best, "ratio": med["clipkit"] / med[best],
                         "python_ratio": med["python"] / med[best], "python_vs_cli": med["python"] / med["clipkit"],
                         "clipkit_peak_rss_mb": max(rss)}
        unit = "clips/s" if mode == "train" else "videos/s"
        print(f"| loader, {mode} | ClipKit {med['clipkit']:.2f} {unit}, peak RSS {max(rss):.0f} MB | "
              + ", ".join(f"{p} {med[p]:.2f}" for p in PEERS)
              + f" | **{results[mode]['ratio']:.2f}×** the fastest ({best}) |")
        print(f"| loader, {mode}, from Python (clipkit package) | {med['python']:.2f} {unit} "
              f"({100 * results[mode]['python_vs_cli']:.0f}% of the CLI's) | {best} {med[best]:.2f} "
              f"| **{results[mode]['python_ratio']:.2f}×** the fastest |")
    if a.json_out:
        json.dump(results, open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
