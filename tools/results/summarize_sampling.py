"""The dense/uniform table for docs/RESULTS.md from tools/results/sampling.sh's folder.

    python3 tools/results/summarize_sampling.py results-sampling
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "results-sampling"


def top1(run, clips):
    path = os.path.join(out, run, f"eval-{clips}x3.json")
    return json.load(open(path))["top1"] if os.path.exists(path) else None


print("| model | trained with | 1 × 3 | 3 × 3 | 5 × 3 | 10 × 3 |")
print("|---|---|---|---|---|---|")
for sampling in ["dense", "uniform"]:
    for model in ["kth3l-stdcf", "kth3l-tsm"]:
        cells = [top1(f"{model}-{sampling}", c) for c in (1, 3, 5, 10)]
        print(f"| {model} | {sampling} | " + " | ".join("–" if v is None else f"{v:.1f}%" for v in cells) + " |")
print()
print("Ranking (better model) at each number of clips:")
for sampling in ["dense", "uniform"]:
    row = []
    for c in (1, 3, 5, 10):
        a, b = top1(f"kth3l-stdcf-{sampling}", c), top1(f"kth3l-tsm-{sampling}", c)
        row.append("–" if a is None or b is None else ("stdcf" if a > b else "tsm" if b > a else "tie"))
    print(f"- {sampling}: " + ", ".join(f"{c}×3 {r}" for c, r in zip((1, 3, 5, 10), row)))
