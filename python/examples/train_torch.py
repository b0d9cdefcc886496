"""A small PyTorch 3D CNN trained on Video-MNIST with ClipKit as the data
source, then tested with ClipKit's 10×3 view plan (softmax averaged per video).

    clipkit data video-mnist DATA --size 60x80 --frames 16     # or let this script make a small one
    python python/examples/train_torch.py --data DATA --epochs 3
"""
import argparse
import os
import shutil
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import clipkit
from clipkit.torch import ClipDataset


def small_c3d(classes):
    def block(i, o):
        return nn.Sequential(nn.Conv3d(i, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True))
    return nn.Sequential(block(3, 16), nn.MaxPool3d((1, 2, 2)), block(16, 32), nn.MaxPool3d(2), block(32, 64),
                         nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(64, classes))


def make_data(folder, cli):
    """A small Video-MNIST set with the clipkit CLI (Fashion-MNIST images from Debian's dataset-fashion-mnist)."""
    if not os.path.exists(os.path.join(folder, "train.csv")):
        subprocess.run([cli, "data", "video-mnist", folder, "--size", "32x32", "--frames", "8", "--train", "200", "--val", "0",
                        "--test", "40", "--quiet"], check=True)
    return os.path.join(folder, "train.csv"), os.path.join(folder, "test.csv")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="demo-out/torch-data")
    ap.add_argument("--clipkit", default=shutil.which("clipkit") or ".build/debug/clipkit", help="the CLI, to make the data")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="stop each epoch after this many steps (smoke tests)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--crop", type=int, default=32)
    a = ap.parse_args()
    torch.manual_seed(0)
    train_csv, test_csv = make_data(a.data, a.clipkit)
    classes = len(open(os.path.join(a.data, "classes.txt")).read().split())
    # Video-MNIST motion has a direction: no flips.
    data = ClipDataset(train_csv, frames=a.frames, interval=1, crop=a.crop, short_side=(a.crop, a.crop), flip=0, batch=a.batch, workers=2)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=0)
    model = small_c3d(classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for epoch in range(a.epochs):
        data.set_epoch(epoch)
        model.train()
        start, seen, correct, total_loss = time.time(), 0, 0, 0.0
        for step, (clips, labels) in enumerate(loader):
            logits = model(clips)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            total_loss += loss.item() * len(labels)
            if a.steps and step + 1 >= a.steps:
                break
        print(f"epoch {epoch + 1}: loss {total_loss / seen:.3f}, train top-1 {100 * correct / seen:.1f}%, "
              f"{seen / (time.time() - start):.1f} clips/s")
    # Multi-view testing: 10 clips × 3 crops per video from ClipKit's view plan.
    model.eval()
    test = clipkit.ClipLoader(test_csv, mode="test", frames=a.frames, interval=1, crop=a.crop, test_short_side=a.crop,
                              num_clips=10, crops=3, batch=4, workers=2)
    hits = videos = 0
    with torch.no_grad():
        for step, (views, labels) in enumerate(test):
            n, v = views.shape[:2]
            probabilities = F.softmax(model(views.reshape((n * v,) + tuple(views.shape[2:]))), dim=1).reshape(n, v, -1).mean(1)
            hits += (probabilities.argmax(1) == labels).sum().item()
            videos += n
            if a.steps and step + 1 >= a.steps:
                break
    print(f"test: {videos} videos, 10x3 views, video top-1 {100 * hits / videos:.1f}%")


if __name__ == "__main__":
    main()
