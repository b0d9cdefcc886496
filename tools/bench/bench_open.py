"""Open time in a fresh process: `VideoDecoder(path)` of ClipKit (first open,
with an empty index cache, and second open, with the cache a first open
left), decord (`VideoReader`) and torchcodec (`VideoDecoder`, its default
exact seek mode), each timed inside a new Python process after its imports
(the interpreter's start is not counted). Rounds interleave the libraries;
medians of --processes processes per file and library. Each file is compared
with ClipKit's open of an H.264 MP4 re-encode of the same frames
(make-open-set.sh); the issue's target is a second open within 2x of it.

    python tools/bench/bench_open.py --folder bench-data/open [--processes 10] [--json-out F]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

OPEN = {
    "clipkit": "import clipkit\n", "decord": "import decord\n", "torchcodec": "import torchcodec.decoders\n",
}
CALL = {
    "clipkit": "clipkit.VideoDecoder(path)", "decord": "decord.VideoReader(path)",
    "torchcodec": "torchcodec.decoders.VideoDecoder(path)",
}
FILES = [("xvid_240.avi", "AVI, Xvid with B-frames, 320x240"), ("xvid_1080.avi", "AVI, Xvid with B-frames, 1920x1080"),
         ("h264_720.ts", "MPEG-TS, H.264 with B-frames, 1280x720")]


def one_process(library, path, cache):
    """Seconds that one fresh process takes to open `path` with `library`."""
    code = OPEN[library] + (
        "import sys, time\npath = sys.argv[1]\nstart = time.perf_counter()\n"
        f"d = {CALL[library]}\nprint(time.perf_counter() - start)\n")
    env = dict(os.environ, CLIPKIT_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", code, path], check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def measure(folder, processes):
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        warm = os.path.join(scratch, "warm")
        for name, _ in FILES:
            one_process("clipkit", os.path.join(folder, name), warm)   # the first open that fills the warm cache
        for i in range(processes):
            for name, _ in FILES:
                for path in (os.path.join(folder, name), os.path.join(folder, os.path.splitext(name)[0] + ".mp4")):
                    times = rows.setdefault(os.path.basename(path), {})
                    cold = os.path.join(scratch, f"cold-{i}-{os.path.basename(path)}")
                    times.setdefault("clipkit first", []).append(one_process("clipkit", path, cold))
                    times.setdefault("clipkit second", []).append(one_process("clipkit", path, warm))
                    times.setdefault("decord", []).append(one_process("decord", path, warm))
                    times.setdefault("torchcodec", []).append(one_process("torchcodec", path, warm))
    return {name: {k: statistics.median(v) for k, v in times.items()} for name, times in rows.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default="bench-data/open")
    ap.add_argument("--processes", type=int, default=10)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    medians = measure(a.folder, a.processes)
    print(f"Open time in a fresh Python process, median of {a.processes} processes, ms "
          "(ClipKit first open: empty index cache; second: the cache a first open left)\n")
    print("| file | clipkit first | clipkit second | decord | torchcodec | second / MP4 re-encode's clipkit open |")
    print("|---|---|---|---|---|---|")
    for name, label in FILES:
        mp4 = os.path.splitext(name)[0] + ".mp4"
        for file, text in ((name, label), (mp4, "its H.264 MP4 re-encode")):
            m = medians[file]
            ratio = m["clipkit second"] / medians[mp4]["clipkit second"]
            print(f"| {file} ({text}) | {m['clipkit first'] * 1e3:.1f} | {m['clipkit second'] * 1e3:.1f} | "
                  f"{m['decord'] * 1e3:.1f} | {m['torchcodec'] * 1e3:.1f} | {ratio:.2f}x |")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"processes": a.processes, "medians_s": medians}, f, indent=1)


if __name__ == "__main__":
    main()
