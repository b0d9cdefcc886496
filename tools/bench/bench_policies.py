"""Every algorithm choice of `clipkit bench conv` against its alternatives on
this CPU (issue 28: "no threshold without its measurement"). For one model and
step shape it runs the default settings and each alternative (`--stacking
always`, `--winograd space`, ...) interleaved round by round, in a rotating
order shuffled by round, and prints, for every layer where an alternative
takes another algorithm (every layer for `--parallel`), the algorithms and the
paired speed-up of the alternative per pass (the median over rounds of default
time / alternative time, so > 1 means the alternative is faster), then the
totals over the network weighted by how often each shape occurs. A layer is
flagged when the alternative's total over the three passes is faster by more
than --margin in the median and faster in all rounds but at most one: that is
where `automatic` should choose differently on this CPU. An alternative that
takes the defaults' algorithm on every layer (one of the `--stacking` settings
is always the default) is run once only. Exit status 1 when a run failed.

    .venv-bench/bin/python tools/bench/bench_policies.py --clipkit .build/release/clipkit \
        --layers r2plus1d-r50 --input 3x8x112x112 --batch 4 --rounds 5

Each `bench conv` run takes 10-60 s on 2 cores, so the defaults and six
alternatives over 5 rounds take 6-35 minutes per model and shape. It needs
Python's standard library only.
"""
import argparse
import json
import os
import random
import statistics
import sys

from benchlib import add_conv_shape_arguments, conv_shape, run_json

PASSES = ("forward_ms", "dx_ms", "dw_ms")
SETTINGS = ["--stacking always", "--stacking never", "--winograd space", "--winograd 2x2", "--winograd never",
            "--parallel blas"]


def layer_times(run):
    """{layer name: (algorithm, count, {pass: ms})} of one `bench conv --json` run."""
    return {layer["name"]: (layer["algorithm"], layer["count"], {p: layer.get(p) for p in PASSES})
            for layer in run["layers"]}


def total(times):
    """A layer's time over the passes it has (the first layer has no dX)."""
    return sum(v for v in times.values() if v is not None)


def paired(default_runs, alternative_runs, name, key):
    """Per round, the default's time over the alternative's for one layer and pass (or the passes' total)."""
    ratios = []
    for d, a in zip(default_runs, alternative_runs):
        dt, at = d[name][2], a[name][2]
        num, den = (total(dt), total(at)) if key == "total" else (dt[key], at[key])
        if num and den:
            ratios.append(num / den)
    return ratios


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_conv_shape_arguments(ap)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--settings", nargs="+", default=SETTINGS,
                    help="alternatives to the defaults, each one string of `bench conv` options")
    ap.add_argument("--only", help="only these layers (comma-separated), as `bench conv --only`")
    ap.add_argument("--margin", type=float, default=0.05, help="speed-up over 1 that flags a layer (0.05: 5%%)")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    base = [a.clipkit, "bench", "conv", *conv_shape(a), "--threads", str(a.threads), "--json"]
    if a.only:
        base += ["--only", a.only]
    settings = [""] + a.settings
    runs = {s: [] for s in settings}
    failed, same = {}, []
    for r in range(a.rounds):
        order = [s for s in settings if s not in failed and s not in same]
        random.Random(r).shuffle(order)  # no setting always runs after the same one
        for s in order:
            cmd = base + s.split()
            try:
                runs[s].append(layer_times(run_json(cmd)))
            except Exception as error:  # a setting that fails is dropped; the others go on
                failed[s] = f"{error} {getattr(error, 'stderr', '') or ''}".strip()
                print(f"bench_policies: `{' '.join(cmd)}` failed: {failed[s]}", file=sys.stderr)
                if s == "":
                    sys.exit("bench_policies: the defaults failed; nothing to compare against")
        if r == 0:  # the defaults again under another name: nothing to measure
            same = [s for s in settings[1:] if s not in failed and "--parallel" not in s
                    and all(runs[s][0][n][0] == algo for n, (algo, _, _) in runs[""][0].items())]
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
        if a.json_out:  # every round kept as it comes
            with open(a.json_out + ".tmp", "w") as out:
                json.dump({"settings": settings, "runs": runs, "failed": failed, "same": same}, out)
            os.replace(a.json_out + ".tmp", a.json_out)
    default = runs[""]
    names = list(default[0])

    def weighted(setting_runs):
        """The network's convolutions, each shape's median over the rounds times how often it occurs."""
        return sum(count * statistics.median(total(run[name][2]) for run in setting_runs)
                   for name, (_, count, _) in default[0].items())

    default_ms = weighted(default)
    print(f"{a.layers}, batch {a.batch} × {a.input}, {a.threads} threads, {a.rounds} interleaved rounds; "
          "speed-up = default time / alternative time, median of the rounds' pairs")
    flagged = []
    for s in a.settings:
        if s in same:
            print(f"\n`{s}`: every layer takes the defaults' algorithm (run once)")
            continue
        if s in failed:
            print(f"\n`{s}` failed: {failed[s]}")
            if not runs[s]:
                continue
            print(f"(its first {len(runs[s])} rounds:)")
        alternative = runs[s]
        every_layer = "--parallel" in s  # the same algorithms, other threads: every layer compared
        print(f"\n`{s}` against the defaults\n")
        print("| layer | × | default | alternative | forward | dX | dW | all three (rounds faster) |")
        print("|---|---|---|---|---|---|---|---|")
        for name in names:
            (algo, count, _), (alt_algo, _, _) = default[0][name], alternative[0][name]
            if alt_algo == algo and not every_layer:  # the same code: only noise to compare
                continue
            cells = []
            for key in PASSES:
                ratios = paired(default, alternative, name, key)
                cells.append(f"{statistics.median(ratios):.2f}×" if ratios else "—")
            ratios = paired(default, alternative, name, "total")
            speedup = statistics.median(ratios)
            faster = sum(x > 1 for x in ratios)
            mark = ""
            if speedup > 1 + a.margin and faster >= len(ratios) - 1:
                mark = " **faster**"
                flagged.append((s, name, algo, alt_algo, speedup))
            print(f"| {name} | {count} | {algo} | {alt_algo} | " + " | ".join(cells)
                  + f" | {speedup:.2f}× ({faster}/{len(ratios)}){mark} |")
        alternative_ms = weighted(alternative)
        print(f"\nAll layers, weighted by ×: {default_ms:.0f} ms by default, {alternative_ms:.0f} ms with `{s}` "
              f"({default_ms / max(alternative_ms, 1e-9):.2f}×)")
    print()
    if flagged:
        print("Faster than the defaults by more than the margin:")
        for s, name, algo, alt_algo, speedup in flagged:
            print(f"- {name}: `{s}` ({alt_algo} instead of {algo}) {speedup:.2f}×")
    else:
        print(f"No alternative is faster than the defaults by more than {a.margin:.0%} on any layer.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
