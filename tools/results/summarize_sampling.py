"""The dense/uniform table for docs/RESULTS.md from tools/results/sampling.sh's folder:
top-1 per model, sampling and number of clips, as mean ± standard error over the
seeds found (seed 0's runs are named MODEL-SAMPLING, seed N's MODEL-SAMPLING-sN).

    python3 tools/results/summarize_sampling.py results-sampling
"""
import json
import os
import re
import sys

from stats import cell

out = sys.argv[1] if len(sys.argv) > 1 else "results-sampling"
CLIPS = (1, 3, 5, 10)
MODELS = ("kth3l-stdcf", "kth3l-tsm")


def seeds():
    """Every seed with a run in the folder, 0 first."""
    found = set()
    for name in os.listdir(out):
        m = re.fullmatch(r"kth3l-(?:stdcf|tsm)-(?:dense|uniform)(?:-s(\d+))?", name)
        if m and os.path.isdir(os.path.join(out, name)):
            found.add(int(m.group(1) or 0))
    return sorted(found)


def top1(model, sampling, seed, clips):
    run = f"{model}-{sampling}" + ("" if seed == 0 else f"-s{seed}")
    path = os.path.join(out, run, f"eval-{clips}x3.json")
    return json.load(open(path))["top1"] if os.path.exists(path) else None


def values(model, sampling, clips, seed_list):
    return [v for v in (top1(model, sampling, s, clips) for s in seed_list) if v is not None]


seed_list = seeds()
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
        pairs = [(top1("kth3l-stdcf", sampling, s, c), top1("kth3l-tsm", sampling, s, c)) for s in seed_list]
        gaps = [a - b for a, b in pairs if a is not None and b is not None]
        ahead = sum(g > 0 for g in gaps)
        row.append("–" if not gaps else f"{c}×3 {cell(gaps)} ({ahead}/{len(gaps)})")
    print(f"- {sampling}: " + ", ".join(row))
row = []
for c in CLIPS:
    dense, uniform = ([top1("kth3l-stdcf", sampling, s, c) - top1("kth3l-tsm", sampling, s, c) for s in seed_list
                       if top1("kth3l-stdcf", sampling, s, c) is not None and top1("kth3l-tsm", sampling, s, c) is not None]
                      for sampling in ("dense", "uniform"))
    if dense and uniform and sum(uniform) != 0:
        row.append(f"{c}×3 {(sum(dense) / len(dense)) / (sum(uniform) / len(uniform)):.1f}")
print("- the dense gap over the uniform one (means): " + (", ".join(row) or "–"))
print()
print("Uniform − dense (paired by seed), per model:")
for model in MODELS:
    row = []
    for c in CLIPS:
        pairs = [(top1(model, "uniform", s, c), top1(model, "dense", s, c)) for s in seed_list]
        gaps = [a - b for a, b in pairs if a is not None and b is not None]
        row.append("–" if not gaps else f"{c}×3 {cell(gaps)}")
    print(f"- {model}: " + ", ".join(row))
