"""PyTorch twins of ClipKit's `kth3l-*` (the STDCF paper's KTH net):
conv 3→32, BN, ReLU, max-pool (1,2,2); conv 32→64, BN, ReLU, max-pool 2;
conv 64→128, BN, ReLU; global average pool; linear 128→classes. Convs are
3×3×3 "same", no bias: plain (`reg3d`), STDCF (M = 6, N = 2; `composed` or
`factored`, as ClipKit's STDCFConv) or rank-1 (2+1)D. Parameter names match ClipKit's."""
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


def make_conv(kind, cin, cout, execution="composed"):
    if kind == "reg3d":
        return nn.Conv3d(cin, cout, 3, padding=1, bias=False)
    if kind == "stdcf":
        return STDCFConv(cin, cout, execution=execution)
    if kind == "rank1":
        return Rank1Conv(cin, cout)
    raise ValueError(kind)


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
