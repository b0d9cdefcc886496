"""Write a manifest of K randomly chosen videos of every class of MANIFEST
(the same choice for a seed, whichever model trains on it).

    python3 tools/results/pick_per_class.py MANIFEST K SEED OUT
"""
import csv
import random
import sys

manifest, k, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(manifest, newline="") as f:
    reader = csv.DictReader(f)
    fields, rows = reader.fieldnames, list(reader)
by_class = {}
for row in rows:
    by_class.setdefault(int(row["label"]), []).append(row)
rng = random.Random(seed)
chosen = []
for label in sorted(by_class):
    if len(by_class[label]) < k:
        sys.exit(f"{manifest}: class {label} has {len(by_class[label])} videos, fewer than {k}")
    chosen += rng.sample(by_class[label], k)
with open(out + ".part", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(chosen)
import os  # noqa: E402
os.replace(out + ".part", out)
