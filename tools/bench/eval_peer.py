"""PyTorch twin of `clipkit bench eval`: the same model (resnet3d.py), every
view of a video (clips × crops of CxTxHxW) in one forward batch under
`torch.inference_mode`, eval mode, the per-view softmax averaged. One
warm-up video, then `videos` timed. Prints JSON.

    python eval_peer.py --model r3d50 --input 3x8x224x224 --clips 10 --crops 3 --videos 2 --threads 2
"""
import argparse
import json
import resource
import time

import torch

import resnet3d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="r3d50")
    ap.add_argument("--input", default="3x8x224x224")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--crops", type=int, default=3)
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=400)
    ap.add_argument("--execution", default="composed", help="STDCF: composed | factored")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    shape = [int(v) for v in a.input.split("x")]
    views = a.clips * a.crops
    model = resnet3d.make(a.model, a.classes, execution=a.execution).eval()
    x = torch.rand(views, *shape) * 2 - 1
    checksum = 0.0

    def video():
        nonlocal checksum
        with torch.inference_mode():
            scores = torch.softmax(model(x), dim=1).mean(0)
        checksum += float(scores.sum())

    video()
    start = time.perf_counter()
    for _ in range(a.videos):
        video()
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": f"{a.model} (PyTorch, {a.execution})", "threads": a.threads, "views": views,
                      "videos": a.videos, "videos_per_s": a.videos / seconds, "video_ms": seconds / a.videos * 1000,
                      "peak_rss_mb": rss, "checksum": checksum / (a.videos + 1), "torch": torch.__version__,
                      "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
