#!/usr/bin/env python3
"""Compares the tensors of two safetensors checkpoints bitwise; the metadata is ignored.

    tools/compare-checkpoints.py A.safetensors B.safetensors

Exit status 0 when every tensor has the same name, dtype, shape and bytes, 1 otherwise
(each difference is printed)."""
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {
        name: (t["dtype"], tuple(t["shape"]), data[t["data_offsets"][0] : t["data_offsets"][1]])
        for name, t in header.items()
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    differ = sorted(set(a) ^ set(b))
    for name in differ:
        print(f"{name}: only in {'the first' if name in a else 'the second'}")
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            differ.append(name)
            print(f"{name}: differs")
    print(f"{len(a)} tensors compared, {len(differ)} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
