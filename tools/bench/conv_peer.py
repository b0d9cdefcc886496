"""PyTorch twin of `clipkit bench conv`: the same convolution shapes (read
from `clipkit bench conv --layers M --list`, a JSON file), timed the same
way: medians of 3 runs after a warm-up, in ms, of the forward pass without
gradients and of the backward pass for dX alone and for dW alone (the
forward outside the timer). Prints JSON.

    python conv_peer.py layers.json --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(body):
    body()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def backward_ms(x, w, up, wrt, stride, padding):
    times = []
    for run in range(4):
        y = F.conv3d(x, w, stride=stride, padding=padding)
        start = time.perf_counter()
        torch.autograd.grad(y, wrt, up)
        if run > 0:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(layer):
    torch.manual_seed(3)
    x = torch.rand(layer["batch"], layer["cin"], *layer["input"]) * 2 - 1
    w = (torch.rand(layer["cout"], layer["cin"], *layer["kernel"]) * 2 - 1) * 0.1
    stride, padding = tuple(layer["stride"]), tuple(layer["padding"])
    with torch.no_grad():
        forward = median_ms(lambda: F.conv3d(x, w, stride=stride, padding=padding))
        up = torch.full_like(F.conv3d(x, w, stride=stride, padding=padding), 0.01)
    wg = w.clone().requires_grad_(True)
    dw = backward_ms(x, wg, up, wg, stride, padding)
    dx = None
    if layer["input_grad"]:
        xg = x.clone().requires_grad_(True)
        dx = backward_ms(xg, w, up, xg, stride, padding)
    return {"name": layer["name"], "count": layer["count"], "forward_ms": forward, "dx_ms": dx, "dw_ms": dw}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers", help="JSON from `clipkit bench conv --layers M --list`")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.layers) as f:
        layers = json.load(f)
    print(json.dumps({"torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
                      "threads": a.threads, "layers": [measure(layer) for layer in layers]}))


if __name__ == "__main__":
    main()
