"""Peer of `clipkit bench loader`: a torch DataLoader (2 worker processes by
default) doing mmaction2's pipeline over decord, torchcodec or PyAV.

train: SampleFrames(8, 8, 1) → decode → Resize(short side U[256, 320], bilinear)
       → RandomCrop(224) → Flip(0.5) → normalise → C×T×H×W float32, batch 8.
test:  SampleFrames(8, 8, 10, test) → decode → ThreeCrop(256) → normalise → 30×C×T×H×W, batch 1.

    python loader_peers.py --manifest M --backend decord|torchcodec|pyav --mode train|test --clips N
"""
import argparse
import json
import random
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1, 1)


def train_indices(n, clip_len=8, interval=8):
    ori = clip_len * interval
    avg = (n - ori + 1)
    if avg > 0:
        off = np.random.randint(avg)
    elif n > ori:
        off = np.random.randint(n - ori + 1)
    else:
        off = 0
    return np.mod(off + np.arange(clip_len) * interval, n)


def test_indices(n, clip_len=8, interval=8, k=10):
    max_offset = max(n - ((clip_len - 1) * interval + 1), 0)
    offsets = np.round(np.arange(k) * (max_offset / float(k - 1)))
    return np.mod((offsets[:, None] + np.arange(clip_len)[None] * interval).reshape(-1), n).astype(np.int64)


def frame_count(backend, path):
    if backend == "decord":
        import decord
        return len(decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1))
    if backend == "torchcodec":
        from torchcodec.decoders import VideoDecoder
        return VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=1).metadata.num_frames
    import av
    with av.open(path) as c:
        return sum(1 for _ in c.demux(video=0) if _.size > 0)


def decode(backend, path, indices):
    """uint8 T×H×W×3 frames at `indices` (in that order)."""
    if backend == "decord":
        import decord
        vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        return torch.from_numpy(vr.get_batch(list(indices)).asnumpy())
    if backend == "torchcodec":
        from torchcodec.decoders import VideoDecoder
        d = VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=1)
        return d.get_frames_at(indices=[int(i) for i in indices]).data.permute(0, 2, 3, 1)
    import av   # PyAV as PySlowFast/PyTorchVideo use it: seek to the first frame, decode forward
    wanted = sorted(set(int(i) for i in indices))
    got = {}
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_count = 1
        fps = float(s.average_rate)
        start = s.start_time or 0
        c.seek(int(start + wanted[0] / fps / s.time_base), stream=s, backward=True)
        for frame in c.decode(s):
            i = int(round((frame.pts - start) * s.time_base * fps))
            if i in wanted:
                got[i] = frame.to_ndarray(format="rgb24")
            if i >= wanted[-1]:
                break
    return torch.from_numpy(np.stack([got[int(i)] for i in indices]))


def train_clip(frames):
    """T×H×W×3 uint8 → Resize(short side U[256, 320]) → RandomCrop(224) → Flip(0.5) → normalised C×T×224×224."""
    frames = frames.permute(3, 0, 1, 2).float()   # C×T×H×W
    h, w = frames.shape[2:]
    side = random.randint(256, 320)
    nh, nw = (side, int(w * side / h + 0.5)) if h <= w else (int(h * side / w + 0.5), side)
    frames = F.interpolate(frames, size=(nh, nw), mode="bilinear", align_corners=False)
    y = random.randint(0, nh - 224 - 1) if nh > 224 else 0
    x = random.randint(0, nw - 224 - 1) if nw > 224 else 0
    clip = frames[:, :, y:y + 224, x:x + 224]
    if random.random() < 0.5:
        clip = clip.flip(3)
    return (clip - MEAN) / STD


class Clips(torch.utils.data.Dataset):
    def __init__(self, entries, backend, mode, length):
        self.entries, self.backend, self.mode, self.length = entries, backend, mode, length
        self.counts = {}

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        path, label = self.entries[i % len(self.entries)]
        if path not in self.counts:
            self.counts[path] = frame_count(self.backend, path)
        n = self.counts[path]
        if self.mode == "train":
            return train_clip(decode(self.backend, path, train_indices(n))), label
        frames = decode(self.backend, path, test_indices(n)).permute(3, 0, 1, 2).float()        # C×(K·T)×H×W
        h, w = frames.shape[2:]
        step = (w - 256) // 2
        views = [frames[:, :, :, x:x + 256] for x in (0, 2 * step, step)]
        views = [((v - MEAN) / STD).reshape(3, 10, 8, 256, 256).permute(1, 0, 2, 3, 4) for v in views]
        return torch.stack(views, 1).reshape(30, 3, 8, 256, 256), label


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--backend", choices=["decord", "torchcodec", "pyav"], required=True)
    ap.add_argument("--mode", choices=["train", "test"], default="train")
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    lines = [l.strip().split(",") for l in open(a.manifest)][1:]
    entries = [(p, int(l)) for p, l, *_ in lines]
    torch.set_num_threads(1)
    batch = a.batch if a.mode == "train" else 1
    loader = torch.utils.data.DataLoader(Clips(entries, a.backend, a.mode, a.clips), batch_size=batch,
                                         num_workers=a.workers, shuffle=True, prefetch_factor=2, persistent_workers=False)
    start, count, check = time.perf_counter(), 0, 0.0
    for x, y in loader:
        count += x.shape[0]
        check += float(x.reshape(-1)[0])
    seconds = time.perf_counter() - start
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"backend": a.backend, "mode": a.mode, "clips": count, "seconds": seconds,
                      "clips_per_s": count / seconds, "peak_rss_mb_one_process": rss}))


if __name__ == "__main__":
    main()
