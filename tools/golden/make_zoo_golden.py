"""Golden outputs and gradients of the model zoo's PyTorch twins
(tools/bench/resnet3d.py) for Tests/NNTests/ZooTests.swift.

Weights are not stored: both sides fill every parameter from a formula of its
name (an FNV-1a hash gives the phase of a sine; weights are scaled by
1/sqrt(fan_in), BN scales sit around 1), so the file stays small while whole
ResNets are compared. One step on a fixed 2×3×4×16×16 clip with BN on its
running statistics (eval mode: training-mode BN over the 8 values per channel
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

MODELS = ["i3d-r50", "s3d-r50", "tsn-r50", "tam-r50", "i3d-r18", "s3d-r18", "tsn-r18", "tam-r18", "i3d-r18-tp", "tam-r50-tp", "nl-i3d-r50", "slowfast-r50"]
SHAPE = (2, 3, 4, 16, 16)
LABELS = [1, 4]
CLASSES = 6


def fnv1a(text):
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


PERIOD = 4099  # a prime: the wave repeats every PERIOD values (cheap to fill on both sides)


def formula(name, shape):
    count = math.prod(shape)
    phase = (fnv1a(name) % 10007) / 10007 * 2 * math.pi
    wave = [math.sin(phase + 0.7548776662 * i) for i in range(min(count, PERIOD))]
    if len(shape) == 1:
        table = [1 + 0.1 * v for v in wave] if name.endswith("weight") else [0.1 * v for v in wave]
    else:
        scale = 1 / math.sqrt(count // shape[0])
        table = [scale * v for v in wave]
    period = torch.tensor(table, dtype=torch.float64).float()
    return period.repeat(count // len(table) + 1)[:count].reshape(shape)


def main(out):
    torch.set_num_threads(1)
    count = math.prod(SHAPE)
    x = torch.tensor([math.sin(0.1 * i) for i in range(count)], dtype=torch.float64).float().reshape(SHAPE)
    golden = {"shape": list(SHAPE), "labels": LABELS, "classes": CLASSES, "models": {}}
    for name in MODELS:
        model = make(name, CLASSES).eval()  # running statistics: see the docstring
        with torch.no_grad():
            for pname, p in model.named_parameters():
                p.copy_(formula(pname, tuple(p.shape)))
        logits = model(x)
        loss = F.cross_entropy(logits, torch.tensor(LABELS))
        loss.backward()
        grads = {pname: {"sum": p.grad.double().sum().item(), "abs_sum": p.grad.double().abs().sum().item(),
                         "first": p.grad.reshape(-1)[:6].tolist(), "shape": list(p.shape)}
                 for pname, p in model.named_parameters()}
        golden["models"][name] = {"parameters": sum(p.numel() for p in model.parameters()), "logits": logits.reshape(-1).tolist(),
                                  "loss": loss.item(), "grads": grads}
        print(name, golden["models"][name]["parameters"], f"loss {loss.item():.5f}")
    with open(out, "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Fixtures/golden/zoo.json")
