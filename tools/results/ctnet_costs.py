"""CT-Net's cost claims (docs/RESULTS.md, "CT-Net's costs"): Table 2a's module
costs, "the computation is the lowest when C1 = C2 = √C", the sweep over
K (Table 2b) and the 5 × 5 × 5 receptive field.

Counts multiply-adds layer by layer, as `clipkit model summary` does:
- a ResNet-50 whose 7 CT blocks (the odd-numbered blocks of every stage,
  CT-Net's "replace 7 blocks") get each module of Table 2a in place of the
  3 × 3 conv: C3D (3 × 3 × 3), R(2+1)D (1 × 3 × 3, then 3 × 1 × 1, C → C),
  CSN (1 × 1 × 1, then depthwise 3 × 3 × 3), the bare CT-Module (per
  sub-dimension, 1 × 3 × 3 ‖ 3 × 1 × 1 within groups of C_k channels) and
  ClipKit's CT-Module as CT-Net's code builds it (BN + ReLU after every conv,
  spatial, temporal and channel Tensor Excitation per step, a 1 × 1 × 1
  fusion conv between the steps);
- ClipKit's ctnet-r50 is checked against `clipkit model summary --json`
  (the script exits with status 1 if they differ);
- the receptive field of K steps of 1 × 3 × 3 ‖ 3 × 1 × 1: the taps of the
  (2K+1)³ box that the composed kernels reach.

    python3 tools/results/ctnet_costs.py [CLIPKIT]   (default: the release build, built when missing)
"""
import itertools
import sys

from clipkit_bin import clipkit_binary
from param_accounting import BLOCKS, WIDTHS
from stdcf_costs import resnet50_macs, summary


def c1_of(c):
    """ClipKit's C1 = 2^⌊log2(C)/2⌋ (CTDesign.ctNet)."""
    c1 = 1
    while c1 * c1 * 4 <= c:
        c1 *= 2
    return c1


def ct_bare(c, groups_of):
    """Per position: 1×3×3 ‖ 3×1×1 within groups of g channels, for each sub-dimension's g."""
    return sum(12 * c * g for g in groups_of)


