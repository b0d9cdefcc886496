"""PyTorch twin of `clipkit bench train`: the same model (kth3l.py), random
clips, cross-entropy, backward, SGD (momentum 0.9, weight decay 1e-4), same
thread count. One warm-up step, then `steps` measured. Prints JSON.

    python train_peer.py --input 3x16x60x80 --batch 16 --steps 5 --threads 2
"""
import argparse
import json
import resource
import time

import torch
import torch.nn.functional as F

from kth3l import KTH3L
from resnet3d import ResNet3D50


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default="3x16x60x80")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--model", default="kth3l-reg3d",
                    help="kth3l-reg3d | kth3l-stdcf | kth3l-rank1 | kth3l-ct | r3d50 | r2plus1d-r50 | stdcf-r50")
    ap.add_argument("--execution", default="composed", help="STDCF: composed | factored")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    shape = [int(v) for v in a.input.split("x")]
    if a.model in ResNet3D50.MIDDLE:
        model = ResNet3D50(a.model, a.classes, execution=a.execution)
    else:
        model = KTH3L(a.classes, conv=a.model.split("-")[1], execution=a.execution)
    model.train()
    x = torch.rand(a.batch, *shape) * 2 - 1
    labels = torch.arange(a.batch) % a.classes
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()

    step()
    start = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": f"{a.model} (PyTorch, {a.execution})", "threads": a.threads, "batch": a.batch, "steps": a.steps,
                      "clips_per_s": a.batch * a.steps / seconds, "step_ms": seconds / a.steps * 1000,
                      "peak_rss_mb": rss, "loss": loss, "torch": torch.__version__,
                      "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
