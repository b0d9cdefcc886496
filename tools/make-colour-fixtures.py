#!/usr/bin/env python3
"""Makes Fixtures/colour/: small H.264 videos in every colour setting that
matters to YUV→RGB conversion, and cases.json, a pairwise plan of how each is
read. Every pair of values of any two dimensions below is in at least one
case (pairs that cannot exist are left out: 10-bit yuvj*, a crop on the CLI,
the loader's own output and request order).

    range    tv, pc (yuv* tagged full range), yuvj (the yuvj* formats)
    matrix   bt601, bt709, bt2020nc, unspecified
    chroma   420, 422, 444
    depth    8, 10
    output   native, short_side, size (W×H), crop (native pixels of a box)
    request  forward, descending, random (with a repeat), reused (one decoder, several calls)
    path     swift, cli, loader, python

The tests compare each case with the ffmpeg CLI at test time: `-vf
format=rgb24` at native size (exact or PSNR ≥ 50 dB), `scale=W:H:flags=
bilinear,format=rgb24` for resized output (PSNR ≥ 40 dB). The files are
committed; run this again only to change the set (needs Debian's ffmpeg with
libx264):

    tools/make-colour-fixtures.py [OUT_DIR]      (default: Fixtures/colour)
"""
import itertools
import json
import os
import subprocess
import sys

DIMENSIONS = {
    "range": ["tv", "pc", "yuvj"],
    "matrix": ["bt601", "bt709", "bt2020nc", "unspecified"],
    "chroma": ["420", "422", "444"],
    "depth": [8, 10],
    "output": ["native", "short_side", "size", "crop"],
    "request": ["forward", "descending", "random", "reused"],
    "path": ["swift", "cli", "loader", "python"],
}
NAMES = list(DIMENSIONS)


def valid(case):
    """A partial or whole case that can exist."""
    if case.get("range") == "yuvj" and case.get("depth") == 10:
        return False   # there is no 10-bit yuvj format
    if case.get("path") == "cli" and case.get("output") == "crop":
        return False   # `clipkit frames` has no crop option
    if case.get("path") == "loader" and case.get("output", "short_side") != "short_side":
        return False   # the loader scales to a short side, then crops the centre
    if case.get("path") == "loader" and case.get("request", "forward") != "forward":
        return False   # a clip's frames are asked for in order
    return True


def pairs_of(case):
    return {((a, case[a]), (b, case[b])) for a, b in itertools.combinations(NAMES, 2)}


def pairwise_plan():
    """Greedy: each step takes the whole case that covers the most pairs not
    yet covered (the first such case in product order, so the plan is fixed)."""
    wanted = set()
    for a, b in itertools.combinations(NAMES, 2):
        for x in DIMENSIONS[a]:
            for y in DIMENSIONS[b]:
                if valid({a: x, b: y}):
                    wanted.add(((a, x), (b, y)))
    candidates = [dict(zip(NAMES, values)) for values in itertools.product(*DIMENSIONS.values())]
    candidates = [c for c in candidates if valid(c)]
    plan = []
    while wanted:
        best = max(candidates, key=lambda c: len(pairs_of(c) & wanted))
        wanted -= pairs_of(best)
        plan.append(best)
    return plan


def pixel_format(case):
    chroma = {"420": "420p", "422": "422p", "444": "444p"}[case["chroma"]]
    if case["range"] == "yuvj":
        return "yuvj" + chroma
    return "yuv" + chroma + ("10le" if case["depth"] == 10 else "")


def encode(case, path):
    matrix = {"bt601": "smpte170m", "bt709": "bt709", "bt2020nc": "bt2020nc", "unspecified": None}[case["matrix"]]
    full = case["range"] != "tv"
    # The source is converted with the file's own matrix and range, as a camera would.
    convert = f"scale=out_range={'pc' if full else 'tv'}" + (f":out_color_matrix={'bt2020' if matrix == 'bt2020nc' else case['matrix']}"
                                                            if matrix else "")
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
               "-i", "testsrc2=size=64x48:rate=25:duration=0.32", "-vf", convert + f",format={pixel_format(case)}",
               "-threads", "1", "-fflags", "+bitexact", "-map_metadata", "-1",
               "-c:v", "libx264", "-preset", "fast", "-g", "4", "-bf", "2", "-pix_fmt", pixel_format(case),
               "-color_range", "pc" if full else "tv"]
    if matrix:
        command += ["-colorspace", matrix]
    subprocess.check_call(command + [path])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Fixtures/colour"
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    plan = pairwise_plan()
    cases = []
    for case in plan:
        case = dict(case)
        case["file"] = f"{case['range']}_{case['matrix']}_{case['chroma']}_{case['depth']}bit.mp4"
        case["pix_fmt"] = pixel_format(case)
        if not os.path.exists(os.path.join(out, case["file"])):   # cases with the same file settings share it
            encode(case, os.path.join(out, case["file"]))
        cases.append(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main()
