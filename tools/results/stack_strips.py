"""Stacks rows of `reconstruction.png` strips (written by a reconstruction
run: rows clean, noisy, output; 8-bit RGB, filter 0, as ClipKit writes them)
into one PNG, for docs/RESULTS.md.

    python3 tools/results/stack_strips.py OUT.png STRIP:ROW[:LABEL] ...
    e.g. OUT.png a/reconstruction.png:0 a/reconstruction.png:1 a/reconstruction.png:2 b/reconstruction.png:2
"""
import os
import struct
import sys
import zlib


def read(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2), f"{path}: not 8-bit RGB"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    rows = []
    for y in range(height):
        assert raw[y * stride] == 0, f"{path}: row {y} uses a PNG filter this script does not undo"
        rows.append(raw[y * stride + 1:(y + 1) * stride])
    return width, height, rows


def write(path, width, rows):
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path + ".part", "wb") as f:
        f.write(png)
    os.replace(path + ".part", path)


def main():
    out, picks = sys.argv[1], sys.argv[2:]
    rows, width = [], None
    for pick in picks:
        path, row = pick.rsplit(":", 1)
        w, h, strip = read(path)
        band = h // 3   # clean, noisy, output
        width = width or w
        assert w == width, f"{path}: width {w}, expected {width}"
        rows += strip[int(row) * band:(int(row) + 1) * band]
    write(out, width, rows)


if __name__ == "__main__":
    main()
