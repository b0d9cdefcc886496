"""The speed and memory targets of issue 28 in one command (`make bench-speed`):
R50 training steps at 4 × 3×8×112×112 and 2 × 3×4×224×224, kth3l's steps,
and 30-view inference, each against PyTorch in interleaved rounds (by
bench_train.py and bench_eval.py, whose JSON it keeps), then one table of
every target with its measurement, the CPU and the BLAS core beside it
(`clipkit doctor`). Exit status 0 when every target holds, else 1.

    .venv-bench/bin/python tools/bench/speed_targets.py --clipkit .build/release/clipkit --out bench-data/speed

--before BUILD runs an earlier build in the same rounds of the training
steps (paired speed-ups). Each part takes 5–15 minutes on 2 cores.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (part, script, arguments, the models it measures)
PARTS = {
    "r50-112": ("bench_train.py", ["--input", "3x8x112x112", "--batch", "4"], ["r3d50", "r2plus1d-r50", "stdcf-r50:composed"]),
    "r50-224": ("bench_train.py", ["--input", "3x4x224x224", "--batch", "2"], ["r3d50", "r2plus1d-r50", "stdcf-r50:composed"]),
    "kth3l": ("bench_train.py", [], ["kth3l-reg3d", "kth3l-stdcf:composed"]),
    "eval": ("bench_eval.py", [], ["r3d50", "stdcf-r50"]),
}
SPEED = {"r3d50": 1.5, "r2plus1d-r50": 1.5, "stdcf-r50:composed": 1.5, "stdcf-r50": 1.5,
         "kth3l-reg3d": 2.5, "kth3l-stdcf:composed": 3.0}
RSS = 0.6


def doctor(clipkit):
    """The CPU and BLAS core lines of `clipkit doctor`."""
    out = subprocess.run([clipkit, "doctor"], capture_output=True, text=True).stdout
    keep = ("CPU", "features", "kernels", "core", "sgemm")
    return [line for line in out.splitlines() if line.split(" ")[0] in keep]


def run_part(part, a):
    script, extra, models = PARTS[part]
    out = os.path.join(a.out, f"{part}.json")
    cmd = [sys.executable, os.path.join(HERE, script), "--clipkit", a.clipkit, "--models", *models,
           "--rounds", str(a.rounds), "--json-out", out, *extra]
    if script == "bench_train.py":
        cmd += ["--steps", str(a.steps)]
        if a.before:
            cmd += ["--before", a.before]
    print(f"== {part}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=HERE)
    with open(out) as f:
        results = json.load(f)
    return results.get("models", results)


def rows(part, results):
    """(target, measured, holds) for every model of a part."""
    label = {"r50-112": "training, 4 × 3×8×112×112", "r50-224": "training, 2 × 3×4×224×224",
             "kth3l": "training, 16 × 3×16×60×80", "eval": "inference, 30 views of 3×8×224×224"}[part]
    for spec, r in results.items():
        speed, rss = r["speed_ratio"], r["rss_ratio"]
        target = SPEED[spec]
        paired = f"; paired against --before {r['paired_speedup']:.2f}×" if "paired_speedup" in r else ""
        yield (f"{spec}, {label}", f"≥ {target}× speed, ≤ {RSS}× RSS",
               f"{speed:.2f}×, {rss:.2f}× RSS{paired}", speed >= target and rss <= RSS)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--before", help="an earlier build, run in the same rounds of the training steps")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    ap.add_argument("--out", default="bench-data/speed", help="folder for each part's JSON and summary.json")
    a = ap.parse_args()
    a.clipkit = os.path.abspath(a.clipkit)
    a.before = os.path.abspath(a.before) if a.before else None
    a.out = os.path.abspath(a.out)
    os.makedirs(a.out, exist_ok=True)
    machine = doctor(a.clipkit)
    table = []
    for part in a.parts:
        table += list(rows(part, run_part(part, a)))
    print("\n".join(f"    {line}" for line in machine))
    print()
    print("| job | target | measured | holds |")
    print("|---|---|---|---|")
    for job, target, measured, holds in table:
        print(f"| {job} | {target} | {measured} | {'yes' if holds else '**no**'} |")
    summary = {"machine": machine, "rounds": a.rounds, "steps": a.steps,
               "targets": [dict(zip(("job", "target", "measured", "holds"), row)) for row in table]}
    tmp = os.path.join(a.out, "summary.json.tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, os.path.join(a.out, "summary.json"))
    sys.exit(0 if all(row[3] for row in table) else 1)


if __name__ == "__main__":
    main()
