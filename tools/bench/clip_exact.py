"""Training-clip exactness on AVI files as UCF101 and HMDB51 ship them (MPEG-4
part 2, Xvid or FFmpeg's, with B-frames; packed or unpacked): for each file,
`--clips` training clips of mmaction2's SampleFrames(clip_len=8,
frame_interval=8) (a random start, seeded), asked of ClipKit, decord and
torchcodec (exact mode), one decoder per file, clips in order of drawing.
A clip is exact when all its frames equal the frames of
`ffmpeg -i F -vf format=rgb24` byte for byte; a decoder that fails on a file
has no exact clip there. Prints a Markdown table.

    python tools/bench/clip_exact.py FILE.avi ... [--clips 50] [--seed 0]
"""
import argparse
import random
import subprocess

import numpy as np


def truth(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-threads", "1", "-i", path, "-vf", "format=rgb24", "-fps_mode",
                          "passthrough", "-f", "rawvideo", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def clips_of(frames, count, seed):
    rng = random.Random(seed)
    span = 8 * 8
    return [[min(rng.randrange(0, max(frames - span + 1, 1)) + 8 * k, frames - 1) for k in range(8)]
            for _ in range(count)]


def clipkit_decoder(path):
    import clipkit
    d = clipkit.VideoDecoder(path, dimension_order="NHWC")
    return len(d), lambda idx: np.asarray(d.get_frames_at(idx))


def decord_decoder(path):
    import decord
    r = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    return len(r), lambda idx: r.get_batch(idx).asnumpy()


def torchcodec_decoder(path):
    from torchcodec.decoders import VideoDecoder
    d = VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=1, device="cpu")
    return d.metadata.num_frames, lambda idx: d.get_frames_at(indices=idx).data.permute(0, 2, 3, 1).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args()
    decoders = [("ClipKit", clipkit_decoder), ("decord", decord_decoder), ("torchcodec (exact)", torchcodec_decoder)]
    totals = {name: 0 for name, _ in decoders}
    asked = 0
    print("| file | frames (CLI) | " + " | ".join(n for n, _ in decoders) + " |")
    print("|---|---|" + "---|" * len(decoders))
    for path in a.files:
        reference = truth(path)
        clips = clips_of(len(reference), a.clips, a.seed)
        asked += len(clips)
        cells = []
        for name, make in decoders:
            try:
                count, get = make(path)
                exact = sum(1 for c in clips if np.array_equal(get(c), reference[c]))
                note = "" if count == len(reference) else f" ({count} frames)"
            except Exception as error:  # a decoder that fails on the file scores nothing there
                exact, note = 0, f" (error: {str(error).splitlines()[0][:60]})"
            totals[name] += exact
            cells.append(f"{exact}/{len(clips)}{note}")
        print(f"| {path.split('/')[-1]} | {len(reference)} | " + " | ".join(cells) + " |")
    print(f"| **all** | | " + " | ".join(f"**{totals[n]}/{asked}**" for n, _ in decoders) + " |")


if __name__ == "__main__":
    main()
