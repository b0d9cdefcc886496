"""PyTorch twins of ClipKit's 3D ResNet-50 family (Sources/NN/ResNet.swift):
stem conv 3→64 (3×7×7, stride 1×2×2, pad 1×3×3) + BN + ReLU + max-pool 1×3×3
(stride 1×2×2, padding 0×1×1, torchvision's 3×3/2 on every frame);
stages of [3, 4, 6, 3] bottlenecks of widths 64, 128, 256, 512 (spatial
stride 2 on the first 1×1×1 conv entering stages 2–4; strided 1×1×1 conv + BN
shortcut when shapes change); global average pool; linear 2048→classes.
The middle conv of every bottleneck is 3×3×3 (`r3d50`), rank-1 (2+1)D
(`r2plus1d-r50`: 1×3×3 w→w then 3×1×1 w→w) or STDCF with M = 6, N = 2
(`stdcf-r50`, composed or factored). The Deep Analysis supplement's families
on ResNet-50 and ResNet-18 (basic blocks of two middle convs, [2, 2, 2, 2]):
`i3d-*` (5×7×7 stem, 3×3×3 middles), `s3d-*` (3×7×7 stem, separable middles:
1×3×3, BN + ReLU, 3×1×1), `tsn-*` (1×7×7 stem, 1×3×3 middles: a 2D ResNet
per frame) and `tam-*` (tsn with a TAM, a depthwise 3×1×1 conv + ReLU, at the
start of every block's residual path). The same four families on InceptionV1
(`*-incv1`, torchvision's GoogLeNet layout) are `GoogLeNet3D`. Parameter names
and counts match ClipKit's."""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from kth3l import Rank1Conv, STDCFConv


def stem_pool(x):
    """torchvision's 3×3/2 max pool (padding 1) on every frame."""
    return F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1))


class SeparableConv3d(nn.Module):
    """S3D: 1×3×3 (with the spatial stride), BN + ReLU, 3×1×1."""
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.spatial = nn.Conv3d(cin, cout, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
        self.bn = nn.BatchNorm3d(cout)
        self.temporal = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0), bias=False)

    def forward(self, x):
        return self.temporal(F.relu(self.bn(self.spatial(x))))


def middle_conv(kind, cin, cout, stride=1, execution="composed"):
    if kind == "reg3d":
        return nn.Conv3d(cin, cout, 3, stride=(1, stride, stride), padding=1, bias=False)
    if kind == "spatial":
        return nn.Conv3d(cin, cout, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
    if kind == "separable":
        return SeparableConv3d(cin, cout, stride)
    assert stride == 1
    if kind == "rank1":
        return Rank1Conv(cin, cout)
    return STDCFConv(cin, cout, execution=execution)


class TemporalAggregation(nn.Module):
    """bLVNet-TAM's TAM: depthwise 3×1×1 conv (zero-padded in time), ReLU."""
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), groups=channels, bias=False)

    def forward(self, x):
        return F.relu(self.conv(x))


