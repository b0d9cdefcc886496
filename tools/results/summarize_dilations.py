"""The dilated-atoms table for docs/RESULTS.md from tools/results/dilations.sh's evaluations.

    python3 tools/results/summarize_dilations.py results-itsl-paper
"""
import glob
import json
import os
import sys

from stats import cell

out = sys.argv[1] if len(sys.argv) > 1 else "results-itsl-paper"
runs = sorted(d for d in glob.glob(os.path.join(out, "kth3l-stdcf-itsl-s*")) if os.path.isdir(d))
rows = [("1-1", "(1, 1)"), ("2-1", "(2, 1)"), ("1-2", "(1, 2)"), ("2-2", "(2, 2), the test setting")]
print(f"ITSL-trained kth3l-stdcf on full-size test clips, 10 clips × 3 crops; mean ± standard error over "
      f"{len(runs)} seeds:")
print()
print("| test dilation (temporal, spatial) | top-1 | top-5 |")
print("|---|---|---|")
for key, label in rows:
    evals = [json.load(open(f)) for run in runs if os.path.exists(f := os.path.join(run, f"eval-dilation-{key}.json"))]
    print(f"| {label} | {cell([e['top1'] for e in evals], '%')} | {cell([e['top5'] for e in evals], '%')} |")
