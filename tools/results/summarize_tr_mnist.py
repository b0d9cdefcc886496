"""The TR-MNIST reconstruction table for docs/RESULTS.md from tools/results/tr_mnist.sh's folder.

    python3 tools/results/summarize_tr_mnist.py results-tr-mnist
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "results-tr-mnist"
paper = {"recon3l-stdcf": "24.60", "recon3l-rank1": "21.50", "recon3l-reg3d": "–"}
print("| model | parameters | test PSNR (noisy input) | last epoch's training PSNR | paper (its own setting) |")
print("|---|---|---|---|---|")
for model in ["recon3l-stdcf", "recon3l-rank1", "recon3l-reg3d"]:
    try:
        result = json.load(open(os.path.join(out, model, "eval.json")))
        summary = json.load(open(os.path.join(out, model, "summary.json")))
        last = [json.loads(line) for line in open(os.path.join(out, model, "metrics.jsonl"))][-1]
    except FileNotFoundError:
        print(f"| {model} | – | – | – | {paper[model]} dB |")
        continue
    print(f"| {model} | {summary['params']:,} | {result['psnr']:.2f} dB ({result['noisy_psnr']:.2f} dB) | {last['psnr']:.2f} dB | {paper[model]} dB |")
