"""Peer of `clipkit bench loader` over tar shards: WebDataset streaming the
shards (local paths, or http URLs through curl, as WebDataset reads them),
decord decoding each sample's whole video from memory, and mmaction2's
training pipeline (loader_peers.train_clip), batches of 8 from a torch
DataLoader with 2 worker processes. WebDataset reads every member whole and
in order; each worker draws shards at random (resampled), so the workers
stay busy to the end.

    python wds_peer.py --clips N SHARD [SHARD ...]
"""
import argparse
import io
import json
import resource
import time

import torch
import webdataset as wds

from loader_peers import train_clip, train_indices


def clip(sample):
    import decord
    vr = decord.VideoReader(io.BytesIO(sample["mp4"]), ctx=decord.cpu(0), num_threads=1)
    frames = torch.from_numpy(vr.get_batch(list(train_indices(len(vr)))).asnumpy())
    return train_clip(frames), json.loads(sample["json"])["label"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", nargs="+")
    ap.add_argument("--clips", type=int, default=160)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(1)
    per_worker = a.clips // a.workers // a.batch
    dataset = (wds.WebDataset(a.shards, resampled=True, shardshuffle=False).shuffle(16).map(clip)
               .batched(a.batch).with_epoch(per_worker))
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=a.workers, prefetch_factor=2)
    start, count, check = time.perf_counter(), 0, 0.0
    for x, y in loader:
        count += x.shape[0]
        check += float(x.reshape(-1)[0])
    seconds = time.perf_counter() - start
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"peer": "webdataset+decord", "clips": count, "seconds": seconds, "clips_per_s": count / seconds,
                      "peak_rss_mb_one_process": rss}))


if __name__ == "__main__":
    main()
