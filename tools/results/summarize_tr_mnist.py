"""The TR-MNIST reconstruction table for docs/RESULTS.md from tools/results/tr_mnist.sh's folder.

    python3 tools/results/summarize_tr_mnist.py results-tr-mnist
"""
import glob
import json
import os
import re
import sys

from stats import cell

out = sys.argv[1] if len(sys.argv) > 1 else "results-tr-mnist"
models = ["recon3l-stdcf", "recon3l-rank1", "recon3l-reg3d"]
paper = {"recon3l-stdcf": "24.60 dB", "recon3l-rank1": "21.50 dB", "recon3l-reg3d": "–"}
runs = {}
for path in glob.glob(os.path.join(out, "*", "eval.json")):
    m = re.fullmatch(r"(recon3l-\w+)-s(\d+)", os.path.basename(os.path.dirname(path)))
    if m:
        folder = os.path.dirname(path)
        runs[(m[1], int(m[2]))] = {
            "eval": json.load(open(path)), "params": json.load(open(os.path.join(folder, "summary.json")))["params"],
            "last": [json.loads(line) for line in open(os.path.join(folder, "metrics.jsonl"))][-1]}
seeds = sorted({s for (_, s) in runs if all((m, s) in runs for m in models)})
print(f"Test PSNR, mean ± standard error over {len(seeds)} seeds (seeds {', '.join(map(str, seeds))}):")
print()
print("| model | parameters | test PSNR | the noisy input's PSNR | last epoch's training PSNR | paper (its own setting) |")
print("|---|---|---|---|---|---|")
for model in models:
    rs = [runs[(model, s)] for s in seeds]
    if not rs:
        print(f"| {model} | – | – | – | – | {paper[model]} |")
        continue
    print(f"| {model} | {rs[0]['params']:,} | {cell([r['eval']['psnr'] for r in rs], ' dB')} | "
          f"{cell([r['eval']['noisy_psnr'] for r in rs], ' dB')} | {cell([r['last']['psnr'] for r in rs], ' dB')} | "
          f"{paper[model]} |")
if seeds:
    diff = [runs[("recon3l-stdcf", s)]["eval"]["psnr"] - runs[("recon3l-rank1", s)]["eval"]["psnr"] for s in seeds]
    print()
    print(f"STDCF − rank-1, paired by seed: {cell(diff, ' dB')}; STDCF ahead in {sum(d > 0 for d in diff)} of "
          f"{len(seeds)} (the paper: +3.10 dB).")
