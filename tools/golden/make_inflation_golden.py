"""Golden logits of a 2D ResNet-18 in torchvision's parameter layout (with
ClipKit's stem pooling, a 2×2 max-pool, instead of torchvision's 3×3/2) for the
inflation test (Tests/NNTests/ZooTests.swift): weights and BN statistics from
the same name formula as make_zoo_golden.py, BN on its running statistics,
one 3×16×16 image. Inflated into i3d-r18 (centre) or tsn-r18, a clip of that
image repeated must give these logits.

    .venv-bench/bin/python tools/golden/make_inflation_golden.py Fixtures/golden/inflation.json
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from make_zoo_golden import formula


class Block(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or cin != width:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        channels = 64
        for stage, width in enumerate([64, 128, 256, 512]):
            blocks = [Block(channels, width, 2 if stage > 0 else 1), Block(width, width, 1)]
            channels = width
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            h = stage(h)
        return self.fc(h.mean((2, 3)))


def main(out):
    model = ResNet18(6).eval()
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if name.endswith("num_batches_tracked"):
                continue
            values = formula(name, tuple(t.shape))
            if name.endswith("running_var"):
                values = values.abs() + 0.5
            t.copy_(values)
    x = torch.tensor([math.sin(0.05 * i + 0.3) for i in range(3 * 16 * 16)], dtype=torch.float64).float().reshape(1, 3, 16, 16)
    logits = model(x)
    shapes = {name: list(t.shape) for name, t in model.state_dict().items() if not name.endswith("num_batches_tracked")}
    json.dump({"logits": logits.reshape(-1).tolist(), "shapes": shapes}, open(out, "w"))
    print(logits)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Fixtures/golden/inflation.json")
