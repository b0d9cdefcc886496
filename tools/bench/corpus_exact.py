"""Frame-exactness on the real-format corpus: ClipKit, decord and torchcodec
(exact seek mode) against the ffmpeg CLI's frames (`Fixtures/corpus/corpus.json`:
the frame count of `ffprobe -count_frames` and the Adler-32 of every rgb24
frame of `ffmpeg -i F -vf format=rgb24`).

For every file, each decoder is asked for the same indices (first, second,
either side of every keyframe, the middle, the last two; keyframes as
`clipkit probe` lists them), in descending order, one decoder per file.
A file is "exact" when the decoder's frame count equals ffprobe's and every
frame asked equals the CLI's byte for byte. Prints a Markdown table; --json-out
keeps the details.

    python tools/bench/corpus_exact.py --clipkit PATH [--corpus Fixtures/corpus] [--json-out F]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import zlib

import numpy as np


def adler(frame):
    return "0x%08x" % zlib.adler32(np.ascontiguousarray(frame).tobytes(), 0)


def scattered(frames, keyframes):
    picks = {0, 1, frames // 2, frames - 2, frames - 1}
    for k in keyframes:
        picks.update({k - 1, k, k + 1})
    return sorted(i for i in picks if 0 <= i < frames)


def clipkit(ck, path, indices, e):
    meta = json.loads(subprocess.run([ck, "probe", path, "--json"], check=True, capture_output=True, text=True).stdout)
    asked = [i for i in indices if i < meta["frames"]]
    out = subprocess.run([ck, "frames", path, "--indices", ",".join(map(str, asked))], check=True, capture_output=True).stdout
    n = e["width"] * e["height"] * 3
    frames = [np.frombuffer(out[k * n:(k + 1) * n], np.uint8) for k in range(len(asked))]
    return meta["frames"], dict(zip(asked, frames))


def decord_frames(path, indices, e):
    import decord
    reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
    count = len(reader)
    asked = [i for i in indices if i < count]
    batch = reader.get_batch(asked).asnumpy()
    return count, dict(zip(asked, batch))


def torchcodec_frames(path, indices, e):
    from torchcodec.decoders import VideoDecoder
    decoder = VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=1, device="cpu")
    count = decoder.metadata.num_frames
    asked = [i for i in indices if i < count]
    batch = decoder.get_frames_at(indices=asked).data.permute(0, 2, 3, 1).numpy()
    return count, dict(zip(asked, batch))


def judge(result, e, indices):
    count, frames = result
    wrong = [i for i in indices if i not in frames or adler(frames[i]) != e["adler32"][i]]
    if count == e["frames"] and not wrong:
        return "exact", wrong
    parts = []
    if count != e["frames"]:
        parts.append(f"{count} frames (ffprobe {e['frames']})")
    if wrong:
        parts.append(f"{len(wrong)}/{len(indices)} frames differ")
    return "; ".join(parts), wrong


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--corpus", default="Fixtures/corpus")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    corpus = json.load(open(os.path.join(a.corpus, "corpus.json")))
    decoders = {"ClipKit": lambda p, i, e: clipkit(a.clipkit, p, i, e), "decord": decord_frames,
                "torchcodec (exact)": torchcodec_frames}
    rows, details = [], {}
    exact = {name: 0 for name in decoders}
    for name, e in sorted(corpus.items()):
        path = os.path.join(a.corpus, name)
        meta = json.loads(subprocess.run([a.clipkit, "probe", path, "--json"], check=True, capture_output=True,
                                         text=True).stdout)
        indices = sorted(scattered(e["frames"], meta["keyframes"]), reverse=True)
        cells, details[name] = [], {"indices": indices}
        for decoder, run in decoders.items():
            try:
                verdict, wrong = judge(run(path, indices, e), e, indices)
            except Exception as error:  # a peer that cannot open or decode the file
                message = re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", str(error).splitlines()[0])
                verdict, wrong = "error: " + message[:70], indices
            if verdict == "exact":
                exact[decoder] += 1
            cells.append(verdict)
            details[name][decoder] = {"verdict": verdict, "wrong": wrong}
            print(f"{name}: {decoder}: {verdict}", file=sys.stderr)
        rows.append(f"| {name} | {e['codec']} {e['pix_fmt']} | " + " | ".join(cells) + " |")
    print("| file | codec | " + " | ".join(decoders) + " |")
    print("|---|---|" + "---|" * len(decoders))
    print("\n".join(rows))
    print(f"| **exact** | {len(corpus)} files | " + " | ".join(f"**{exact[d]}/{len(corpus)}**" for d in decoders) + " |")
    if a.json_out:
        json.dump({"exact": exact, "files": len(corpus), "details": details}, open(a.json_out, "w"), indent=1)


if __name__ == "__main__":
    main()
