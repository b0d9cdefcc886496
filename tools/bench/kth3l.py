"""PyTorch twins of ClipKit's `kth3l-*` (the STDCF paper's KTH net):
conv 3→32, BN, ReLU, max-pool (1,2,2); conv 32→64, BN, ReLU, max-pool 2;
conv 64→128, BN, ReLU; global average pool; linear 128→classes. Convs are
3×3×3 "same", no bias: plain (`reg3d`), STDCF (M = 6, N = 2; `composed` or
`factored`, as ClipKit's STDCFConv), rank-1 (2+1)D, or (`ct`) a 1×1×1 conv +
BN + ReLU to Cout followed by a CT-Module, or (`tsm`) a temporal shift then a
1×3×3 conv. Parameter names match ClipKit's."""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class STDCFConv(nn.Module):
    def __init__(self, cin, cout, m=6, n=2, k=3, t=3, execution="composed"):
        super().__init__()
        self.spatial_atoms = nn.Parameter(torch.randn(m, k, k) / k)
        self.temporal_atoms = nn.Parameter(torch.randn(n, t) / t ** 0.5)
        self.coefficients = nn.Parameter(torch.randn(cout, cin, m, n) * (1.0 / (cin * m * n)) ** 0.5)
        self.execution, self.m, self.n, self.k, self.t = execution, m, n, k, t

    def forward(self, x):
        cin, m, n, k, t = x.shape[1], self.m, self.n, self.k, self.t
        if self.execution == "composed":
            w = torch.einsum("ocij,iuv,jt->octuv", self.coefficients, self.spatial_atoms, self.temporal_atoms)
            return F.conv3d(x, w, padding=(t // 2, k // 2, k // 2))
        z = F.conv3d(x, self.spatial_atoms.reshape(m, 1, 1, k, k).repeat(cin, 1, 1, 1, 1), padding=(0, k // 2, k // 2), groups=cin)
        y = F.conv3d(z, self.temporal_atoms.reshape(n, 1, t, 1, 1).repeat(cin * m, 1, 1, 1, 1), padding=(t // 2, 0, 0), groups=cin * m)
        return F.conv3d(y, self.coefficients.reshape(self.coefficients.shape[0], cin * m * n, 1, 1, 1))


class Rank1Conv(nn.Module):
    def __init__(self, cin, cout, k=3, t=3):
        super().__init__()
        self.spatial = nn.Conv3d(cin, cout, (1, k, k), padding=(0, k // 2, k // 2), bias=False)
        self.temporal = nn.Conv3d(cout, cout, (t, 1, 1), padding=(t // 2, 0, 0), bias=False)

    def forward(self, x):
        return self.temporal(self.spatial(x))


class ConvBN(nn.Module):
    """Conv3d ("same", no bias) + BN (+ ReLU)."""
    def __init__(self, cin, cout, k, groups=1, relu=True):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, padding=tuple((s - 1) // 2 for s in k), groups=groups, bias=False)
        self.bn = nn.BatchNorm3d(cout)
        self.relu = relu

    def forward(self, x):
        y = self.bn(self.conv(x))
        return torch.relu(y) if self.relu else y


class TensorExcitation(nn.Module):
    """CT-Net's TE: x * sigmoid(expand(squeeze(pool(x)))), grouped convs, reduction 4."""
    KERNELS = {"spatial": (1, 3, 3), "temporal": (3, 1, 1), "channel": (1, 1, 1)}

    def __init__(self, c, axis, groups, reduction=4):
        super().__init__()
        k = self.KERNELS[axis]
        self.axis = axis
        self.squeeze = ConvBN(c, c // reduction, k, groups)
        self.expand = nn.Conv3d(c // reduction, c, k, padding=tuple((s - 1) // 2 for s in k), groups=groups, bias=False)

    def forward(self, x):
        pooled = x.mean(2, keepdim=True) if self.axis == "spatial" else x.mean((3, 4), keepdim=True)
        return x * torch.sigmoid(self.expand(self.squeeze(pooled)))


class CTStep(nn.Module):
    """Parallel 1×3×3 ‖ 3×1×1 grouped convs (groups of `interacting` channels), spatial/temporal/channel TE."""
    def __init__(self, c, interacting):
        super().__init__()
        g = c // interacting
        self.conv0 = ConvBN(c, c, (1, 3, 3), g)
        self.conv1 = ConvBN(c, c, (3, 1, 1), g)
        self.excite0 = TensorExcitation(c, "spatial", g)
        self.excite1 = TensorExcitation(c, "temporal", g)
        self.excite_channel = TensorExcitation(c, "channel", g)

    def forward(self, x):
        return self.excite_channel(self.excite0(self.conv0(x)) + self.excite1(self.conv1(x)))


class CTModule(nn.Module):
    """CT-Net, K = 2: C = C1×C2, C1 = 2^floor(log2(C)/2); step 1 along C2, fusion, step 2 along C1."""
    def __init__(self, c):
        super().__init__()
        self.c1 = 2 ** int(math.floor(math.log2(c) / 2))
        self.c2 = c // self.c1
        self.step1 = CTStep(c, self.c2)
        self.fusion = ConvBN(c, c, (1, 1, 1))
        self.step2 = CTStep(c, self.c1)

    def forward(self, x):
        n, c, t, h, w = x.shape
        y = self.fusion(self.step1(x))
        y = y.reshape(n, self.c1, self.c2, t, h, w).transpose(1, 2).reshape(n, c, t, h, w)
        y = self.step2(y)
        return y.reshape(n, self.c2, self.c1, t, h, w).transpose(1, 2).reshape(n, c, t, h, w)


class TemporalShift(nn.Module):
    """TSM's shift: 1/8 of the channels from the next frame, 1/8 from the previous one (zeros at the ends)."""
    def __init__(self, fold=8):
        super().__init__()
        self.fold = fold

    def forward(self, x):
        part = x.shape[1] // self.fold
        out = torch.zeros_like(x)
        out[:, :part, :-1] = x[:, :part, 1:]
        out[:, part:2 * part, 1:] = x[:, part:2 * part, :-1]
        out[:, 2 * part:] = x[:, 2 * part:]
        return out


def make_conv(kind, cin, cout, execution="composed"):
    if kind == "reg3d":
        return nn.Conv3d(cin, cout, 3, padding=1, bias=False)
    if kind == "stdcf":
        return STDCFConv(cin, cout, execution=execution)
    if kind == "rank1":
        return Rank1Conv(cin, cout)
    if kind == "tsm":
        return nn.Sequential(OrderedDict([("shift", TemporalShift()), ("conv", nn.Conv3d(cin, cout, (1, 3, 3), padding=(0, 1, 1), bias=False))]))
    if kind == "ct":
        return nn.Sequential(OrderedDict([("project", ConvBN(cin, cout, (1, 1, 1))), ("ct", CTModule(cout))]))
    raise ValueError(kind)


class Recon3L(nn.Module):
    """ClipKit's recon3l-*: conv 3→32, BN, ReLU; conv 32→32, BN, ReLU; conv 32→3 (same shape out)."""
    def __init__(self, conv="reg3d", execution="composed"):
        super().__init__()
        self.conv1 = make_conv(conv, 3, 32, execution)
        self.bn1 = nn.BatchNorm3d(32)
        self.conv2 = make_conv(conv, 32, 32, execution)
        self.bn2 = nn.BatchNorm3d(32)
        self.conv3 = make_conv(conv, 32, 3, execution)

    def forward(self, x):
        return self.conv3(torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))))


class KTH3L(nn.Module):
    def __init__(self, classes=6, conv="reg3d", execution="composed"):
        super().__init__()
        self.conv1 = make_conv(conv, 3, 32, execution)
        self.bn1 = nn.BatchNorm3d(32)
        self.conv2 = make_conv(conv, 32, 64, execution)
        self.bn2 = nn.BatchNorm3d(64)
        self.conv3 = make_conv(conv, 64, 128, execution)
        self.bn3 = nn.BatchNorm3d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool3d(torch.relu(self.bn1(self.conv1(x))), (1, 2, 2))
        x = F.max_pool3d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean(dim=(2, 3, 4)))
