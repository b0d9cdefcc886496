"""Safetensors interop check, both ways (run by hand or by `make bench`):
1. Python reads a checkpoint ClipKit wrote (`clipkit model init kth3l-reg3d`),
   loads it strictly into the PyTorch twin, and checks that ClipKit's metadata survives.
2. The reverse direction is a unit test: Tests/TensorTests reads
   Fixtures/golden/tensor_ops.safetensors, which Python's safetensors wrote.

    .venv-bench/bin/python tools/check_safetensors.py CLIPKIT_BINARY
"""
import os
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from kth3l import KTH3L  # noqa: E402

clipkit = sys.argv[1]
path = os.path.join(tempfile.mkdtemp(), "kth3l.safetensors")
subprocess.run([clipkit, "model", "init", "kth3l-reg3d", "-o", path, "--seed", "3"], check=True)
state = load_file(path)
with safe_open(path, "pt") as f:
    meta = f.metadata()
assert meta == {"model": "kth3l-reg3d", "classes": "6", "seed": "3"}, meta
model = KTH3L(6)
missing, unexpected = model.load_state_dict(state, strict=False)
assert not unexpected, unexpected
assert all("num_batches_tracked" in m for m in missing), missing
model.eval()
with torch.no_grad():
    out = model(torch.zeros(1, 3, 8, 32, 32))
assert out.shape == (1, 6)
print(f"ok: PyTorch loaded {len(state)} tensors from ClipKit's {os.path.basename(path)}; metadata {meta}")
