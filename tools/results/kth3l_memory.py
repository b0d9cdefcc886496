"""STDCF Table 2's memory column (docs/RESULTS.md, "The three layer types'
memory"): the peak tensor memory of a kth3l training step for each layer
type on the paper's KTH clips (16 × 60 × 80, batch 16), full-size and on
ITSL's stage inputs (stage-t 16 × 30 × 40, stage-s 8 × 60 × 80; β = γ = 2).

Each figure is `clipkit bench train --json`'s peak_tensor_mb (the tensor
allocator's high-water mark, not RSS) for one step, with one thread so that
it does not depend on how threads interleave, and with CLIPKIT_SIMD=avx2
so that it does not depend on the CPU (at AVX-512, brgemm's lower
Winograd thresholds choose other algorithms: full-size 380.0 MB instead of
385.3 on Zen 4). The stages' dilations and
frozen atoms do not change the sizes of the tensors, so the plain training
step on each stage's input stands for it.

    python3 tools/results/kth3l_memory.py [CLIPKIT]   (default: the release build, built when missing)
"""
import argparse

from clipkit_bin import clipkit_binary, peak_tensor_mb

# (model, the paper's layer type, its full-size memory and its ITSL memory, M).
MODELS = [("kth3l-reg3d", "Reg. 3D", 459.7, 229.5), ("kth3l-rank1", "Rank-1 3D", 582.5, 290.5),
          ("kth3l-stdcf", "STDCF", 459.4, 228.9)]
INPUTS = {"full-size": "3x16x60x80", "stage-t": "3x16x30x40", "stage-s": "3x8x60x80"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("clipkit", nargs="?")
    a = parser.parse_args()
    clipkit = clipkit_binary(a.clipkit)
    rows = []
    for model, layer, paper_full, paper_itsl in MODELS:
        p = {name: peak_tensor_mb(clipkit, model, shape, 16, simd="avx2") for name, shape in INPUTS.items()}
        rows.append((model, layer, p, paper_full, paper_itsl))
    reg3d = rows[0][2]["full-size"]
    print("Peak tensor memory of a training step, batch 16, MB; ITSL's is its larger stage's.")
    print()
    print("| model | full-size | / reg. 3D | stage-t | stage-s | ITSL / full-size | paper (KTH, GPU): full-size, / Reg. 3D | paper: ITSL / full-size |")
    print("|---|---|---|---|---|---|---|---|")
    for model, layer, p, paper_full, paper_itsl in rows:
        itsl = max(p["stage-t"], p["stage-s"])
        print(f"| {model} | {p['full-size']:.1f} | {p['full-size'] / reg3d:.2f}× | {p['stage-t']:.1f} | {p['stage-s']:.1f} "
              f"| {itsl / p['full-size']:.2f}× | {layer} {paper_full}M, {paper_full / MODELS[0][2]:.2f}× "
              f"| {paper_itsl / paper_full:.2f}× |")


if __name__ == "__main__":
    main()
