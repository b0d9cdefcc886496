"""The torch adapter (clipkit.torch.ClipDataset) and the example, with torch installed."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import clipkit
from clipkit.torch import ClipDataset

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures"
ENTRIES = [(FIXTURES / v, i) for i, v in enumerate(["h264_bframes.mp4", "vp9.webm", "hevc.mkv", "mpeg4.avi"])]
OPTIONS = dict(frames=4, interval=2, crop=32, short_side=(32, 48), batch=2, seed=5)


def test_decoder_returns_torch_tensors():
    frames = clipkit.VideoDecoder(FIXTURES / "vp9.webm").get_batch([0, 1])
    assert isinstance(frames, torch.Tensor) and frames.dtype == torch.uint8 and frames.shape[:2] == (2, 3)


def test_dataloader_yields_the_loaders_batches_per_epoch():
    dataset = ClipDataset(ENTRIES, **OPTIONS)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=0)
    reference = clipkit.ClipLoader(ENTRIES, **OPTIONS)
    for epoch in (0, 3):
        dataset.set_epoch(epoch)
        ours = list(loader)
        theirs = list(reference.batches(epoch))
        assert len(ours) == len(theirs) == len(dataset) == 2
        for (x, y), (u, v) in zip(ours, theirs):
            assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.shape == (2, 3, 4, 32, 32)
            assert torch.equal(x, u) and torch.equal(y, v)


def test_the_dataset_resumes_mid_epoch_from_its_state():
    options = dict(OPTIONS, batch=1)
    first = ClipDataset(ENTRIES, **options)
    first.set_epoch(2)
    straight = list(first)
    iterator = iter(torch.utils.data.DataLoader(first, batch_size=None, num_workers=0))
    head = [next(iterator) for _ in range(3)]
    state = first.state_dict()
    restored = ClipDataset(ENTRIES, **options)
    restored.load_state_dict(state)
    tail = list(torch.utils.data.DataLoader(restored, batch_size=None, num_workers=0))
    assert len(straight) == 4 and len(tail) == 1
    for (x, y), (u, v) in zip(head + tail, straight):
        assert torch.equal(x, u) and torch.equal(y, v)


def test_rank_and_world_size_shard_the_epoch():
    seen = []
    for rank in range(2):
        dataset = ClipDataset(ENTRIES, rank=rank, world_size=2, **{**OPTIONS, "batch": 1})
        seen += [int(v[0]) for _, _, v in dataset.loader.batches(0, with_videos=True)]
    assert sorted(seen) == [0, 1, 2, 3]


def test_worker_processes_are_refused():
    loader = torch.utils.data.DataLoader(ClipDataset(ENTRIES, **OPTIONS), batch_size=None, num_workers=1,
                                         multiprocessing_context="spawn")
    try:
        next(iter(loader))
        raise AssertionError("a worker process was accepted")
    except RuntimeError as error:
        assert "num_workers=0" in str(error)


def test_the_example_trains_a_few_steps(tmp_path):
    cli = os.environ.get("CLIPKIT_CLI", str(ROOT / ".build" / "debug" / "clipkit"))
    run = subprocess.run([sys.executable, str(ROOT / "python" / "examples" / "train_torch.py"), "--data", str(tmp_path / "data"),
                          "--clipkit", cli, "--epochs", "2", "--steps", "3"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "epoch 2:" in run.stdout and "10x3 views, video top-1" in run.stdout, run.stdout
