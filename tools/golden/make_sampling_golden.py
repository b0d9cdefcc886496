"""Expected frame indices and crop boxes, from a literal re-implementation of
mmaction2's SampleFrames / DenseSampleFrames / ThreeCrop / TenCrop / CenterCrop
(numpy semantics: float offsets, round-half-even, astype(int32)) and PySlowFast's
get_start_end_idx + temporal_sampling (torch.linspace in float32).

    .venv-bench/bin/python tools/golden/make_sampling_golden.py   # writes Fixtures/golden/sampling.json

Only deterministic outputs are recorded: test mode, and the train branches that
draw no random numbers. Random branches are checked by property tests.
"""
import itertools
import json
import math

import numpy as np
import torch


def sample_frames(n, clip_len, interval, num_clips, test, twice=False, oob="loop"):
    """mmaction2 SampleFrames.transform without the random branches (None if random)."""
    ori = (clip_len - 1) * interval + 1 if test else clip_len * interval
    if test:
        if clip_len == 1:
            avg = n / float(num_clips)
            base = np.arange(num_clips) * avg
            offsets = base + avg / 2.0
            if twice:
                offsets = np.concatenate([offsets, base])
        else:
            max_offset = max(n - ori, 0)
            count = num_clips * 2 if twice else num_clips
            if count > 1:
                offset_between = max_offset / float(num_clips - 1)   # ZeroDivisionError as in mmaction2
                offsets = np.round(np.arange(count) * offset_between)
            else:
                offsets = np.array([max_offset // 2])
    else:
        avg = (n - ori + 1) // num_clips
        if avg > 0 or n > max(num_clips, ori):
            return None   # random
        elif avg == 0:
            ratio = (n - ori + 1.0) / num_clips
            offsets = np.around(np.arange(num_clips) * ratio)
        else:
            offsets = np.zeros((num_clips,), dtype=np.int32)
    inds = offsets[:, None] + np.arange(clip_len)[None, :] * interval
    inds = np.concatenate(inds).reshape((-1, clip_len))
    if oob == "loop":
        inds = np.mod(inds, n)
    else:
        safe = inds < n
        unsafe = 1 - safe
        last = np.max(safe * inds, axis=1)
        inds = safe * inds + (unsafe.T * last).T
    return inds.astype(np.int32).tolist()


def dense_sample_frames_test(n, clip_len, interval, num_clips, sample_range=64, positions=10, oob="loop"):
    sample_position = max(1, 1 + n - sample_range)
    step = sample_range // num_clips
    starts = np.linspace(0, sample_position - 1, num=positions, dtype=int)
    base = np.arange(num_clips) * step
    offsets = []
    for s in starts:
        offsets.extend((base + s) % n)
    offsets = np.array(offsets)
    inds = offsets[:, None] + np.arange(clip_len)[None, :] * interval
    if oob == "loop":
        inds = np.mod(inds, n)
    else:
        safe = inds < n
        last = np.max(safe * inds, axis=1)
        inds = safe * inds + ((1 - safe).T * last).T
    return inds.astype(np.int32).tolist()


def slowfast_test(n, clip_len, interval, num_clips):
    clip_size = clip_len * interval   # sampling_rate * num_frames, native fps
    out = []
    for i in range(num_clips):
        delta = max(n - clip_size, 0)
        start = delta * i / num_clips
        end = start + clip_size - 1
        index = torch.linspace(start, end, clip_len)
        index = torch.clamp(index, 0, n - 1).long()
        out.append(index.tolist())
    return out


def three_crop(w, h, size):
    crop_w, crop_h = min(size, w), min(size, h)
    if crop_h == h:
        step = (w - crop_w) // 2
        offsets = [(0, 0), (2 * step, 0), (step, 0)]
    else:
        step = (h - crop_h) // 2
        offsets = [(0, 0), (0, 2 * step), (0, step)]
    return [[x, y, crop_w, crop_h] for x, y in offsets]


def ten_crop(w, h, size):
    ws, hs = (w - size) // 4, (h - size) // 4
    offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
    out = []
    for x, y in offsets:
        out += [[x, y, size, size, False], [x, y, size, size, True]]
    return out


def main():
    dense, train, dense64, slowfast = [], [], [], []
    for n, l, s, k, twice, oob in itertools.product([1, 5, 16, 31, 33, 64, 100, 300], [1, 4, 8, 32], [1, 2, 8],
                                                   [1, 3, 10], [False, True], ["loop", "repeat_last"]):
        if l == 1 and s != 1:
            continue
        case = {"n": n, "clip_len": l, "interval": s, "num_clips": k, "twice": twice, "oob": oob}
        try:
            case["clips"] = sample_frames(n, l, s, k, True, twice, oob)
        except ZeroDivisionError:
            case["error"] = True
        dense.append(case)
        if not twice:
            got = sample_frames(n, l, s, k, False, False, oob)
            if got is not None:
                train.append({"n": n, "clip_len": l, "interval": s, "num_clips": k, "oob": oob, "clips": got})
    for n, l, s, k in itertools.product([1, 10, 64, 65, 100, 300], [8, 32], [1, 2], [1, 4, 8]):
        dense64.append({"n": n, "clip_len": l, "interval": s, "num_clips": k, "clips": dense_sample_frames_test(n, l, s, k)})
    for n, l, s, k in itertools.product([1, 7, 31, 32, 33, 64, 100, 257, 300], [4, 8, 32], [1, 2, 8], [1, 2, 3, 10]):
        slowfast.append({"n": n, "clip_len": l, "interval": s, "num_clips": k, "clips": slowfast_test(n, l, s, k)})
    crops = []
    for w, h in [(256, 256), (341, 256), (455, 256), (256, 455), (320, 240), (257, 256), (256, 341)]:
        crops.append({"width": w, "height": h, "three256": three_crop(w, h, 256), "ten224": ten_crop(w, h, 224),
                      "center224": [(w - 224) // 2, (h - 224) // 2, 224, 224]})
    json.dump({"sample_frames_test": dense, "sample_frames_train_deterministic": train,
               "dense_sample_frames_test": dense64, "slowfast_test": slowfast, "crops": crops},
              open("Fixtures/golden/sampling.json", "w"), separators=(",", ":"))
    print(f"{len(dense)} SampleFrames test cases, {len(train)} deterministic train cases, "
          f"{len(dense64)} DenseSampleFrames, {len(slowfast)} SlowFast, {len(crops)} crop sets")


if __name__ == "__main__":
    main()
