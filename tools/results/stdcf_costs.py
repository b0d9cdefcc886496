"""STDCF's computation (docs/RESULTS.md, "STDCF's FLOPs"): the paper's §2.4
cost of a factored layer, the reduction rate it claims, and STDCF-R50's
52.2 GFLOPs (Table 3).

Counts a 3D ResNet-50 layer by layer (multiply-adds of every conv and the
classifier, as `clipkit model summary` counts them) with the middle 3×3×3
convs regular, composed STDCF (the same cost) or factored STDCF (the
paper's 2·Cin·M·T·W²(k² + N·t + N·Cout) FLOPs per layer). With a clipkit
It checks the count against `clipkit model summary --json` (the binary
named, or the release build) and exits with status 1 when they differ. Then it tries the conventions the paper does
not state (input size, the stem's temporal kernel, where a stage's stride
sits) to see which give 52.2.

    python3 tools/results/stdcf_costs.py [CLIPKIT]   (default: the release build, built when missing)
"""
import json
import subprocess
import sys

from clipkit_bin import clipkit_binary
from param_accounting import BLOCKS, WIDTHS

M, N, K, T_ATOM = 6, 2, 3, 3


def middle_regular(w):
    return w * w * T_ATOM * K * K


def middle_factored(w, m=M, n=N):
    return w * m * (K * K + n * T_ATOM + n * w)


def resnet50_macs(middle, frames=8, side=256, classes=400, stem_time=3, stride_in_3x3=False):
    """Multiply-adds of one clip; stride_in_3x3: torchvision's ResNet v1.5 (ClipKit builds v1, stride in the 1×1)."""
    s = side // 2
    total = 64 * 3 * stem_time * 49 * frames * s * s      # stem, spatial stride 2
    s //= 2                                               # max pool, stride 2
    cin = 64
    for stage, (w, blocks) in enumerate(zip(WIDTHS, BLOCKS)):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 0 else 1
            out_side = s // stride
            first_side = s if stride_in_3x3 else out_side
            positions = frames * out_side * out_side
            total += cin * w * frames * first_side * first_side   # 1×1×1 in
            total += middle(w) * positions                        # the middle conv
            total += w * 4 * w * positions                        # 1×1×1 out
            if b == 0:
                total += cin * 4 * w * positions                  # projection shortcut
            cin, s = 4 * w, out_side
    return total + 2048 * classes


def summary(clipkit, model, shape, classes=400):
    text = subprocess.run([clipkit, "model", "summary", model, "--input", shape, "--classes", str(classes), "--json"],
                          capture_output=True, text=True, check=True).stdout
    return json.loads(text)


def main():
    print("Per layer (STDCF §2.4), FLOPs per output position of a w→w middle layer, M = 6, N = 2, k = t = 3:")
    print()
    print("| width w | regular 3D: 2·w²·t·k² | factored: 2·w·M(k² + N·t + N·w) | factored / regular | paper's MN/(t·k²) |")
    print("|---|---|---|---|---|")
    for w in WIDTHS:
        regular, factored = 2 * middle_regular(w), 2 * middle_factored(w)
        print(f"| {w} | {regular:,} | {factored:,} | {factored / regular:.3f} | {M * N / (T_ATOM * K * K):.3f} |")
    print()
    composed = resnet50_macs(middle_regular)
    factored = resnet50_macs(middle_factored)
    failed = False
    clipkit = clipkit_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    s = summary(clipkit, "stdcf-r50", "3x8x256x256")
    r = summary(clipkit, "r3d50", "3x8x256x256")
    checks = [("stdcf-r50 all composed", s["composedFlops"], 2 * composed),
              ("stdcf-r50 all factored", s["factoredFlops"], 2 * factored),
              ("r3d50", r["flops"], 2 * composed)]
    for name, counted, formula in checks:
        same = counted == formula
        failed |= not same
        print(f"- clipkit model summary, {name}, 3x8x256x256: {counted / 1e9:.3f} GFLOPs; "
              f"the count here: {formula / 1e9:.3f}" + ("" if same else " (DIFFERENT)"))
    print()
    print("Whole network, one clip, 400 classes, in G multiply-adds (the unit of the paper's tables: its "
          "TSM-R50 is 33.0 G at 8 × 224², ResNet-50's 4.1 G a frame):")
    print()
    print("| input | stem t × 7 × 7 | stride of a stage in | regular 3D-R50 | STDCF-R50 factored | factored / regular |")
    print("|---|---|---|---|---|---|")
    for side in (224, 256):
        for stem in (1, 3, 5):
            for v15 in (False, True):
                reg = resnet50_macs(middle_regular, side=side, stem_time=stem, stride_in_3x3=v15)
                fac = resnet50_macs(middle_factored, side=side, stem_time=stem, stride_in_3x3=v15)
                where = "the 3×3 (torchvision, v1.5)" if v15 else "the 1×1 (ClipKit, v1)"
                print(f"| 8 × {side}² | {stem} | {where} | {reg / 1e9:.1f} | {fac / 1e9:.1f} | {fac / reg:.3f} |")
    print()
    print("The paper: STDCF-R50 52.2 GFLOPs (Table 3), input size for it not stated; 10 clips × 3 crops of 256² at test.")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
