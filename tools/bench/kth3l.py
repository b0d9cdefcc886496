"""The PyTorch twin of ClipKit's `kth3l-reg3d` (the STDCF paper's KTH net):
conv 3→32, BN, ReLU, max-pool (1,2,2); conv 32→64, BN, ReLU, max-pool 2;
conv 64→128, BN, ReLU; global average pool; linear 128→classes.
Convs are 3×3×3, padding 1, no bias. Parameter names match ClipKit's."""
import torch
import torch.nn as nn


class KTH3L(nn.Module):
    def __init__(self, classes=6):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(32)
        self.conv2 = nn.Conv3d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(64)
        self.conv3 = nn.Conv3d(64, 128, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm3d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = nn.functional.max_pool3d(torch.relu(self.bn1(self.conv1(x))), (1, 2, 2))
        x = nn.functional.max_pool3d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        return self.fc(x.mean(dim=(2, 3, 4)))
