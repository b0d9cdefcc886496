"""The clipkit binary the results scripts run: the one named, or the release
build (built first when missing, as clipkit-bin.sh does for the shell scripts)."""
import json
import os
import subprocess

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def clipkit_binary(named=None):
    if named:
        return named
    if os.environ.get("CLIPKIT"):
        return os.environ["CLIPKIT"]
    swift = "swift"
    if not any(os.access(os.path.join(d, "swift"), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)):
        swift = "/opt/swift/usr/bin/swift"
    subprocess.run([swift, "build", "--package-path", ROOT, "-c", "release", "--product", "clipkit"], check=True,
                   stdout=subprocess.DEVNULL)
    bin_path = subprocess.run([swift, "build", "--package-path", ROOT, "-c", "release", "--show-bin-path"], check=True,
                              capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_path, "clipkit")


def peak_tensor_mb(clipkit, model, shape, batch, simd=None):
    """The tensor allocator's high-water mark (not RSS) of one training step of `model` on `batch` clips
    of `shape` (CxTxHxW), with one thread so that it does not depend on how threads interleave; `simd`
    caps the SIMD level (CLIPKIT_SIMD), where the algorithms a layer takes depend on it."""
    env = dict(os.environ, CLIPKIT_SIMD=simd) if simd else None
    text = subprocess.run([clipkit, "bench", "train", "--model", model, "--input", shape, "--batch", str(batch),
                           "--steps", "1", "--threads", "1", "--json"], capture_output=True, text=True, check=True,
                          env=env).stdout
    return json.loads(text)["peak_tensor_mb"]
