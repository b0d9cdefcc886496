"""The seeded ITSL tables for docs/RESULTS.md from tools/results/itsl_seeds.sh's folder.

    python3 tools/results/summarize_itsl_seeds.py results-itsl-seeds
"""
import glob
import json
import math
import os
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "results-itsl-seeds"
models = ["kth3l-reg3d", "kth3l-rank1", "kth3l-stdcf"]
# The paper's Table 2 (KTH): full-size top-1, ITSL top-1.
paper = {"kth3l-reg3d": (81.26, 76.94), "kth3l-rank1": (82.55, 79.10), "kth3l-stdcf": (85.61, 84.93)}

runs = {}
for path in glob.glob(os.path.join(out, "*", "eval.json")):
    m = re.fullmatch(r"(kth3l-\w+)-(full|itsl)-s(\d+)", os.path.basename(os.path.dirname(path)))
    if not m:
        continue
    events = [json.loads(line) for line in open(os.path.join(os.path.dirname(path), "metrics.jsonl"))]
    runs[(m[1], m[2], int(m[3]))] = {"top1": json.load(open(path))["top1"],
                                     "epochs": [e for e in events if e.get("event") == "epoch"],
                                     "stages": [e["stage"] for e in events if "stage" in e]}


def mean_se(values):
    mean = sum(values) / len(values)
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1) / len(values)) if len(values) > 1 else float("nan")
    return mean, se


def cell(values, unit="%"):
    if not values:
        return "–"
    mean, se = mean_se(values)
    return f"{mean:.1f}{unit}" if math.isnan(se) else f"{mean:.1f} ± {se:.1f}{unit}"


def seeds_of(model):
    return sorted(s for (m, mode, s) in runs if m == model and mode == "full" and (model, "itsl", s) in runs)


print("Test split, 10 clips × 3 crops; mean ± standard error over seeds; Δ is ITSL − full-size, paired by seed.")
print()
print("| model | seeds | full-size top-1 | ITSL top-1 | Δ (paired) | ITSL worse in | peak tensors ITSL / full | paper (KTH): full → ITSL |")
print("|---|---|---|---|---|---|---|---|")
for model in models:
    seeds = seeds_of(model)
    if not seeds:
        continue
    full = [runs[(model, "full", s)]["top1"] for s in seeds]
    itsl = [runs[(model, "itsl", s)]["top1"] for s in seeds]
    diff = [b - a for a, b in zip(full, itsl)]
    ratio = [max(st["peakTensorMB"] for st in runs[(model, "itsl", s)]["stages"]) /
             max(st["peakTensorMB"] for st in runs[(model, "full", s)]["stages"]) for s in seeds]
    p = paper[model]
    print(f"| {model} | {len(seeds)} | {cell(full)} | {cell(itsl)} | {cell(diff, ' pt')} | {sum(d < 0 for d in diff)}/{len(seeds)} | "
          f"{sum(ratio) / len(ratio):.2f}× | {p[0]}% → {p[1]}% ({p[1] - p[0]:+.2f}) |")

print()
print("Validation top-1 (the validation split, 1 clip × 3 crops) after every ITSL stage, mean over seeds:")
print()
header = None
for model in models:
    seeds = seeds_of(model)
    if not seeds:
        continue
    stages = [runs[(model, "itsl", s)]["stages"] for s in seeds]
    if header is None:
        header = [st["phase"] for st in stages[0]]
        print("| model | " + " | ".join(header) + " |")
        print("|---|" + "---|" * len(header))
    cols = [[st[i].get("valTop1") for st in stages if i < len(st)] for i in range(len(header))]
    print(f"| {model} | " + " | ".join(cell([v for v in col if v is not None]) for col in cols) + " |")

print()
print("Full-size training curve (training loss / training top-1 per epoch, mean over seeds) and the validation top-1 at its end:")
print()
width = None
for model in models:
    seeds = seeds_of(model)
    if not seeds:
        continue
    curves = [runs[(model, "full", s)]["epochs"] for s in seeds]
    n = min(len(c) for c in curves)
    if width is None:
        width = n
        print("| model | " + " | ".join(f"ep {i + 1}" for i in range(n)) + " | val top-1 |")
        print("|---|" + "---|" * (n + 1))
    cells = []
    for i in range(n):
        loss = sum(c[i]["loss"] for c in curves) / len(curves)
        top1 = sum(c[i]["top1"] for c in curves) / len(curves)
        cells.append(f"{loss:.2f} / {top1:.0f}%")
    val = [runs[(model, "full", s)]["stages"][-1].get("valTop1") for s in seeds]
    print(f"| {model} | " + " | ".join(cells) + f" | {cell([v for v in val if v is not None])} |")
