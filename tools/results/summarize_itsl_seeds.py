"""The seeded ITSL tables for docs/RESULTS.md from tools/results/itsl_seeds.sh's folder.

    python3 tools/results/summarize_itsl_seeds.py results-itsl-seeds
"""
import glob
import json
import os
import re
import sys

from stats import cell

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


# Seeds with both a full-size and an ITSL run, per model that has any.
seeds = {model: found for model in models
         if (found := sorted(s for (m, mode, s) in runs if m == model and mode == "full" and (model, "itsl", s) in runs))}


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def comparison(model, ss):
    full = [runs[(model, "full", s)]["top1"] for s in ss]
    itsl = [runs[(model, "itsl", s)]["top1"] for s in ss]
    diff = [b - a for a, b in zip(full, itsl)]
    ratio = [max(st["peakTensorMB"] for st in runs[(model, "itsl", s)]["stages"]) /
             max(st["peakTensorMB"] for st in runs[(model, "full", s)]["stages"]) for s in ss]
    p = paper[model]
    return [model, str(len(ss)), cell(full, "%"), cell(itsl, "%"), cell(diff, " pt"), f"{sum(d < 0 for d in diff)}/{len(ss)}",
            f"{sum(ratio) / len(ratio):.2f}×", f"{p[0]}% → {p[1]}% ({p[1] - p[0]:+.2f})"]


def per_stage(model, ss, count):
    stages = [runs[(model, "itsl", s)]["stages"] for s in ss]
    return [model] + [cell([st[i]["valTop1"] for st in stages if i < len(st) and st[i].get("valTop1") is not None], "%")
                      for i in range(count)]


def curve(model, ss, count):
    curves = [runs[(model, "full", s)]["epochs"] for s in ss]
    means = [(sum(c[i]["loss"] for c in curves) / len(curves), sum(c[i]["top1"] for c in curves) / len(curves)) for i in range(count)]
    val = [v for s in ss if (v := runs[(model, "full", s)]["stages"][-1].get("valTop1")) is not None]
    return [model] + [f"{loss:.2f} / {top1:.0f}%" for loss, top1 in means] + [cell(val, "%")]


print("Test split, 10 clips × 3 crops; mean ± standard error over seeds; Δ is ITSL − full-size, paired by seed.")
print()
table(["model", "seeds", "full-size top-1", "ITSL top-1", "Δ (paired)", "ITSL worse in", "peak tensors ITSL / full", "paper (KTH): full → ITSL"],
      [comparison(m, ss) for m, ss in seeds.items()])
if seeds:
    print()
    print("Validation top-1 (the validation split, 1 clip × 3 crops) after every ITSL stage, mean over seeds:")
    print()
    first = next(iter(seeds.items()))
    phases = [st["phase"] for st in runs[(first[0], "itsl", first[1][0])]["stages"]]
    table(["model"] + phases, [per_stage(m, ss, len(phases)) for m, ss in seeds.items()])
    print()
    print("Full-size training curve (training loss / training top-1 per epoch, mean over seeds) and the validation top-1 at its end:")
    print()
    epochs = min(len(runs[(m, "full", s)]["epochs"]) for m, ss in seeds.items() for s in ss)
    table(["model"] + [f"ep {i + 1}" for i in range(epochs)] + ["val top-1"], [curve(m, ss, epochs) for m, ss in seeds.items()])
