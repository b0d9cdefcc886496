"""The tempo table for docs/RESULTS.md from tools/results/tempo.sh's folder.

    python3 tools/results/summarize_tempo.py results-tempo
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "results-tempo"


def top1(run, tempo, dilation):
    path = os.path.join(out, run, f"eval-tempo{tempo}-dilation{dilation}.json")
    return f"{json.load(open(path))['top1']:.1f}%" if os.path.exists(path) else "–"


models = ["kth3l-stdcf", "kth3l-rank1", "kth3l-reg3d"]
matched = any(os.path.isdir(os.path.join(out, f"{m}-tempo2")) for m in models)   # MATCHED=1 runs
print("| model | trained at tempo 1, tested at tempo 1 | tempo 2, temporal dilation 1 | tempo 2, temporal dilation 2 |"
      + (" trained and tested at tempo 2 |" if matched else ""))
print("|---|---|---|---|" + ("---|" if matched else ""))
for model in models:
    run = f"{model}-tempo1"
    print(f"| {model} | {top1(run, 1, '1-1')} | {top1(run, 2, '1-1')} | {top1(run, 2, '2-1')} |"
          + (f" {top1(model + '-tempo2', 1, '1-1')} |" if matched else ""))
