"""The clipkit Python package's loader (pip install ./python), timed the way
`clipkit bench loader` times the Swift one: same manifest and options, the
same number of clips (train) or videos (test), epochs repeated as needed,
in one Python process. Prints JSON like bench loader's."""
import argparse
import json
import resource
import time

import clipkit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--mode", choices=["train", "test"], default="train")
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if a.mode == "train":  # bench loader's defaults: 8 frames at interval 8, 224 crops from short sides 256–320
        loader = clipkit.ClipLoader(a.manifest, frames=8, interval=8, crop=224, short_side=(256, 320), batch=a.batch,
                                    workers=a.workers, queue_depth=4)
    else:  # 10 clips × 3 crops of 256 at short side 256
        loader = clipkit.ClipLoader(a.manifest, mode="test", frames=8, interval=8, crop=256, test_short_side=256, num_clips=10,
                                    crops=3, batch=a.batch, workers=a.workers, queue_depth=4, shuffle=True)
    loaded, epoch, checksum = 0, 0, 0.0
    start = time.perf_counter()
    while loaded < a.clips:
        for x, _ in loader.batches(epoch):
            loaded += len(x)
            checksum += float(x.reshape(-1)[0])
            if loaded >= a.clips:
                break
        epoch += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"mode": a.mode, "clips": loaded, "seconds": seconds, "clips_per_s": loaded / seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "checksum": checksum}))


if __name__ == "__main__":
    main()
