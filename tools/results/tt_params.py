"""The 3DTT paper's parameter counts (docs/RESULTS.md, "3DTT's parameters"):
which filter counts its Table 2 networks have, and its "up to 45% fewer
parameters".

The paper says the filter counts of both LeNet-5s changed with the
training-set size, without giving them. LeNet-5 on 30 × 28 × 28 clips
(conv 5³ → pool 2 → conv 5³ valid → pool 2 → 120 → 84 → 10) has
    3D:   f1·(125 + 1) + f2·(125·f1 + 1) + 120·125·f2 + 120 + 10,164 + 850
    3DTT: f1·(25 + 16 + 1) + f2·(25·f1 + 16 + 1) + the same linear layers
parameters (a 3DTT kernel: a 5 × 5 slice per input channel, 4 affine
transforms of 4 numbers per output channel, a bias). This finds the
(f1, f2) that give each of the paper's counts exactly, and checks the
formulas against `clipkit model summary` for ClipKit's fixed lenet5-3d and
lenet5-3dtt (6 and 16 filters; ClipKit's 3DTT convs have no bias), exiting
with status 1 if they differ.

    python3 tools/results/tt_params.py [CLIPKIT]   (default: the release build, built when missing)
"""
import sys

from clipkit_bin import clipkit_binary
from stdcf_costs import summary

LINEAR = 120 + 120 * 84 + 84 + 84 * 10 + 10
# The paper's Table 2: training videos → (3D parameters, 3DTTN parameters).
PAPER = {10: (375668, 444966), 20: (496430, 348612), 30: (496430, 444966), 40: (496430, 348612),
         50: (496430, 444966), 100: (496430, 348612), 500: (496430, 222940), 1000: (496430, 254058),
         2000: (496430, 222940), 5000: (496430, 222940)}


def regular(f1, f2, bias=1):
    return f1 * (125 + bias) + f2 * (125 * f1 + bias) + 120 * 125 * f2 + LINEAR


def tt(f1, f2, bias=1):
    return f1 * (25 + 16 + bias) + f2 * (25 * f1 + 16 + bias) + 120 * 125 * f2 + LINEAR


def filters(count, formula):
    found = [(a, b) for a in range(1, 129) for b in range(1, 129) if formula(a, b) == count]
    return " or ".join(f"{a}, {b}" for a, b in found) or "none"


def main():
    clipkit = clipkit_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    checks = [("lenet5-3d", regular(6, 16)), ("lenet5-3dtt", tt(6, 16, bias=0))]
    failed = False
    for model, formula in checks:
        counted = summary(clipkit, model, "1x30x28x28", classes=10)["params"]
        failed |= counted != formula
        print(f"- clipkit model summary {model} --input 1x30x28x28 --classes 10: {counted:,} parameters; "
              f"the formula: {formula:,}" + ("" if counted == formula else " (DIFFERENT)"))
    print()
    print("| training videos | paper: 3D parameters | its filters (f1, f2) | paper: 3DTTN parameters | its filters | "
          "3DTTN / 3D |")
    print("|---|---|---|---|---|---|")
    for videos, (p3d, ptt) in PAPER.items():
        print(f"| {videos} | {p3d:,} | {filters(p3d, regular)} | {ptt:,} | {filters(ptt, tt)} | {ptt / p3d:.2f} |")
    print(f"| ClipKit, every size | {regular(6, 16):,} (lenet5-3d) | 6, 16 | {tt(6, 16, bias=0):,} (lenet5-3dtt) | "
          f"6, 16 | {tt(6, 16, bias=0) / regular(6, 16):.2f} |")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
