"""Decoding a video held in memory (bytes): ClipKit's `VideoDecoder(bytes)`
against the same decoder on the file, and torchcodec's `VideoDecoder(bytes)`
(exact seek mode) against its own on the file. One job per file and source:
open, then four 8-frame clips at stride 8 (mmaction2's SampleFrames 8 × 8)
at fixed places, frames returned NHWC uint8. Every ClipKit clip from bytes
is checked equal to its clip from the file (by digest). Rounds interleave the four
ways; medians of --rounds. One FFmpeg thread everywhere.

    python tools/bench/bench_bytes.py --files F [F …] [--rounds 5] [--json-out F]
"""
import argparse
import hashlib
import json
import statistics
import time

import numpy as np


def clip_indices(frames):
    """Four 8 × 8 clips spread over the video (start, ¼, ½, end), as index lists."""
    span = 8 * 8
    last = max(frames - span, 0)
    starts = [0, last // 4, last // 2, last]
    return [[min(s + 8 * i, frames - 1) for i in range(8)] for s in starts]


def clipkit_job(source, digest):
    """Seconds to open `source` and decode the four clips; each clip goes into `digest` off the clock."""
    import clipkit
    start = time.perf_counter()
    decoder = clipkit.VideoDecoder(source, dimension_order="NHWC")
    return _clips(start, lambda c: np.asarray(decoder.get_frames_at(c)), len(decoder), digest)


def torchcodec_job(source, digest):
    from torchcodec.decoders import VideoDecoder
    start = time.perf_counter()
    decoder = VideoDecoder(source, dimension_order="NHWC", seek_mode="exact", num_ffmpeg_threads=1)
    return _clips(start, lambda c: decoder.get_frames_at(c).data.numpy(), len(decoder), digest)


def _clips(start, decode, frames, digest):
    """The clock from `start` over the clips' decoding only. One clip is held
    at a time, so that every job reuses the memory of the one before rather
    than paying for fresh pages (slow on this VM) for all four."""
    elapsed = 0.0
    for c in clip_indices(frames):
        clip = decode(c)
        elapsed += time.perf_counter() - start
        digest.update(np.ascontiguousarray(clip).tobytes())
        del clip
        start = time.perf_counter()
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", nargs="+", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    ways = {
        "clipkit file": (clipkit_job, False), "clipkit bytes": (clipkit_job, True),
        "torchcodec file": (torchcodec_job, False), "torchcodec bytes": (torchcodec_job, True),
    }
    results = {}
    print("| file | " + " | ".join(f"{w} (ms)" for w in ways) + " | ClipKit bytes / file | ClipKit bytes vs torchcodec bytes |")
    print("|---|" + "---|" * (len(ways) + 2))
    for path in a.files:
        data = open(path, "rb").read()
        seconds = {w: [] for w in ways}
        for _ in range(a.rounds):
            digests = {}
            for way, (job, from_bytes) in ways.items():
                digest = hashlib.blake2b()
                seconds[way].append(job(data if from_bytes else path, digest))
                digests[way] = digest.hexdigest()
            assert digests["clipkit bytes"] == digests["clipkit file"], f"{path}: frames from bytes differ from the file's"
        median = {w: statistics.median(s) for w, s in seconds.items()}
        results[path] = {"median_seconds": median, "seconds": seconds, "bytes": len(data)}
        cells = " | ".join(f"{1000 * median[w]:.1f}" for w in ways)
        print(f"| {path.split('/')[-1]} | {cells} | {median['clipkit file'] / median['clipkit bytes']:.2f}× speed | "
              f"{median['torchcodec bytes'] / median['clipkit bytes']:.2f}× |")
    if a.json_out:
        json.dump(results, open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
