"""Shared helpers: the repository's fixtures, the clipkit CLI (the Swift
reference) and the ffmpeg CLI (the truth for decoding)."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures"


def clipkit_cli():
    path = Path(os.environ.get("CLIPKIT_CLI", ROOT / ".build" / "debug" / "clipkit"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build the CLI first (swift build), or set CLIPKIT_CLI")
    return str(path)


def ffmpeg_frames(path, width, height, filters="", stream=None):
    """Every frame as the ffmpeg CLI decodes it (rgb24), N×H×W×3: `filters`
    (ending in a comma) before the conversion, of stream N with `-map 0:N`."""
    mapping = ["-map", f"0:{stream}"] if stream is not None else []
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", str(path), *mapping,
                          "-vf", filters + "format=rgb24", "-fps_mode", "passthrough", "-f", "rawvideo", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def cli_frames(path, indices, width, height, *extra):
    raw = subprocess.run([clipkit_cli(), "frames", str(path), "--indices", ",".join(map(str, indices)), *extra],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(indices), height, width, 3)
