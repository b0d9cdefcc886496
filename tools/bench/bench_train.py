"""`make bench` for training (issue 5): `kth3l-reg3d` steps, input 3×16×60×80,
batch 16, 2 threads — ClipKit in both parallel modes vs the PyTorch twin
(train_peer.py), interleaved rounds, medians; then the sgemm peak and conv3d
GFLOP/s per layer. Prints Markdown rows; --json-out keeps everything.
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
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--json-out")
    ap.add_argument("--models", nargs="*", default=[],
                    help="compare these with their twins instead: kth3l-stdcf:composed kth3l-stdcf:factored kth3l-rank1 kth3l-ct "
                         "r3d50 r2plus1d-r50 stdcf-r50:composed stdcf-r50:factored")
    ap.add_argument("--input", default="3x16x60x80", help="clip shape CxTxHxW")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--before", help="with --models: an earlier ClipKit build, run in the same rounds (before, "
                                     "ClipKit, PyTorch), to measure a change against the same PyTorch")
    a = ap.parse_args()
    common = ["--input", a.input, "--batch", str(a.batch), "--steps", str(a.steps), "--threads", "2"]
    if a.models:
        compare_models(a, common)
        return
    runs = {"batch": [], "blas": [], "torch": []}
    for r in range(a.rounds):
        for mode in ("batch", "blas"):
            runs[mode].append(run_json([a.clipkit, "bench", "train", "--model", "kth3l-reg3d", "--parallel", mode, *common, "--json"]))
        runs["torch"].append(run_json([sys.executable, "train_peer.py", *common], cwd=HERE))
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]['clips_per_s']:.2f} clips/s {v[-1]['peak_rss_mb']:.0f} MB"
                                                     for k, v in runs.items()), file=sys.stderr)
    med = {k: statistics.median(x["clips_per_s"] for x in v) for k, v in runs.items()}
    rss = {k: max(x["peak_rss_mb"] for x in v) for k, v in runs.items()}
    conv = run_json([a.clipkit, "bench", "conv", "--parallel", "batch", "--json"])
    result = {"median_clips_per_s": med, "max_peak_rss_mb": rss, "raw": runs, "conv": conv,
              "speed_ratio": med["batch"] / med["torch"], "rss_ratio": rss["batch"] / rss["torch"]}
    if a.json_out:
        json.dump(result, open(a.json_out, "w"), indent=1)
    print(f"| kth3l-reg3d training step, 16×3×16×60×80, 2 threads | ClipKit {med['batch']:.2f} clips/s (batch-parallel), "
          f"{med['blas']:.2f} (BLAS threads); peak RSS {rss['batch']:.0f} MB | PyTorch {med['torch']:.2f} clips/s, peak RSS "
          f"{rss['torch']:.0f} MB | **{result['speed_ratio']:.2f}×** clips/s (target ≥ 1.5×), **{result['rss_ratio']:.2f}×** RSS (target ≤ 0.6×) |")
    peak = conv["sgemm_peak_gflop_per_s"]
    for layer in conv["layers"]:
        forward = layer["gflops"] / layer["forward_ms"] * 1000
        dx_ms = layer.get("dx_ms")  # absent for the first layer (no dX)
        backward_ms = (dx_ms or 0) + layer["dw_ms"]
        backward = layer["gflops"] * (2 if dx_ms else 1) / backward_ms * 1000
        print(f"| conv3d {layer['name']} (batch 16, {layer['algorithm']}) | forward {forward:.0f} GFLOP/s "
              f"({100 * forward / peak:.0f}% of sgemm peak {peak:.0f}) | backward "
              f"{backward:.0f} GFLOP/s ({100 * backward / peak:.0f}%) | |")


def compare_models(a, common):
    """Decomposed models against their PyTorch twins (batch-parallel ClipKit)."""
    results = {}
    for spec in a.models:
        name, _, execution = spec.partition(":")
        execution = execution or "composed"
        ours, theirs, before = [], [], []
        peak = run_json([a.clipkit, "bench", "gemm", "--json"])["gflop_per_s"]
        step = ["bench", "train", "--model", name, "--execution", execution, *common, "--json"]
        for r in range(a.rounds):
            if a.before:
                before.append(run_json([a.before, *step]))
            ours.append(run_json([a.clipkit, *step]))
            theirs.append(run_json([sys.executable, "train_peer.py", "--model", name, "--execution", execution, *common], cwd=HERE))
            earlier = f"before {before[-1]['clips_per_s']:.2f} clips/s, " if a.before else ""
            print(f"{spec} round {r + 1}/{a.rounds}: {earlier}ClipKit {ours[-1]['clips_per_s']:.2f} clips/s "
                  f"{ours[-1]['peak_rss_mb']:.0f} MB, PyTorch {theirs[-1]['clips_per_s']:.2f} clips/s {theirs[-1]['peak_rss_mb']:.0f} MB",
                  file=sys.stderr)
        mo, mt = statistics.median(x["clips_per_s"] for x in ours), statistics.median(x["clips_per_s"] for x in theirs)
        if a.before:
            mb = statistics.median(x["clips_per_s"] for x in before)
            paired = statistics.median(o["clips_per_s"] / b["clips_per_s"] for o, b in zip(ours, before))
            print(f"| {spec}: before {mb:.2f} clips/s, **{mb / mt:.2f}×** PyTorch; this build {mo:.2f}, **{mo / mt:.2f}×**; "
                  f"paired speed-up (median of rounds) {paired:.2f}× |")
        ro, rt = max(x["peak_rss_mb"] for x in ours), max(x["peak_rss_mb"] for x in theirs)
        results[spec] = {"clipkit": ours, "torch": theirs, "speed_ratio": mo / mt, "rss_ratio": ro / rt}
        if a.before:
            results[spec].update({"before": before, "before_speed_ratio": mb / mt, "paired_speedup": paired})
        gflops = statistics.median(x["gflop_per_s"] for x in ours)
        results[spec].update({"sgemm_peak_gflop_per_s": peak, "step_gflop_per_s": gflops})
        label = f"{name} ({execution})" if "stdcf" in name else name
        print(f"| {label} training step, {a.batch} × {a.input} | ClipKit {mo:.2f} clips/s, peak RSS {ro:.0f} MB | PyTorch {mt:.2f} clips/s, "
              f"{rt:.0f} MB | **{mo / mt:.2f}×** clips/s, **{ro / rt:.2f}×** RSS | {gflops:.0f} GFLOP/s = {100 * gflops / peak:.0f}% of "
              f"sgemm {peak:.0f} |")
    if a.json_out:
        json.dump(results, open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
