"""Builds ClipKit's C library (`swift build -c release --product ClipKitC`,
Swift runtime linked statically) and ships it inside the package, as a
platform wheel. Set CLIPKIT_SWIFT to the swift binary if it is not on PATH or
in /opt/swift/usr/bin. FFmpeg's shared libraries (Debian's libavformat59 …)
must be installed where the package runs."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def swift():
    for candidate in (os.environ.get("CLIPKIT_SWIFT"), shutil.which("swift"), "/opt/swift/usr/bin/swift"):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("clipkit: no Swift toolchain found; set CLIPKIT_SWIFT to the swift binary (Swift 6)")


class BuildWithLibrary(build_py):
    def run(self):
        if not (ROOT / "Package.swift").exists():
            raise SystemExit(f"clipkit: {ROOT} has no Package.swift; install from a ClipKit checkout (pip install ./python)")
        scratch = ROOT / ".build-python"
        subprocess.run([swift(), "build", "-c", "release", "--product", "ClipKitC", "--scratch-path", str(scratch),
                        "-Xswiftc", "-static-stdlib"], cwd=ROOT, check=True)
        super().run()
        target = Path(self.build_lib) / "clipkit"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(scratch / "release" / "libClipKitC.so", target / "libClipKitC.so")
        shutil.copy2(ROOT / "Sources" / "ClipKitC" / "include" / "clipkit.h", target / "clipkit.h")


class BinaryDistribution(Distribution):
    """A platform wheel: the package carries a native library."""
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