class NonLocalBlock(nn.Module):
    """Embedded Gaussian non-local block (mmaction2's NonLocal3d layout)."""
    def __init__(self, c):
        super().__init__()
        inner = c // 2
        self.theta = nn.Conv3d(c, inner, 1)
        self.phi = nn.Conv3d(c, inner, 1)
        self.g = nn.Conv3d(c, inner, 1)
        self.out = nn.Conv3d(inner, c, 1, bias=False)
        self.bn = nn.BatchNorm3d(c)

    def forward(self, x):
        n, c, t, h, w = x.shape
        th, ph, g = (m(x).reshape(n, c // 2, -1) for m in (self.theta, self.phi, self.g))
        attention = torch.softmax(th.transpose(1, 2) @ ph, dim=-1)
        y = (g @ attention.transpose(1, 2)).reshape(n, c // 2, t, h, w)
        return self.bn(self.out(y)) + x


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride, middle, tam=False):
        super().__init__()
        self.tam = TemporalAggregation(cin) if tam else None
        self.conv1 = middle_conv(middle, cin, width, stride)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = middle_conv(middle, width, width)
        self.bn2 = nn.BatchNorm3d(width)
        self.downsample = None
        if stride != 1 or cin != width:
            self.downsample = nn.Sequential(nn.Conv3d(cin, width, 1, stride=(1, stride, stride), bias=False), nn.BatchNorm3d(width))

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(self.tam(x) if self.tam is not None else x)))))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, middle, execution, tam=False, non_local=False, temporal_kernel=1):
        super().__init__()
        out = width * 4
        self.tam = TemporalAggregation(cin) if tam else None
        self.non_local = NonLocalBlock(out) if non_local else None
        self.conv1 = nn.Conv3d(cin, width, (temporal_kernel, 1, 1), stride=(1, stride, stride), padding=(temporal_kernel // 2, 0, 0),
                               bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = middle_conv(middle, width, width, execution=execution)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv3d(cin, out, 1, stride=(1, stride, stride), bias=False), nn.BatchNorm3d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(self.tam(x) if self.tam is not None else x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        y = F.relu(h + (self.downsample(x) if self.downsample is not None else x))
        return self.non_local(y) if self.non_local is not None else y


class ResNet3D50(nn.Module):
    # name: (stem time, middle conv)
    MIDDLE = {"r3d50": (3, "reg3d"), "r2plus1d-r50": (3, "rank1"), "stdcf-r50": (3, "stdcf"),
              "i3d-r50": (5, "reg3d"), "s3d-r50": (3, "separable"), "tsn-r50": (1, "spatial"),
              "i3d-r18": (5, "reg3d"), "s3d-r18": (3, "separable"), "tsn-r18": (1, "spatial"),
              "tam-r50": (1, "spatial"), "tam-r18": (1, "spatial")}
    MIDDLE.update({k + "-tp": v for k, v in list(MIDDLE.items()) if k[:3] in ("i3d", "s3d", "tsn", "tam")})
    MIDDLE["nl-i3d-r50"] = (5, "reg3d")

    def __init__(self, name, classes, execution="composed"):
        super().__init__()
        stem_time, middle = self.MIDDLE[name]
        # "-tp": the supplement's temporal pooling (max over 3 frames, stride 2) entering stages 2–4.
        self.temporal_pooling = name.endswith("-tp")
        name = name[:-3] if self.temporal_pooling else name
        depth = 18 if name.endswith("r18") else 50
        tam = name.startswith("tam")
        non_local = name.startswith("nl-")
        self.conv1 = nn.Conv3d(3, 64, (stem_time, 7, 7), stride=(1, 2, 2), padding=(stem_time // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        channels = 64
        for stage, (blocks, width) in enumerate(zip([3, 4, 6, 3] if depth == 50 else [2, 2, 2, 2], [64, 128, 256, 512])):
            layers = []
            for b in range(blocks):
                stride = 2 if b == 0 and stage > 0 else 1
                if depth == 50:
                    layers.append(Bottleneck(channels, width, stride, middle, execution, tam,
                                             non_local and stage in (1, 2) and b % 2 == 0))
                    channels = width * 4
                else:
                    layers.append(BasicBlock(channels, width, stride, middle, tam))
                    channels = width
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        h = stem_pool(F.relu(self.bn1(self.conv1(x))))
        for i, stage in enumerate((self.layer1, self.layer2, self.layer3, self.layer4)):
            if self.temporal_pooling and i > 0:
                h = F.max_pool3d(h, (3, 1, 1), (2, 1, 1), (1, 0, 0))
            h = stage(h)
        return self.fc(h.mean((2, 3, 4)))


class SlowFast(nn.Module):
    """SlowFast-R50 8×8 (α = 8, β = 1/8) in ClipKit's conventions (Sources/NN/ResNet.swift)."""
    def __init__(self, classes, alpha=8, beta_inv=8):
        super().__init__()
        self.alpha = alpha
        fs = 64 // beta_inv
        self.slow_conv1 = nn.Conv3d(3, 64, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False)
        self.slow_bn1 = nn.BatchNorm3d(64)
        self.fast_conv1 = nn.Conv3d(3, fs, (5, 7, 7), stride=(1, 2, 2), padding=(2, 3, 3), bias=False)
        self.fast_bn1 = nn.BatchNorm3d(fs)

        def lateral(c):
            return nn.Sequential(OrderedDict(conv=nn.Conv3d(c, 2 * c, (7, 1, 1), stride=(alpha, 1, 1), padding=(3, 0, 0), bias=False),
                                             bn=nn.BatchNorm3d(2 * c)))
        self.lateral1 = lateral(fs)
        slow_in, fast_in = 64 + 2 * fs, fs
        for stage, (count, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
            fw = width // beta_inv
            slow, fast = [], []
            for b in range(count):
                stride = 2 if b == 0 and stage > 0 else 1
                slow.append(Bottleneck(slow_in if b == 0 else width * 4, width, stride, "spatial", None, temporal_kernel=3 if stage >= 2 else 1))
                fast.append(Bottleneck(fast_in if b == 0 else fw * 4, fw, stride, "spatial", None, temporal_kernel=3))
            setattr(self, f"slow_layer{stage + 1}", nn.Sequential(*slow))
            setattr(self, f"fast_layer{stage + 1}", nn.Sequential(*fast))
            fast_in = fw * 4
            slow_in = width * 4 + (2 * fast_in if stage < 3 else 0)
            if stage < 3:
                setattr(self, f"lateral{stage + 2}", lateral(fast_in))
        self.fc = nn.Linear(2048 + 2048 // beta_inv, classes)

    def forward(self, x):
        slow = stem_pool(F.relu(self.slow_bn1(self.slow_conv1(x[:, :, ::self.alpha]))))
        fast = stem_pool(F.relu(self.fast_bn1(self.fast_conv1(x))))
        for stage in range(4):  # fast features join the slow ones before every stage
            slow = torch.cat([slow, F.relu(getattr(self, f"lateral{stage + 1}")(fast))], 1)
            slow = getattr(self, f"slow_layer{stage + 1}")(slow)
            fast = getattr(self, f"fast_layer{stage + 1}")(fast)
        return self.fc(torch.cat([slow.mean((2, 3, 4)), fast.mean((2, 3, 4))], 1))


class BasicConv3d(nn.Module):
    """torchvision's GoogLeNet BasicConv2d in 3D (Sources/NN/Inception.swift): conv, BN (eps 1e-3), ReLU."""
    def __init__(self, family, cin, cout, k, stride=1, padding=0, stem_time=None):
        super().__init__()
        if family == "s3d" and k == 3:
            self.conv = SeparableConv3d(cin, cout)
            self.conv.bn.eps = 1e-3
        else:
            t = stem_time if stem_time is not None else (3 if family == "i3d" and k > 1 else 1)
            self.conv = nn.Conv3d(cin, cout, (t, k, k), stride=(1, stride, stride), padding=(t // 2, padding, padding), bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, family, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        t = 3 if family in ("i3d", "s3d") else 1
        self.branch1 = BasicConv3d(family, cin, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv3d(family, cin, ch3x3red, 1), BasicConv3d(family, ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv3d(family, cin, ch5x5red, 1), BasicConv3d(family, ch5x5red, ch5x5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool3d((t, 3, 3), stride=1, padding=(t // 2, 1, 1), ceil_mode=True),
                                     BasicConv3d(family, cin, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet3D(nn.Module):
    """InceptionV1 as the supplement's i3d/s3d/tsn/tam (torchvision's names, no auxiliary classifiers)."""
    WIDTHS = [("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)),
              ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)), ("4c", (128, 128, 256, 24, 64, 64)),
              ("4d", (112, 144, 288, 32, 64, 64)), ("4e", (256, 160, 320, 32, 128, 128)),
              ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128))]

    def __init__(self, name, classes):
        super().__init__()
        self.temporal_pooling = name.endswith("-tp")
        family = name[:3]
        self.tam = family == "tam"
        stem_time = {"i3d": 7, "s3d": 3}.get(family, 1)
        self.conv1 = BasicConv3d(family, 3, 64, 7, stride=2, padding=3, stem_time=stem_time)
        self.conv2 = BasicConv3d(family, 64, 64, 1)
        self.conv3 = BasicConv3d(family, 64, 192, 3, padding=1)
        if self.tam:
            self.tam1, self.tam2, self.tam3 = TemporalAggregation(64), TemporalAggregation(64), TemporalAggregation(192)
        channels = 192
        for n, w in self.WIDTHS:
            setattr(self, "inception" + n, Inception(family, channels, *w))
            channels = w[0] + w[2] + w[4] + w[5]
            if self.tam:
                setattr(self, "tam" + n, TemporalAggregation(channels))
        self.fc = nn.Linear(channels, classes)

    def pool(self, h, k, temporal):
        h = F.max_pool3d(h, (1, k, k), (1, 2, 2), ceil_mode=True)
        return F.max_pool3d(h, (3, 1, 1), (2, 1, 1), (1, 0, 0)) if temporal and self.temporal_pooling else h

    def forward(self, x):
        t = (lambda n, h: getattr(self, "tam" + n)(h)) if self.tam else (lambda n, h: h)
        h = self.pool(t("1", self.conv1(x)), 3, False)
        h = self.pool(t("3", self.conv3(t("2", self.conv2(h)))), 3, True)
        for n, _ in self.WIDTHS:
            h = t(n, getattr(self, "inception" + n)(h))
            if n == "3b":
                h = self.pool(h, 3, True)
            if n == "4e":
                h = self.pool(h, 2, True)
        return self.fc(h.mean((2, 3, 4)))


def make(name, classes, execution="composed"):
    """Any model of the zoo by ClipKit's name."""
    if name == "slowfast-r50":
        return SlowFast(classes)
    if "incv1" in name:
        return GoogLeNet3D(name, classes)
    return ResNet3D50(name, classes, execution)


if __name__ == "__main__":
    for name in ResNet3D50.MIDDLE:
        model = ResNet3D50(name, 400)
        print(name, sum(p.numel() for p in model.parameters()))