def ct_clipkit(c, frames, side):
    """ClipKit's CT-Module over a frames × side² map: steps of C2 then C1 interacting channels, with BN,
    Tensor Excitation (squeeze C→C/4 and expand back, grouped as the step: spatial 1×3×3 on the frames'
    mean, temporal 3×1×1 and channel 1×1×1 on the spatial mean) and a 1×1×1 fusion conv between the steps."""
    c1 = c1_of(c)
    positions, plane = frames * side * side, side * side
    total = c * c * positions                          # fusion
    for g in (c // c1, c1):
        total += 12 * c * g * positions                # the two branches
        total += 2 * (c // 4) * g * 9 * plane          # spatial excitation: squeeze + expand
        total += 2 * (c // 4) * g * 3 * frames         # temporal excitation
        total += 2 * (c // 4) * g * frames             # channel excitation
    return total


def ct_blocks(frames, side):
    """(width, frames, side) of the 7 CT blocks: odd-numbered blocks of each stage."""
    out = []
    s = side // 4
    for stage, (w, blocks) in enumerate(zip(WIDTHS, BLOCKS)):
        if stage > 0:
            s //= 2
        out += [(w, frames, s)] * (blocks // 2)
    return out


def network(module, frames=8, side=256, classes=174, v15=True):
    """A 2D ResNet-50 (2D stem) with `module(w, frames, side)` multiply-adds in place of each CT block's 3×3 conv."""
    base = resnet50_macs(lambda w: 9 * w * w, frames=frames, side=side, classes=classes, stem_time=1,
                         stride_in_3x3=v15)
    return base + sum(module(w, t, s) - 9 * w * w * t * s * s for w, t, s in ct_blocks(frames, side))


MODULES = [
    ("C3D: 3×3×3", lambda w, t, s: 27 * w * w * t * s * s, 59.9),
    ("R(2+1)D: 1×3×3 + 3×1×1", lambda w, t, s: 12 * w * w * t * s * s, 45.8),
    ("CSN: 1×1×1 + depthwise 3×3×3", lambda w, t, s: (w * w + 27 * w) * t * s * s, 35.6),
    ("CT, bare: (1×3×3 ‖ 3×1×1) on C2, then on C1", lambda w, t, s: ct_bare(w, (w // c1_of(w), c1_of(w))) * t * s * s,
     None),
    ("CT, as CT-Net builds it (ClipKit's ctnet-r50)", ct_clipkit, 36.3),
]


def reach(k):
    """Taps of the composed kernel of k steps of (1×3×3 ‖ 3×1×1), as (t, y, x) offsets."""
    step = {(0, y, x) for y in (-1, 0, 1) for x in (-1, 0, 1)} | {(t, 0, 0) for t in (-1, 0, 1)}
    taps = {(0, 0, 0)}
    for _ in range(k):
        taps = {(a + d, b + e, c + f) for a, b, c in taps for d, e, f in step}
    return taps


def main():
    clipkit = clipkit_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    counted = summary(clipkit, "ctnet-r50", "3x8x256x256", classes=174)["flops"]
    ours = network(ct_clipkit, v15=False)
    print(f"- clipkit model summary ctnet-r50 --input 3x8x256x256 --classes 174: {counted / 2e9:.3f} G multiply-adds; "
          f"the count here: {ours / 1e9:.3f}" + ("" if 2 * ours == counted else " (DIFFERENT)"))
    print()
    print("Table 2a: a ResNet-50 with each module in CT-Net's 7 blocks, 8 × 256², 174 classes, G multiply-adds:")
    print()
    print("| module | torchvision's stride (v1.5) | ClipKit's stride (v1) | paper (Table 2a; CT: Table 2f) |")
    print("|---|---|---|---|")
    for name, module, paper in MODULES:
        print(f"| {name} | {network(module) / 1e9:.1f} | {network(module, v15=False) / 1e9:.1f} | "
              f"{paper if paper else '—'} |")
    print()
    print("The bare CT-Module's cost per position, 12·C·(C1 + C2), over every split C = C1 × C2 (relative to the "
          "cheapest):")
    print()
    print("| C | C1 × C2, cost | cheapest | ClipKit's C1 × C2 |")
    print("|---|---|---|---|")
    for c in WIDTHS:
        splits = [(a, c // a) for a in range(1, c + 1) if c % a == 0]
        best = min(ct_bare(c, sp) for sp in splits)
        cells = ", ".join(f"{a}×{b} {ct_bare(c, (a, b)) / best:.2f}" for a, b in splits if a <= b)
        cheapest = " or ".join(f"{a}×{b}" for a, b in splits if ct_bare(c, (a, b)) == best)
        print(f"| {c} | {cells} | {cheapest} | {c1_of(c)}×{c // c1_of(c)} |")
    print()
    print("K sub-dimensions (C = C1 × … × CK, as even as powers of two allow), the bare module in the 7 blocks, "
          "8 × 256², v1.5, and its receptive field:")
    print()
    print("| K | G multiply-adds | splits of 64 / 512 | (2K+1)³ box | taps reached | share of the box |")
    print("|---|---|---|---|---|---|")
    for k in (1, 2, 3, 4):
        def split(c, k=k):
            e = c.bit_length() - 1
            parts = [2 ** (e // k + (1 if i < e % k else 0)) for i in range(k)]
            return parts

        macs = network(lambda w, t, s: ct_bare(w, split(w)) * t * s * s)
        box, taps = (2 * k + 1) ** 3, len(reach(k))
        print(f"| {k} | {macs / 1e9:.1f} | {'×'.join(map(str, split(64)))} / {'×'.join(map(str, split(512)))} | "
              f"{box} | {taps} | {taps / box:.2f} |")
    if 2 * ours != counted:
        sys.exit(1)


if __name__ == "__main__":
    main()
