"""The Tensor Excitation table for docs/RESULTS.md from tools/results/ct_excitation.sh's folder.

    python3 tools/results/summarize_ct_excitation.py results-ct-te
"""
import glob
import json
import os
import re
import sys

from stats import cell

out = sys.argv[1] if len(sys.argv) > 1 else "results-ct-te"
top1 = {}
for path in glob.glob(os.path.join(out, "*", "eval.json")):
    m = re.fullmatch(r"(kth3l-ct(?:-no-te)?)-s(\d+)", os.path.basename(os.path.dirname(path)))
    if m:
        top1[(m[1], int(m[2]))] = json.load(open(path))["top1"]
seeds = sorted(s for (model, s) in top1 if model == "kth3l-ct" and ("kth3l-ct-no-te", s) in top1)
with_te = [top1[("kth3l-ct", s)] for s in seeds]
without = [top1[("kth3l-ct-no-te", s)] for s in seeds]
gain = [a - b for a, b in zip(with_te, without)]
print("Test split, 10 clips × 3 crops; mean ± standard error over seeds; the gain is paired by seed.")
print()
print("| seeds | without TE (kth3l-ct-no-te) | with TE (kth3l-ct) | gain from TE | TE worse in | paper (SSv1, R50) |")
print("|---|---|---|---|---|---|")
print(f"| {len(seeds)} | {cell(without, '%')} | {cell(with_te, '%')} | {cell(gain, ' pt')} | "
      f"{sum(g < 0 for g in gain)}/{len(seeds)} | 48.0% → 50.1% (+2.1) |")
print()
print("Per seed (with / without): " + ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(with_te, without)) + ".")
