"""Golden outputs for the spatial ops, made the mmaction2 way: resize the whole
frame (bilinear, align_corners=False, no antialias: what cv2.INTER_LINEAR
does), then crop, flip, normalise. ClipKit instead decodes straight to the
final size of a crop box (swscale bilinear), so tests compare within a tolerance.
Crops are stored as uint8 H×W×3 after the flip (normalisation is exact and is
tested against its naive twin); tests undo ClipKit's normalisation to compare.

    .venv-bench/bin/python tools/golden/make_spatial_golden.py   # writes Fixtures/golden/spatial_*.rgb + spatial.json
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

def load(name, w, h):
    return np.fromfile(f"Fixtures/ref/{name}", dtype=np.uint8).reshape(h, w, 3)


def resize(img, w, h):
    t = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]
    out = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
    return out[0].permute(1, 2, 0).round().clamp(0, 255).numpy().astype(np.uint8)


def main():
    src = load("h264_bframes_mp4_13.rgb", 160, 120)
    cases = []
    # Scales as in use: prep makes 256p videos, tests resize them to 256 (×1.0),
    # training to 256...320 (×1.0...1.25). The 160×120 fixture frame stands in,
    # at the same ratios.
    # Test views: short side 128 -> 171x128, ThreeCrop(128): left, right, centre.
    resized = resize(src, 171, 128)
    step = (171 - 128) // 2
    for i, x in enumerate([0, 2 * step, step]):
        name = f"spatial_three_{i}.rgb"
        np.ascontiguousarray(resized[:, x:x + 128]).tofile(f"Fixtures/golden/{name}")
        cases.append({"kind": "three", "index": i, "box": [x, 0, 128, 128], "resized": [171, 128], "flip": False, "file": name})
    # Training: short side 144 -> 192x144, crop 112 at (41, 17), flipped.
    resized = resize(src, 192, 144)
    crop = resized[17:17 + 112, 41:41 + 112][:, ::-1]
    np.ascontiguousarray(crop).tofile("Fixtures/golden/spatial_train.rgb")
    cases.append({"kind": "train", "box": [41, 17, 112, 112], "resized": [192, 144], "flip": True, "file": "spatial_train.rgb"})
    json.dump({"source": "h264_bframes.mp4", "frame": 13, "cases": cases}, open("Fixtures/golden/spatial.json", "w"), indent=1)
    print(f"{len(cases)} spatial golden cases")


if __name__ == "__main__":
    main()
