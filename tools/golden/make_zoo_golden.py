"""Golden outputs and gradients of the model zoo's PyTorch twins
(tools/bench/resnet3d.py) for Tests/NNTests/ZooTests.swift.

Weights are not stored: both sides fill every parameter from a formula of its
name (an FNV-1a hash gives the phase of a sine; weights are scaled by
gain/sqrt(fan_in), BN scales sit around 1), so the file stays small while whole
ResNets are compared. One step on the clip sin(0.1 i + phase), 2×3×4×16×16
(InceptionV1: 32×32 and gain 2, see SHAPES; the phase is chosen where float32
rounding cannot flip a max pool, see PHASES), with BN on its running statistics (eval mode: training-mode BN over the 8 values per channel
left in the last stage turns float rounding into chaos, and BN itself has its
own golden tests): logits, loss, and for every parameter its gradient's sum,
absolute sum and first values.

    .venv-bench/bin/python tools/golden/make_zoo_golden.py Fixtures/golden/zoo.json
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from resnet3d import make  # noqa: E402

MODELS = ["i3d-r50", "s3d-r50", "tsn-r50", "tam-r50", "i3d-r18", "s3d-r18", "tsn-r18", "tam-r18", "i3d-r18-tp", "tam-r50-tp", "nl-i3d-r50",
          "slowfast-r50", "i3d-incv1", "s3d-incv1", "tsn-incv1", "tam-incv1", "i3d-incv1-tp", "s3d-incv1-tp"]
SHAPE = (2, 3, 4, 16, 16)
# GoogLeNet's ceil-mode pools need more than 16×16 to keep every window inside
# the input. Its 22 conv layers in a row (BN on running statistics of 0 and 1)
# shrink the signal fourfold in variance at each with the formula's weights, until
# rounding decides the gradients: its convs and classifier take twice the weights.
SHAPES = {name: (2, 3, 4, 32, 32) for name in MODELS if "incv1" in name}
GAINS = {name: 2.0 for name in MODELS if "incv1" in name}
LABELS = [1, 4]
CLASSES = 6


def fnv1a(text):
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


PERIOD = 4099  # a prime: the wave repeats every PERIOD values (cheap to fill on both sides)


def formula(name, shape, gain=1.0):
    count = math.prod(shape)
    phase = (fnv1a(name) % 10007) / 10007 * 2 * math.pi
    wave = [math.sin(phase + 0.7548776662 * i) for i in range(min(count, PERIOD))]
    if len(shape) == 1:
        table = [1 + 0.1 * v for v in wave] if name.endswith("weight") else [0.1 * v for v in wave]
    else:
        scale = gain / math.sqrt(count // shape[0])
        table = [scale * v for v in wave]
    period = torch.tensor(table, dtype=torch.float64).float()
    return period.repeat(count // len(table) + 1)[:count].reshape(shape)


def step(name, shape, phase, dtype, jitter=0.0, gain=1.0):
    """Logits, loss and parameter gradients of one step on the clip sin(0.1 i + phase)
    (each value scaled by 1 + jitter·sin(7.3 i) when jitter is given)."""
    x = torch.tensor([math.sin(0.1 * i + phase) * (1 + jitter * math.sin(7.3 * i)) for i in range(math.prod(shape))],
                     dtype=torch.float64).to(dtype).reshape(shape)
    model = make(name, CLASSES).eval().to(dtype)  # running statistics: see the docstring
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(formula(pname, tuple(p.shape), gain).to(dtype))
    logits = model(x)
    loss = F.cross_entropy(logits, torch.tensor(LABELS))
    loss.backward()
    return model, logits, loss


def rounding_error(a, b):
    """The test's gradient error (Tests/NNTests/ZooTests.swift) of a's gradients against b's (float64)."""
    largest = max(g.grad.abs().mean().item() for _, g in b.named_parameters())
    worst = 0.0
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        g, want = p.grad.double(), q.grad
        typical, n = max(want.abs().mean().item(), 1e-5 * largest), want.numel()
        worst = max(worst, abs(g.abs().sum() - want.abs().sum()).item() / (typical * n), abs(g.sum() - want.sum()).item() / (typical * n),
                    (g.reshape(-1)[:6] - want.reshape(-1)[:6]).abs().max().item() / typical)
    return worst


# The clip's phases tried in turn. Max pools make a step's gradient jump where
# two values of a window nearly tie: float32 rounding can then pick the other
# one, and no implementation can agree with another. The golden keeps the
# first phase where float32 gradients (1 and 2 threads) and float64 ones of a
# clip changed by 1e-5 of its values all agree with float64 ones to 5e-3 (the
# test allows 1e-2), so a failure in the test is ClipKit's, not a tie's. (A
# flipped tie moves gradients by 1e-1; the non-local net's attention alone
# gives 3e-3 to 6e-3 at every phase.)
PHASES = [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8]


def sensitivity(name, shape, phase, model32):
    gain = GAINS.get(name, 1.0)
    exact = step(name, shape, phase, torch.float64, gain=gain)[0]
    torch.set_num_threads(2)
    other32 = step(name, shape, phase, torch.float32, gain=gain)[0]
    torch.set_num_threads(1)
    jittered = step(name, shape, phase, torch.float64, jitter=1e-5, gain=gain)[0]
    return max(rounding_error(m, exact) for m in (model32, other32, jittered))


def main(out):
    torch.set_num_threads(1)
    golden = {"shape": list(SHAPE), "labels": LABELS, "classes": CLASSES, "models": {}}
    for name in MODELS:
        shape = SHAPES.get(name, SHAPE)
        for phase in PHASES:
            model, logits, loss = step(name, shape, phase, torch.float32, gain=GAINS.get(name, 1.0))
            error = sensitivity(name, shape, phase, model)
            if error < 5e-3:
                break
            print(f"{name}: phase {phase} is ill-conditioned (float32 against float64: {error:.2g}), next phase")
        else:
            sys.exit(f"{name}: no well-conditioned phase among {PHASES}")
        grads = {pname: {"sum": p.grad.double().sum().item(), "abs_sum": p.grad.double().abs().sum().item(),
                         "first": p.grad.reshape(-1)[:6].tolist(), "shape": list(p.shape)}
                 for pname, p in model.named_parameters()}
        golden["models"][name] = {"shape": list(shape), "phase": phase, "gain": GAINS.get(name, 1.0), "parameters": sum(p.numel() for p in model.parameters()),
                                  "logits": logits.reshape(-1).tolist(), "loss": loss.item(), "grads": grads}
        print(name, golden["models"][name]["parameters"], f"loss {loss.item():.5f}, phase {phase}, float32 rounding {error:.2g}")
    with open(out, "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Fixtures/golden/zoo.json")
