"""The Deep Analysis supplement's Table 3 costs (docs/RESULTS.md, "Model costs"):
parameters and FLOPs of ClipKit's ResNet-50 models beside the paper's, at 8
and 16 frames of 224², 87 classes (Mini-SSV2: 23.7M is a 2D ResNet-50 with
87 classes), and the caption's "FLOPs of 16-frame are the double of 8-frame
models, and number of parameters are the same".

Every figure comes from `clipkit model summary --json` (multiply-adds of the
convs, the classifier and the non-local blocks' attention, ×2 as FLOPs; the
table gives G multiply-adds, the paper's unit). A 2D ResNet-50 is also
counted here layer by layer in both stride conventions (stdcf_costs.py), and
the script exits with status 1 if ClipKit's tsn-r50 differs from that count.

    python3 tools/results/model_costs.py [CLIPKIT]   (default: the release build, built when missing)
"""
import sys

from clipkit_bin import clipkit_binary
from stdcf_costs import resnet50_macs, summary

# The supplement's Table 3, ResNet-50 rows at 8 frames: (G FLOPs as it counts them, M parameters).
PAPER = {"None (TSN)": (32.7, 23.7), "I3D": (64.2, 46.3), "TAM": (32.8, 23.7), "TSM": (32.7, 23.7),
         "NLN": (196, 31.0)}
ROWS = [("None (TSN)", "tsn-r50", ""), ("I3D", "i3d-r50", ""), ("TAM", "tam-r50", ""),
        ("TSM", "tsm-r50", "ClipKit's stem is 3×7×7 (TSM's is 2D)"),
        ("NLN", "nl-i3d-r50", "not the same network: ClipKit has I3D + 5 non-local blocks, the paper a 2D R50 + NL")]


def main():
    clipkit = clipkit_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    print("| aggregation | ClipKit model | params | paper | G mult-adds, 8 × 224² | paper | 16 frames / 8: FLOPs, params | note |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for name, model, note in ROWS:
        s8 = summary(clipkit, model, "3x8x224x224", classes=87)
        s16 = summary(clipkit, model, "3x16x224x224", classes=87)
        paper_flops, paper_params = PAPER[name]
        print(f"| {name} | {model} | {s8['params'] / 1e6:.1f}M | {paper_params}M | {s8['flops'] / 2e9:.1f} | "
              f"{paper_flops} | {s16['flops'] / s8['flops']:.2f}×, {s16['params'] / s8['params']:.2f}× | {note} |")
        if model == "tsn-r50":
            v1 = resnet50_macs(lambda w: 9 * w * w, side=224, classes=87, stem_time=1)
            v15 = resnet50_macs(lambda w: 9 * w * w, side=224, classes=87, stem_time=1, stride_in_3x3=True)
            failed |= 2 * v1 != s8["flops"]
            tsn_note = (f"A 2D ResNet-50 at 8 × 224² counted here: {v1 / 1e9:.2f} G with a stage's stride in its "
                        f"first 1×1 conv (ResNet v1, as ClipKit builds it; clipkit: {s8['flops'] / 2e9:.2f} G"
                        + ("" if 2 * v1 == s8["flops"] else ", DIFFERENT") + f"), {v15 / 1e9:.2f} G with it in "
                        "the 3×3 conv (torchvision's v1.5, 4.1 G a frame).")
    print()
    print(tsn_note)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
