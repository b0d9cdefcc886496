"""What Winograd's tile sizes gain per layer (issue 28): `clipkit bench conv`
on the layers that run by Winograd, with `--winograd automatic` (F(4×4, 3×3)
where a sample, or a stack of samples, has 128 of its tiles) against `--winograd 2x2` (F(2×2, 3×3)
only), interleaved round by round; medians per layer and pass. Prints a
Markdown table: ms automatic / 2x2, and the gain (2x2's time over
automatic's). ClipKit alone: no peer.

    .venv-bench/bin/python tools/bench/bench_winograd.py --clipkit .build/release/clipkit \
        --layers r3d50 --input 3x8x112x112 --batch 4 --rounds 5
"""
import argparse
import statistics
import sys

from benchlib import add_conv_shape_arguments, conv_shape, run_json

PASSES = ("forward_ms", "dx_ms", "dw_ms")
POLICIES = ("automatic", "2x2")


def main():
    ap = argparse.ArgumentParser()
    add_conv_shape_arguments(ap)
    ap.add_argument("--only", help="comma-separated layer names (default: every layer Winograd may take)")
    a = ap.parse_args()
    shape = conv_shape(a)
    listing = run_json([a.clipkit, "bench", "conv", *shape, "--list"])
    # The 3×3 stride-1 layers with at least 8 channels: those Winograd may take.
    names = [s["name"] for s in listing if s["kernel"][1:] == [3, 3] and s["stride"] == [1, 1, 1]
             and s["cin"] >= 8]
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    # One process per layer and policy, the two policies back to back, so
    # that the machine's drift (±20% from minute to minute) hits both alike.
    runs = {(name, p): [] for name in names for p in POLICIES}
    for r in range(a.rounds):
        for name in names:
            for policy in POLICIES:
                result = run_json([a.clipkit, "bench", "conv", *shape, "--only", name, "--winograd", policy, "--json"])
                runs[(name, policy)].append(result["layers"][0])
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)

    def med(policy, i, key):
        values = [layer.get(key) for layer in runs[(names[i], policy)]]  # dX: absent without input gradient
        return None if values[0] is None else statistics.median(values)

    print(f"{a.layers}, batch {a.batch} × {a.input}; ms with automatic / with 2x2 (gain); medians of {a.rounds}")
    print()
    print("| layer | × | automatic takes | forward ms | dX ms | dW ms |")
    print("|---|---|---|---|---|---|")
    for i, name in enumerate(names):
        layer = runs[(name, "automatic")][0]
        cells = []
        for key in PASSES:
            ours, small = med("automatic", i, key), med("2x2", i, key)
            cells.append("—" if ours is None else f"{ours:.1f} / {small:.1f} ({small / ours:.2f}×)")
        print(f"| {name} | {layer['count']} | {layer['algorithm']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
