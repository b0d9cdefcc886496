"""mmaction2-style 30-view test input (the peer of `clipkit bench views`):
SampleFrames(clip_len, frame_interval, num_clips, test_mode=True) →
DecordDecode (get_batch of all views' frames) → Resize(-1, size) → ThreeCrop(size)
→ normalise → V×C×T×H×W float32. Prints JSON.

    python views_peer.py FILES... [--clip-len 8 --interval 8 --num-clips 10 --size 256 --repeats 1]
"""
import argparse
import json
import time

import decord
import numpy as np

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def test_indices(n, clip_len, interval, num_clips):
    ori = (clip_len - 1) * interval + 1
    max_offset = max(n - ori, 0)
    if num_clips > 1:
        offsets = np.round(np.arange(num_clips) * (max_offset / float(num_clips - 1)))
    else:
        offsets = np.array([max_offset // 2])
    inds = offsets[:, None] + np.arange(clip_len)[None, :] * interval
    return np.mod(np.concatenate(inds), n).astype(np.int64)


def views(path, clip_len, interval, num_clips, size):
    vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    inds = test_indices(len(vr), clip_len, interval, num_clips)
    imgs = vr.get_batch(inds).asnumpy()                       # (K·L, H, W, 3)
    h, w = imgs.shape[1:3]
    if min(h, w) != size:                                      # Resize(-1, size); 256p input needs none
        raise SystemExit(f"{path}: expected short side {size}, got {w}x{h}")
    if h == size:
        step = (w - size) // 2
        crops = [imgs[:, :, x:x + size] for x in (0, 2 * step, step)]
    else:
        step = (h - size) // 2
        crops = [imgs[:, y:y + size] for y in (0, 2 * step, step)]
    out = []
    for crop in crops:                                          # ThreeCrop output: crop-major, then clips
        clip = ((crop.astype(np.float32) - MEAN) / STD).reshape(num_clips, clip_len, size, size, 3)
        out.append(clip.transpose(0, 4, 1, 2, 3))               # K × C × T × H × W
    return np.ascontiguousarray(np.stack(out, axis=1).reshape(-1, 3, clip_len, size, size))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--clip-len", type=int, default=8)
    ap.add_argument("--interval", type=int, default=8)
    ap.add_argument("--num-clips", type=int, default=10)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    views(a.files[0], a.clip_len, a.interval, a.num_clips, a.size)   # warm-up
    start, videos, checksum = time.perf_counter(), 0, 0.0
    for _ in range(a.repeats):
        for f in a.files:
            v = views(f, a.clip_len, a.interval, a.num_clips, a.size)
            checksum += float(v.reshape(-1)[v.size // 2])
            videos += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"peer": "decord+ThreeCrop+normalise", "videos": videos, "seconds": seconds,
                      "videos_per_s": videos / seconds, "views": v.shape[0], "checksum": checksum}))


if __name__ == "__main__":
    main()
