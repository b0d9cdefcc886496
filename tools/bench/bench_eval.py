"""Inference against PyTorch (issue 28): `clipkit bench eval` and its twin
eval_peer.py, the same model and the same views (clips × crops of CxTxHxW,
all of a video in one forward batch), interleaved round by round; medians of
videos/s and the largest peak RSS. Prints Markdown rows; --json-out keeps
every round.

    .venv-bench/bin/python tools/bench/bench_eval.py --clipkit .build/release/clipkit \
        --models r3d50 stdcf-r50 --rounds 5
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
    ap.add_argument("--models", nargs="+", default=["r3d50", "stdcf-r50"],
                    help="model names; name:execution for STDCF (composed, factored; ClipKit also automatic)")
    ap.add_argument("--input", default="3x8x224x224", help="view shape CxTxHxW")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--crops", type=int, default=3)
    ap.add_argument("--videos", type=int, default=1, help="timed videos per process, after a warm-up video")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    doctor = subprocess.run([a.clipkit, "doctor"], capture_output=True, text=True).stdout
    print(doctor.strip(), file=sys.stderr)
    common = ["--input", a.input, "--clips", str(a.clips), "--crops", str(a.crops), "--videos", str(a.videos),
              "--threads", str(a.threads)]
    results = {"doctor": doctor, "models": {}}
    rows = []
    for spec in a.models:
        name, _, execution = spec.partition(":")
        ours, theirs = [], []
        for r in range(a.rounds):
            ours.append(run_json([a.clipkit, "bench", "eval", "--model", name, "--execution", execution or "automatic",
                                  *common, "--json"]))
            theirs.append(run_json([sys.executable, "eval_peer.py", "--model", name,
                                    "--execution", execution if execution in ("composed", "factored") else "composed",
                                    *common], cwd=HERE))
            print(f"{spec} round {r + 1}/{a.rounds}: ClipKit {ours[-1]['videos_per_s']:.4f} videos/s "
                  f"{ours[-1]['peak_rss_mb']:.0f} MB, PyTorch {theirs[-1]['videos_per_s']:.4f} videos/s "
                  f"{theirs[-1]['peak_rss_mb']:.0f} MB", file=sys.stderr)
        mo = statistics.median(x["videos_per_s"] for x in ours)
        mt = statistics.median(x["videos_per_s"] for x in theirs)
        ro = max(x["peak_rss_mb"] for x in ours)
        rt = max(x["peak_rss_mb"] for x in theirs)
        gflops = statistics.median(x["gflop_per_s"] for x in ours)
        results["models"][spec] = {"clipkit": ours, "torch": theirs, "speed_ratio": mo / mt, "rss_ratio": ro / rt}
        rows.append(f"| {spec} | {a.clips}×{a.crops} views of {a.input} | {mo:.4f} videos/s, {ro:.0f} MB | "
                    f"{mt:.4f} videos/s, {rt:.0f} MB | **{mo / mt:.2f}×** | **{ro / rt:.2f}×** | {gflops:.0f} |")
        rows.append("  rounds (ClipKit / PyTorch videos/s): " + ", ".join(
            f"{o['videos_per_s']:.4f}/{t['videos_per_s']:.4f}" for o, t in zip(ours, theirs)))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=1)
    print("| model | views | ClipKit | PyTorch inference_mode | videos/s | peak RSS | ClipKit GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
