"""Peer side of `clipkit bench decode`: replays ClipKit's clip plan with decord
(`get_batch`) and torchcodec (`get_frames_at`, exact seek mode), one decoder
opened per clip, one FFmpeg thread, as a data loader does. Prints JSON.

    python decode_peers.py --plan plan.json --peer decord|torchcodec [--repeat R]
"""
import argparse
import json
import time

import numpy as np


def run_decord(plan):
    import decord
    frames = 0
    for clip in plan:
        reader = decord.VideoReader(clip["file"], ctx=decord.cpu(0), num_threads=1)
        batch = reader.get_batch(clip["indices"]).asnumpy()
        frames += batch.shape[0]
    return frames


def run_torchcodec(plan):
    from torchcodec.decoders import VideoDecoder
    frames = 0
    for clip in plan:
        decoder = VideoDecoder(clip["file"], seek_mode="exact", num_ffmpeg_threads=1, device="cpu")
        batch = decoder.get_frames_at(indices=clip["indices"]).data
        frames += batch.shape[0]
    return frames


def first_clip(peer, clip):
    """The first clip's frames as N×H×W×3 uint8, to check that peers agree."""
    if peer == "decord":
        import decord
        return decord.VideoReader(clip["file"], ctx=decord.cpu(0), num_threads=1).get_batch(clip["indices"]).asnumpy()
    from torchcodec.decoders import VideoDecoder
    d = VideoDecoder(clip["file"], seek_mode="exact", num_ffmpeg_threads=1)
    return d.get_frames_at(indices=clip["indices"]).data.permute(0, 2, 3, 1).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    parser.add_argument("--peer", choices=["decord", "torchcodec"], required=True)
    parser.add_argument("--dump-first", help="write the first clip's rgb24 frames here")
    args = parser.parse_args()
    plan = json.load(open(args.plan))
    import torch
    torch.set_num_threads(1)
    run = run_decord if args.peer == "decord" else run_torchcodec
    run(plan[:2])  # warm-up: imports, library loading
    start = time.perf_counter()
    frames = run(plan)
    seconds = time.perf_counter() - start
    if args.dump_first:
        np.ascontiguousarray(first_clip(args.peer, plan[0])).tofile(args.dump_first)
    print(json.dumps({"peer": args.peer, "frames": frames, "seconds": seconds, "frames_per_s": frames / seconds}))


if __name__ == "__main__":
    main()
