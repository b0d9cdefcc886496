"""`make bench` for MPI data parallelism (issue 14): allreduce time against
message size over 2 ranks, then the training step as 2 ranks × 1 thread
against 1 process × 2 threads (interleaved rounds, medians) with the share of
the step spent waiting for gradient sums, and a scaling model for 2–64 nodes
from the measured compute time and gradient bytes. Prints Markdown.
Needs only the clipkit binary and Open MPI (no Python packages).
"""
import argparse
import json
import os
import statistics
import sys

from benchlib import run_json

MPIRUN = ["mpirun", "-np", "2", "--oversubscribe", "--mca", "btl", "self,vader"]
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json-out")
    ap.add_argument("--only-buckets", action="store_true", help="just the bucket-size sweep")
    a = ap.parse_args()
    out = {}
    if a.only_buckets:
        bucket_sweep(a, out)
        return
    ar = run_json(MPIRUN + [a.clipkit, "bench", "allreduce", "--json"])
    out["allreduce"] = ar
    print("| message | median | min | bus bandwidth |")
    print("|---|---|---|---|")
    for r in ar["rows"]:
        print(f"| {r['bytes'] / 1024:.0f} KiB | {r['median_us']:.1f} µs | {r['min_us']:.1f} µs | {r['bus_gb_per_s']:.2f} GB/s |")
    print()
    models = [("kth3l-reg3d", "3x16x60x80", 16, 5), ("stdcf-r50", "3x8x112x112", 4, 2)]
    print("| model, global batch | 1 process × 2 threads | 2 ranks × 1 thread | ratio | waiting for gradient sums | gradients per step |")
    print("|---|---|---|---|---|---|")
    for name, shape, batch, steps in models:
        common = ["bench", "train", "--model", name, "--input", shape, "--batch", str(batch), "--steps", str(steps), "--json"]
        single, ranks = [], []
        for r in range(a.rounds):
            single.append(run_json([a.clipkit, *common, "--threads", "2"]))
            ranks.append(run_json(MPIRUN + [a.clipkit, *common, "--threads", "1"]))
            print(f"{name} round {r + 1}/{a.rounds}: 1×2 {single[-1]['clips_per_s']:.2f} clips/s, "
                  f"2×1 {ranks[-1]['clips_per_s']:.2f} clips/s, wait {ranks[-1]['comm_wait_ms']:.1f} ms", file=sys.stderr)
        s = statistics.median(x["clips_per_s"] for x in single)
        m = statistics.median(x["clips_per_s"] for x in ranks)
        step = statistics.median(x["step_ms"] for x in ranks)
        wait = statistics.median(x["comm_wait_ms"] for x in ranks)
        mb = ranks[0]["allreduce_mb_per_step"]
        out[name] = {"single": single, "ranks": ranks}
        print(f"| {name} {shape}, batch {batch} | {s:.2f} clips/s, peak RSS {max(x['peak_rss_mb'] for x in single):.0f} MB "
              f"| {m:.2f} clips/s, peak RSS {max(x['peak_rss_mb'] for x in ranks):.0f} MB per rank | **{m / s:.2f}×** "
              f"| {wait:.1f} ms of a {step:.0f} ms step ({100 * wait / step:.1f}%; includes waiting for the slower rank) | {mb:.1f} MiB in {ranks[0]['buckets']} buckets |")
        out[name]["model"] = scaling(name, step / 1000 - wait / 1000, mb * 1048576, ar)
    print()
    print("Scaling model (ring allreduce: each step sends 2(N−1)/N × the gradient bytes per node, plus 2(N−1) latencies of 20 µs; "
          "compute per step as measured here per rank; efficiency = compute / (compute + exposed communication), "
          "without overlap and with the communication hidden behind the backward pass, ~2/3 of the step):")
    print()
    print_model(out, [m[0] for m in models])
    print()
    bucket_sweep(a, out)
    if a.json_out:
        json.dump(out, open(a.json_out, "w"), indent=1)


def bucket_sweep(a, out):
    """stdcf-r50 (104 MiB of gradients) on 2 ranks with buckets of 1 to 128 MiB, interleaved rounds."""
    sizes = [1, 4, 25, 128]
    runs = {b: [] for b in sizes}
    for r in range(a.rounds):
        for b in sizes:
            runs[b].append(run_json(MPIRUN + [a.clipkit, "bench", "train", "--model", "stdcf-r50", "--input", "3x8x112x112", "--batch", "4",
                                              "--steps", "2", "--threads", "1", "--bucket-mb", str(b), "--json"]))
            print(f"buckets {b} MiB round {r + 1}/{a.rounds}: {runs[b][-1]['step_ms']:.0f} ms/step, wait {runs[b][-1]['comm_wait_ms']:.1f} ms",
                  file=sys.stderr)
    out["buckets"] = runs
    print("| stdcf-r50 on 2 ranks, bucket_mb | buckets | step (median) | waiting for gradient sums after backward (median) |")
    print("|---|---|---|---|")
    for b in sizes:
        print(f"| {b} | {runs[b][0]['buckets']} | {statistics.median(x['step_ms'] for x in runs[b]):.0f} ms "
              f"| {statistics.median(x['comm_wait_ms'] for x in runs[b]):.1f} ms |")


def print_model(out, names):
    print("| model | node | compute per step | link | nodes | communication per step | efficiency, no overlap | efficiency, overlapped |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        for row in out[name]["model"]:
            if row["nodes"] not in (2, 16, 64):
                continue
            node = "this machine's rank" if row["speedup"] == 1 else f"{row['speedup']}× faster"
            print(f"| {name} | {node} | {row['compute_ms']:.0f} ms | {row['gbps']} Gb/s | {row['nodes']} | {row['comm_ms']:.0f} ms "
                  f"| {100 * row['no_overlap']:.0f}% | {100 * row['overlap']:.0f}% |")


def scaling(name, compute_s, grad_bytes, allreduce):
    """Per node: this machine's measured compute per step (one rank's), and the
    same work on a node 16× faster (e.g. 32 cores at this per-core speed)."""
    rows = []
    for speedup in (1, 16):
        compute = compute_s / speedup
        for gbps in (10, 25):
            bandwidth = gbps * 1e9 / 8
            for nodes in (2, 8, 16, 64):
                comm = 2 * (nodes - 1) / nodes * grad_bytes / bandwidth + 2 * (nodes - 1) * 20e-6
                exposed = max(0.0, comm - compute * 2 / 3)
                rows.append({"speedup": speedup, "gbps": gbps, "nodes": nodes, "comm_ms": comm * 1000, "compute_ms": compute * 1000,
                             "no_overlap": compute / (compute + comm), "overlap": compute / (compute + exposed)})
    return rows


if __name__ == "__main__":
    main()
