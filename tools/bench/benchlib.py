"""Helpers shared by the benchmark harnesses in tools/bench."""
import json
import subprocess


def add_conv_shape_arguments(ap):
    """`clipkit bench conv`'s model and step shape, as the harnesses that run it take them."""
    ap.add_argument("--clipkit", required=True)
    ap.add_argument("--layers", default="r3d50")
    ap.add_argument("--input", default="3x8x112x112")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)


def conv_shape(a):
    """The `bench conv` arguments for the parsed `add_conv_shape_arguments`."""
    return ["--layers", a.layers, "--input", a.input, "--batch", str(a.batch)]


def run_json(cmd, cwd=None):
    """Runs `cmd` and returns its JSON result: the whole stdout, or its last line
    when progress lines come first."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd).stdout.strip()
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return json.loads(out.splitlines()[-1])
