"""Tables for docs/RESULTS.md from tools/results/itsl_table.sh's output folder.

    python3 tools/results/summarize.py results-out
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "results-out"


def stages(run):
    rows = []
    for line in open(os.path.join(out, run, "metrics.jsonl")):
        o = json.loads(line)
        if "stage" in o:
            rows.append(o["stage"])
    return rows


def evaluation(run, name="eval.json"):
    return json.load(open(os.path.join(out, run, name)))


paper = {"kth3l-reg3d": ("459.7M", 81.26, "229.5M (50.07% ↓)", 76.94), "kth3l-rank1": ("582.5M", 82.55, "290.5M (50.13% ↓)", 79.10),
         "kth3l-stdcf": ("459.4M", 85.61, "228.9M (50.17% ↓)", 84.93)}
def top1(run, name):
    try:
        return evaluation(run, name)["top1"]
    except FileNotFoundError:
        return None


def pct(v):
    return "–" if v is None else f"{v:.1f}%"


print("| model | full-size: peak tensors / RSS | full-size top-1 (precise BN) | ITSL: peak tensors / RSS (ratio to full) | ITSL top-1 (precise BN) | paper (KTH): full | paper: ITSL |")
print("|---|---|---|---|---|---|---|")
for model in ["kth3l-reg3d", "kth3l-rank1", "kth3l-stdcf"]:
    try:
        full, itsl = stages(f"{model}-full"), stages(f"{model}-itsl")
        ef, ei = evaluation(f"{model}-full"), evaluation(f"{model}-itsl")
    except FileNotFoundError:
        continue
    ft, fr = max(s["peakTensorMB"] for s in full), max(s["peakRSSMB"] for s in full)
    it, ir = max(s["peakTensorMB"] for s in itsl), max(s["peakRSSMB"] for s in itsl)
    p = paper[model]
    pf, pi = top1(f"{model}-full", "eval-precise-bn.json"), top1(f"{model}-itsl", "eval-precise-bn.json")
    delta = f", Δ {pi - pf:+.1f}" if pf is not None and pi is not None else ""
    print(f"| {model} | {ft:.0f} MB / {fr:.0f} MB | {ef['top1']:.1f}% (**{pct(pf)}**) | {it:.0f} MB / {ir:.0f} MB (**{it / ft:.2f}×** / {ir / fr:.2f}×) | "
          f"{ei['top1']:.1f}% (**{pct(pi)}**{delta}) | {p[0]}, {p[1]}% | {p[2]}, {p[3]}% ({p[3] - p[1]:+.2f}) |")
print()
print("Accuracy (validation, 1 clip × 3 crops) after every ITSL stage:")
print()
runs = [f"{m}-itsl" for m in ["kth3l-reg3d", "kth3l-rank1", "kth3l-stdcf"] if os.path.exists(os.path.join(out, f"{m}-itsl", "metrics.jsonl"))]
if runs:
    names = [s["phase"] for s in stages(runs[0])]
    print("| model | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for r in runs:
        print(f"| {r[:-5]} | " + " | ".join(f"{s['valTop1']:.0f}%" for s in stages(r)) + " |")
print()
print("Dilated atoms: the ITSL-trained kth3l-stdcf on full-size test clips (10 × 3 views):")
print()
print("| test dilation (temporal, spatial) | top-1 | top-5 |")
print("|---|---|---|")
for d in ["1-1", "2-1", "1-2", "2-2"]:
    try:
        e = evaluation("kth3l-stdcf-itsl", f"eval-dilation-{d}.json")
    except FileNotFoundError:
        continue
    t, s = d.split("-")
    print(f"| ({t}, {s}){' (the table’s test setting)' if d == '2-2' else ''} | {e['top1']:.1f}% | {e['top5']:.1f}% |")
