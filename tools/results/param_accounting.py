"""STDCF-R50's parameter count (docs/RESULTS.md, "Parameter accounting").

The STDCF paper's Table 3 gives STDCF-R50 18.5M parameters. This counts a
3D ResNet-50 layer by layer from the paper's own per-layer formula (an STDCF
layer has Cin·Cout·M·N coefficients, M·k² spatial and N·t temporal atom
values) for several M, N and class counts, checks the M = 6, N = 2 count
against `clipkit model summary stdcf-r50`,
and prints which settings come near 18.5M.

    python3 tools/results/param_accounting.py [CLIPKIT]   (default: the release build, built when missing)
"""
import re
import subprocess
import sys

from clipkit_bin import clipkit_binary

WIDTHS, BLOCKS = [64, 128, 256, 512], [3, 4, 6, 3]


def resnet50(middle, classes, stem_time=3):
    """Parameters of a ResNet-50 whose 3×3 convs (w→w) have middle(w) parameters."""
    total = 3 * 64 * stem_time * 49 + 2 * 64            # stem conv + BN
    cin = 64
    for width, blocks in zip(WIDTHS, BLOCKS):
        for b in range(blocks):
            out = 4 * width
            total += cin * width + 2 * width             # 1×1×1 in + BN
            total += middle(width) + 2 * width           # middle conv + BN
            total += width * out + 2 * out               # 1×1×1 out + BN
            if b == 0:
                total += cin * out + 2 * out             # projection shortcut + BN
            cin = out
    return total + 2048 * classes + classes


def stdcf(m, n, k=3, t=3):
    return lambda w: w * w * m * n + m * k * k + n * t


def middle_total(middle):
    return sum(blocks * middle(width) for width, blocks in zip(WIDTHS, BLOCKS))


def main():
    rows = [("2D ResNet-50 (TSM, TIN)", lambda w: 9 * w * w, 1), ("3D-R50 (3×3×3)", lambda w: 27 * w * w, 3),
            ("rank-1 (2+1)D, w→w", lambda w: 12 * w * w, 3)]
    rows += [(f"STDCF M = {m}, N = {n}", stdcf(m, n), 3) for m, n in [(6, 2), (3, 2), (6, 1), (2, 2), (4, 1), (3, 1)]]
    print("| network | middle convs | total, 400 classes | total, 1000 classes |")
    print("|---|---|---|---|")
    for name, middle, stem in rows:
        print(f"| {name} | {middle_total(middle) / 1e6:.2f}M | {resnet50(middle, 400, stem) / 1e6:.2f}M | {resnet50(middle, 1000, stem) / 1e6:.2f}M |")
    base = resnet50(lambda w: 0, 400)
    mn = (18.5e6 - base) / middle_total(lambda w: w * w)
    print(f"\nWithout its middle convs the network has {base / 1e6:.2f}M (400 classes); 18.5M leaves "
          f"{(18.5e6 - base) / 1e6:.2f}M for them, M·N = {mn:.2f} per Cin·Cout.")
    clipkit = clipkit_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    text = subprocess.run([clipkit, "model", "summary", "stdcf-r50", "--classes", "400", "--input", "3x8x224x224"],
                          capture_output=True, text=True, check=True).stdout
    counted = int(re.search(r"stdcf-r50: (\d+) parameters", text)[1])
    formula = resnet50(stdcf(6, 2), 400)
    print(f"clipkit model summary stdcf-r50 --classes 400: {counted:,} parameters; the formula: {formula:,}"
          + (" (equal)" if counted == formula else " (DIFFERENT)"))
    if counted != formula:
        sys.exit(1)


if __name__ == "__main__":
    main()
