"""STDCF Tables 3–4's memory (docs/RESULTS.md, "ITSL's memory at the paper's
input"): stdcf-r50's peak tensor memory in a training step on full-size
clips (8 × 224²) against ITSL's stage-t clips (8 × 112²) and stage-s clips
(4 × 224²), the sizes of the paper's §3.2.1.

Each figure is `clipkit bench train --json`'s peak_tensor_mb (the tensor
allocator's high-water mark, not RSS) for one step after a warm-up, with one
thread so that it does not depend on how threads interleave, and
CLIPKIT_SIMD=avx2 so that it does not depend on the CPU, at batches 4
and 6 (the paper gives no batch for these tables): the difference is what a
clip costs beyond the weights, gradients and optimizer state. Both batches
take the same algorithm in every layer: at AVX2, R50's stage 5 at 8 × 112²
(32 Winograd tiles a sample) takes stacked Winograd from batch 4 on, and
columns below it, so a batch of 2 against 4 would count its transformed
weights as a clip's. The stages'
dilations and frozen atoms do not change the sizes of the tensors, so the
plain training step on each stage's input stands for it.

    python3 tools/results/stdcf_memory.py [CLIPKIT]   (default: the release build, built when missing)
"""
import argparse

from clipkit_bin import clipkit_binary, peak_tensor_mb

# (name, input, paper's Kinetics-400 Table 3, paper's Something-Something v1 Table 4), G.
SETTINGS = [("full-size", "3x8x224x224", 7.9, 7.8), ("ITSL stage-s", "3x4x224x224", 3.8, 3.8),
            ("ITSL stage-t", "3x8x112x112", 1.9, 1.9)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("clipkit", nargs="?")
    a = parser.parse_args()
    clipkit = clipkit_binary(a.clipkit)
    # R50's stage 5 takes Winograd per sample with brgemm (AVX-512) and over stacked samples at AVX2, with
    # transformed weights of other sizes; capped at AVX2, the figures are the same on every x86-64 machine.
    small = [peak_tensor_mb(clipkit, "stdcf-r50", shape, 4, simd="avx2") for _, shape, _, _ in SETTINGS]
    large = [peak_tensor_mb(clipkit, "stdcf-r50", shape, 6, simd="avx2") for _, shape, _, _ in SETTINGS]
    per_clip = [(b - s) / 2 for s, b in zip(small, large)]
    print("stdcf-r50, one training step (automatic execution), peak tensor memory; per clip: (batch 6 − batch 4) / 2")
    print()
    print("| setting | clip | batch 4 | / full | batch 6 | / full | per clip | / full | paper, K400 (Table 3) | / full "
          "| paper, SSv1 (Table 4) | / full |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, (name, shape, k400, ss) in enumerate(SETTINGS):
        _, frames, side, _ = shape.split("x")
        clip = f"{frames} × {side}²"
        print(f"| {name} | {clip} | {small[i]:.0f} MB | {small[i] / small[0]:.2f}× | {large[i]:.0f} MB | "
              f"{large[i] / large[0]:.2f}× | {per_clip[i]:.0f} MB | {per_clip[i] / per_clip[0]:.2f}× | "
              f"{k400}G | {k400 / SETTINGS[0][2]:.2f}× | {ss}G | {ss / SETTINGS[0][3]:.2f}× |")


if __name__ == "__main__":
    main()
