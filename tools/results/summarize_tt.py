"""The 3DTT low-data table for docs/RESULTS.md from tools/results/tt_small_data.sh's folder.

    python3 tools/results/summarize_tt.py results-tt
"""
import glob
import json
import os
import re
import sys

from stats import cell

out = sys.argv[1] if len(sys.argv) > 1 else "results-tt"
# The paper's Table 2 (MNIST digits, 30 runs): train videos → (3D mean, s.e.), (3DTT mean, s.e.).
paper = {10: ((37.4, 1.22), (47.7, 1.39)), 20: ((49.8, 1.31), (58.8, 1.08)), 30: ((62.5, 1.07), (66.8, 0.91)),
         40: ((67.1, 0.95), (72.1, 0.79)), 50: ((75.0, 0.83), (77.3, 0.67)), 100: ((83.7, 0.59), (82.9, 0.73)),
         500: ((96.0, 0.25), (92.5, 0.58)), 1000: ((97.6, 0.14), (96.8, 0.20)), 2000: ((98.8, 0.07), (97.2, 0.22)),
         5000: ((99.4, 0.03), (98.8, 0.10))}

runs = {}
for path in glob.glob(os.path.join(out, "*", "eval.json")):
    m = re.fullmatch(r"(lenet5-3d|lenet5-3dtt)-n(\d+)-s(\d+)", os.path.basename(os.path.dirname(path)))
    if m:
        runs[(m[1], int(m[2]), int(m[3]))] = json.load(open(path))["top1"]


print("| train videos (per class) | seeds | lenet5-3d top-1 | lenet5-3dtt top-1 | 3DTT − 3D (paired) | 3DTT wins | paper 3D | paper 3DTT |")
print("|---|---|---|---|---|---|---|---|")
for n in sorted({k[1] for k in runs}):
    seeds = sorted(s for (model, size, s) in runs if model == "lenet5-3d" and size == n and ("lenet5-3dtt", n, s) in runs)
    a = [runs[("lenet5-3d", n, s)] for s in seeds]
    b = [runs[("lenet5-3dtt", n, s)] for s in seeds]
    diff = [y - x for x, y in zip(a, b)]
    wins = sum(d > 0 for d in diff)
    p = paper.get(n)
    ref = (f"{p[0][0]:.1f} ± {p[0][1]:.1f}", f"{p[1][0]:.1f} ± {p[1][1]:.1f}") if p else ("", "")
    print(f"| {n} ({n // 10}) | {len(seeds)} | {cell(a)} | {cell(b)} | {cell(diff)} | {wins}/{len(seeds)} | {ref[0]} | {ref[1]} |")
