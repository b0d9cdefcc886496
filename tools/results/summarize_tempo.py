"""The tempo table for docs/RESULTS.md from tools/results/tempo.sh's folder:
top-1 per model and test, as mean ± standard error over the seeds found (seed
0's runs are named MODEL-tempoI, seed N's MODEL-tempoI-sN).

    python3 tools/results/summarize_tempo.py results-tempo
"""
import json
import os
import sys

from stats import cell, seeds_in

out = sys.argv[1] if len(sys.argv) > 1 else "results-tempo"
MODELS = ("kth3l-stdcf", "kth3l-rank1", "kth3l-reg3d")


def top1(model, trained, seed, tempo, dilation):
    run = f"{model}-tempo{trained}" + ("" if seed == 0 else f"-s{seed}")
    path = os.path.join(out, run, f"eval-tempo{tempo}-dilation{dilation}.json")
    return json.load(open(path))["top1"] if os.path.exists(path) else None


def values(model, trained, tempo, dilation):
    found = (top1(model, trained, s, tempo, dilation) for s in seed_list)
    return [v for v in found if v is not None]


def gaps(model, first, second):
    """first − second, (tempo, dilation) each, paired by seed."""
    pairs = [(top1(model, 1, s, *first), top1(model, 1, s, *second)) for s in seed_list]
    return [a - b for a, b in pairs if a is not None and b is not None]


seed_list = seeds_in(out, r"kth3l-(?:stdcf|rank1|reg3d)-tempo\d")
matched = any(values(m, 2, 1, "1-1") for m in MODELS)   # MATCHED=1 runs
print(f"Seeds: {', '.join(map(str, seed_list)) or 'none'}; top-1 %, mean ± s.e. over the seeds.")
print()
print("| model | seeds | trained at tempo 1, tested at tempo 1 | tempo 2, temporal dilation 1 | tempo 2, temporal dilation 2 |"
      + (" trained and tested at tempo 2 |" if matched else ""))
print("|---|---|---|---|---|" + ("---|" if matched else ""))
for model in MODELS:
    tests = [values(model, 1, 1, "1-1"), values(model, 1, 2, "1-1"), values(model, 1, 2, "2-1")]
    print(f"| {model} | {max(map(len, tests))} | " + " | ".join(map(cell, tests)) + " |"
          + (f" {cell(values(model, 2, 1, '1-1'))} |" if matched else ""))
print()
print("At tempo 2, paired by seed: what tempo 2 costs (tempo 1 − tempo 2, dilation 1), and what")
print("dilating the temporal atoms by 2 adds (dilation 2 − dilation 1), with the seeds where it helps:")
for model in MODELS:
    cost = gaps(model, (1, "1-1"), (2, "1-1"))
    gain = gaps(model, (2, "2-1"), (2, "1-1"))
    print(f"- {model}: cost {cell(cost)}, dilation 2 {cell(gain)} ({sum(g > 0 for g in gain)}/{len(gain)})")
