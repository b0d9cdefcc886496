"""Golden logits of a 2D ResNet-18 in torchvision's parameter layout and of
torchvision's GoogLeNet (without auxiliary classifiers or input transform) for
the inflation test (Tests/NNTests/ZooTests.swift): weights and BN statistics
from the same name formula as make_zoo_golden.py, BN on its running
statistics, one 3×16×16 (GoogLeNet: 3×32×32) image. Inflated into i3d-r18 or
i3d-incv1 (centre) or tsn-r18 or tsn-incv1, a clip of that image repeated must
give these logits.

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
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            h = stage(h)
        return self.fc(h.mean((2, 3)))


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, ch3x3red, kernel_size=1), BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, ch5x5red, kernel_size=1), BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), BasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    """torchvision.models.googlenet(aux_logits=False, transform_input=False), written out."""
    def __init__(self, classes):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for n in "abcde":
            x = getattr(self, "inception4" + n)(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(x.mean((2, 3)))


def golden(model, size, gain):
    """Weights and BN statistics from the formula; the logits of one size×size image."""
    model.eval()
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if name.endswith("num_batches_tracked"):
                continue
            values = formula(name, tuple(t.shape), gain)
            if name.endswith("running_var"):
                values = values.abs() + 0.5
            t.copy_(values)
    x = torch.tensor([math.sin(0.05 * i + 0.3) for i in range(3 * size * size)], dtype=torch.float64).float().reshape(1, 3, size, size)
    logits = model(x)
    print(type(model).__name__, logits)
    shapes = {name: list(t.shape) for name, t in model.state_dict().items() if not name.endswith("num_batches_tracked")}
    return {"logits": logits.reshape(-1).tolist(), "shapes": shapes, "size": size, "gain": gain}


def main(out):
    result = golden(ResNet18(6), 16, 1.0)
    # GoogLeNet's 22 convs shrink the signal with the formula's weights (see make_zoo_golden.py's SHAPES): gain 2.
    result["googlenet"] = golden(GoogLeNet(6), 32, 2.0)
    json.dump(result, open(out, "w"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Fixtures/golden/inflation.json")
