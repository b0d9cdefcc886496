"""The dense/uniform table for docs/RESULTS.md from tools/results/sampling.sh's folder:
top-1 per model, sampling and number of clips, as mean ± standard error over the
seeds found (seed 0's runs are named MODEL-SAMPLING, seed N's MODEL-SAMPLING-sN).

    python3 tools/results/summarize_sampling.py results-sampling
"""
import json
import os
import sys

from stats import cell, seeds_in

out = sys.argv[1] if len(sys.argv) > 1 else "results-sampling"
CLIPS = (1, 3, 5, 10)
MODELS = ("kth3l-stdcf", "kth3l-tsm")


def top1(model, sampling, seed, clips):
    run = f"{model}-{sampling}" + ("" if seed == 0 else f"-s{seed}")
    path = os.path.join(out, run, f"eval-{clips}x3.json")
    return json.load(open(path))["top1"] if os.path.exists(path) else None


def paired(first, second, clips):
    """first − second (each a (model, sampling)) at `clips` clips, for every seed that has both."""
    pairs = [(top1(*first, s, clips), top1(*second, s, clips)) for s in seed_list]
    return [a - b for a, b in pairs if a is not None and b is not None]


def values(model, sampling, clips, seed_list):
    return [v for v in (top1(model, sampling, s, clips) for s in seed_list) if v is not None]


seed_list = seeds_in(out, r"kth3l-(?:stdcf|tsm)-(?:dense|uniform)")
print(f"Seeds: {', '.join(map(str, seed_list)) or 'none'}; top-1 %, mean ± s.e. over the seeds.")
print()
print("| model | trained with | seeds | 1 × 3 | 3 × 3 | 5 × 3 | 10 × 3 |")
print("|---|---|---|---|---|---|---|")
for sampling in ["dense", "uniform"]:
    for model in MODELS:
        counts = {len(values(model, sampling, c, seed_list)) for c in CLIPS}
        cells = [cell(values(model, sampling, c, seed_list)) for c in CLIPS]
        print(f"| {model} | {sampling} | {max(counts)} | " + " | ".join(cells) + " |")
print()
print("STDCF − TSM-style net (paired by seed), and the seeds where STDCF is ahead:")
for sampling in ["dense", "uniform"]:
    row = []
    for c in CLIPS:
        gaps = paired(("kth3l-stdcf", sampling), ("kth3l-tsm", sampling), c)
        ahead = sum(g > 0 for g in gaps)
        row.append("–" if not gaps else f"{c}×3 {cell(gaps)} ({ahead}/{len(gaps)})")
    print(f"- {sampling}: " + ", ".join(row))
row = []
for c in CLIPS:
    dense, uniform = (paired(("kth3l-stdcf", sampling), ("kth3l-tsm", sampling), c) for sampling in ("dense", "uniform"))
    if dense and uniform and sum(uniform) != 0:
        row.append(f"{c}×3 {(sum(dense) / len(dense)) / (sum(uniform) / len(uniform)):.1f}")
print("- the dense gap over the uniform one (means): " + (", ".join(row) or "–"))
print()
print("Uniform − dense (paired by seed), per model:")
for model in MODELS:
    row = []
    for c in CLIPS:
        gaps = paired((model, "uniform"), (model, "dense"), c)
        row.append("–" if not gaps else f"{c}×3 {cell(gaps)}")
    print(f"- {model}: " + ", ".join(row))
