"""Per-layer convolution times against PyTorch (issue 28): `clipkit bench conv`
and conv_peer.py on the same shapes, interleaved round by round; medians per
layer and pass. Prints a Markdown table (ms; ratio = PyTorch's time over
ClipKit's, so > 1 means ClipKit is faster) and the totals weighted by how
often each shape occurs in the network.

    .venv-bench/bin/python tools/bench/bench_conv.py --clipkit .build/release/clipkit \
        --layers r3d50 --input 3x8x112x112 --batch 4 --rounds 5 [--only res5.conv3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from benchlib import add_conv_shape_arguments, conv_shape, run_json

HERE = os.path.dirname(os.path.abspath(__file__))
PASSES = ("forward_ms", "dx_ms", "dw_ms")


def main():
    ap = argparse.ArgumentParser()
    add_conv_shape_arguments(ap)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="only these layers (comma-separated), as `bench conv --only`: one timed alone")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    shape = conv_shape(a) + (["--only", a.only] if a.only else [])
    specs = subprocess.run([a.clipkit, "bench", "conv", *shape, "--list"], check=True, capture_output=True,
                           text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(specs)
    ours, theirs = [], []
    keep = a.json_out or os.devnull
    for r in range(a.rounds):
        ours.append(run_json([a.clipkit, "bench", "conv", *shape, "--threads", str(a.threads), "--json"]))
        theirs.append(run_json([sys.executable, "conv_peer.py", f.name, "--threads", str(a.threads)], cwd=HERE))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
        with open(keep, "w") as out:  # every round kept as it comes
            json.dump({"clipkit": ours, "torch": theirs}, out, indent=1)
    os.unlink(f.name)
    names = [layer["name"] for layer in ours[0]["layers"]]

    def med(runs, i, key):
        values = [run["layers"][i].get(key) for run in runs]  # dX: absent for the first layer
        return None if values[0] is None else statistics.median(values)

    print(f"{a.layers}, batch {a.batch} × {a.input}, {a.threads} threads; ClipKit {ours[0]['parallel']}-parallel; "
          f"sgemm peak {statistics.median(o['sgemm_peak_gflop_per_s'] for o in ours):.0f} GFLOP/s")
    print()
    print("| layer | × | algorithm | GFLOP | forward ms (ClipKit / PyTorch) | dX ms | dW ms |")
    print("|---|---|---|---|---|---|---|")
    totals = {key: [0.0, 0.0] for key in PASSES}
    table = []
    for i, name in enumerate(names):
        layer = ours[0]["layers"][i]
        cells = []
        row = {"name": name, "count": layer["count"], "algorithm": layer["algorithm"]}
        for key in PASSES:
            o, t = med(ours, i, key), med(theirs, i, key)
            row[key] = (o, t)
            if o is None:
                cells.append("—")
                continue
            totals[key][0] += o * layer["count"]
            totals[key][1] += t * layer["count"]
            cells.append(f"{o:.1f} / {t:.1f} ({t / max(o, 1e-9):.2f}×)")
        table.append(row)
        print(f"| {name} | {layer['count']} | {layer['algorithm']} | {layer['gflops']:.2f} | " + " | ".join(cells) + " |")
    cells = [f"{o:.0f} / {t:.0f} ({t / max(o, 1e-9):.2f}×)" for o, t in (totals[k] for k in PASSES)]
    print("| **all, weighted by ×** | | | | " + " | ".join(cells) + " |")
    if a.json_out:
        with open(a.json_out, "w") as out:
            json.dump({"clipkit": ours, "torch": theirs, "table": table, "totals": totals}, out, indent=1)


if __name__ == "__main__":
    main()
