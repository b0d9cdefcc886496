"""Shared helpers: the repository's fixtures, the clipkit CLI (the Swift
reference) and the ffmpeg CLI (the truth for decoding)."""
import hashlib
import json
import os
import subprocess
import tempfile
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


# References from outside tools (the ffmpeg CLI, ffprobe, the clipkit CLI) can be
# recorded once and replayed: `make test-wheel` records them, then runs the tests
# where those tools (and the libraries they load) are hidden.
#   CLIPKIT_TEST_REFERENCES=DIR CLIPKIT_TEST_REFERENCES_MODE=record|replay
_REFERENCES = os.environ.get("CLIPKIT_TEST_REFERENCES")
_MODE = os.environ.get("CLIPKIT_TEST_REFERENCES_MODE", "record")


def _key_part(arg):
    """An argument as the same in every run: files in a temporary folder by their content or name."""
    arg = str(arg)
    if arg.startswith(tempfile.gettempdir()):
        path = Path(arg)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else path.name
    return arg


def run_tool(command, outputs=()):
    """Runs `command` (check=True) and returns its stdout; `outputs` are files it writes. With
    CLIPKIT_TEST_REFERENCES set, records stdout and outputs there, or replays them without running."""
    if not _REFERENCES:
        return subprocess.run([str(c) for c in command], check=True, capture_output=True).stdout
    key = hashlib.sha256(json.dumps([_key_part(c) for c in command]).encode()).hexdigest()
    folder = Path(_REFERENCES) / key
    if _MODE == "replay":
        if not folder.exists():
            pytest.fail(f"no recorded reference for {' '.join(map(str, command))}")
        for i, out in enumerate(outputs):
            Path(out).write_bytes((folder / f"out{i}").read_bytes())
        return (folder / "stdout").read_bytes()
    stdout = subprocess.run([str(c) for c in command], check=True, capture_output=True).stdout
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stdout").write_bytes(stdout)
    for i, out in enumerate(outputs):
        (folder / f"out{i}").write_bytes(Path(out).read_bytes())
    return stdout


def ffmpeg_frames(path, width, height, filters="", stream=None):
    """Every frame as the ffmpeg CLI decodes it (rgb24), N×H×W×3: `filters`
    (ending in a comma) before the conversion, of stream N with `-map 0:N`."""
    mapping = ["-map", f"0:{stream}"] if stream is not None else []
    raw = run_tool(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", str(path), *mapping,
                    "-vf", filters + "format=rgb24", "-fps_mode", "passthrough", "-f", "rawvideo", "-"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def cli_frames(path, indices, width, height, *extra):
    raw = run_tool([clipkit_cli(), "frames", str(path), "--indices", ",".join(map(str, indices)), *extra])
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(indices), height, width, 3)
