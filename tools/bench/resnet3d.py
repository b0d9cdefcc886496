"""PyTorch twins of ClipKit's 3D ResNet-50 family (Sources/NN/ResNet.swift):
stem conv 3→64 (3×7×7, stride 1×2×2, pad 1×3×3) + BN + ReLU + max-pool 1×2×2;
stages of [3, 4, 6, 3] bottlenecks of widths 64, 128, 256, 512 (spatial
stride 2 on the first 1×1×1 conv entering stages 2–4; strided 1×1×1 conv + BN
shortcut when shapes change); global average pool; linear 2048→classes.
The middle conv of every bottleneck is 3×3×3 (`r3d50`), rank-1 (2+1)D
(`r2plus1d-r50`: 1×3×3 w→w then 3×1×1 w→w) or STDCF with M = 6, N = 2
(`stdcf-r50`, composed or factored). Parameter names and counts match ClipKit's."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from kth3l import Rank1Conv, STDCFConv


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, middle, execution):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv3d(cin, width, 1, stride=(1, stride, stride), bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        if middle == "reg3d":
            self.conv2 = nn.Conv3d(width, width, 3, padding=1, bias=False)
        elif middle == "rank1":
            self.conv2 = Rank1Conv(width, width)
        else:
            self.conv2 = STDCFConv(width, width, execution=execution)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv3d(cin, out, 1, stride=(1, stride, stride), bias=False), nn.BatchNorm3d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet3D50(nn.Module):
    MIDDLE = {"r3d50": "reg3d", "r2plus1d-r50": "rank1", "stdcf-r50": "stdcf"}

    def __init__(self, name, classes, execution="composed"):
        super().__init__()
        middle = self.MIDDLE[name]
        self.conv1 = nn.Conv3d(3, 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        channels = 64
        for stage, (blocks, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
            layers = []
            for b in range(blocks):
                layers.append(Bottleneck(channels, width, 2 if b == 0 and stage > 0 else 1, middle, execution))
                channels = width * 4
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        h = F.max_pool3d(F.relu(self.bn1(self.conv1(x))), (1, 2, 2))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            h = stage(h)
        return self.fc(h.mean((2, 3, 4)))


if __name__ == "__main__":
    for name in ResNet3D50.MIDDLE:
        model = ResNet3D50(name, 400)
        print(name, sum(p.numel() for p in model.parameters()))
