#!/usr/bin/env python3
"""Builds dist/clipkit-<version>-py3-none-manylinux_2_36_x86_64.whl: the Python
package, libClipKitC.so (the Swift runtime linked statically) and, in
clipkit/.libs/, the decode-only LGPL FFmpeg of tools/wheel/build-ffmpeg.sh
with libdav1d, found through an $ORIGIN run path. No Python extension module:
one wheel for every Python 3. The tag follows Debian 12's glibc (2.36).

    tools/wheel/make-wheel.py FFMPEG_PREFIX
"""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TAG = "py3-none-manylinux_2_36_x86_64"
# The libraries libClipKitC.so needs from FFmpeg, and what they need beyond glibc.
FFMPEG = ["libavformat.so.59", "libavcodec.so.59", "libswscale.so.6", "libavutil.so.57"]
SYSTEM = {"libdav1d.so.6": "/usr/share/doc/libdav1d6/copyright", "libz.so.1": "/usr/share/doc/zlib1g/copyright",
          # https: GnuTLS and what it needs.
          "libgnutls.so.30": "/usr/share/doc/libgnutls30/copyright",
          "libp11-kit.so.0": "/usr/share/doc/libp11-kit0/copyright",
          "libidn2.so.0": "/usr/share/doc/libidn2-0/copyright",
          "libunistring.so.2": "/usr/share/doc/libunistring2/copyright",
          "libtasn1.so.6": "/usr/share/doc/libtasn1-6/copyright",
          "libnettle.so.8": "/usr/share/doc/libnettle8/copyright",
          "libhogweed.so.6": "/usr/share/doc/libhogweed6/copyright",
          "libgmp.so.10": "/usr/share/doc/libgmp10/copyright",
          "libffi.so.8": "/usr/share/doc/libffi8/copyright"}


def run(*command, **options):
    subprocess.run(command, check=True, **options)


def version():
    text = (ROOT / "python" / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def build_library():
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    scratch = ROOT / ".build-python"
    run(swift, "build", "-c", "release", "--product", "ClipKitC", "--scratch-path", str(scratch),
        "-Xswiftc", "-static-stdlib", cwd=ROOT)
    return scratch / "release" / "libClipKitC.so"


def needed(path):
    out = subprocess.run(["patchelf", "--print-needed", str(path)], check=True, capture_output=True, text=True).stdout
    return out.split()


def stage(prefix, library, into):
    package = into / "clipkit"
    shutil.copytree(ROOT / "python" / "clipkit", package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy2(ROOT / "Sources" / "ClipKitC" / "include" / "clipkit.h", package / "clipkit.h")
    libs = package / ".libs"
    libs.mkdir()
    shutil.copy2(library, package / "libClipKitC.so")
    for name in FFMPEG:
        shutil.copy2(Path(prefix) / "lib" / name, libs / name, follow_symlinks=True)
    for name in SYSTEM:
        shutil.copy2(Path("/usr/lib/x86_64-linux-gnu") / name, libs / name, follow_symlinks=True)
    run("patchelf", "--set-rpath", "$ORIGIN/.libs", str(package / "libClipKitC.so"))
    for lib in libs.iterdir():
        run("patchelf", "--set-rpath", "$ORIGIN", str(lib))
    # Everything the bundled libraries need is bundled, glibc's, or the manylinux set.
    allowed = set(FFMPEG) | set(SYSTEM) | {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                                           "ld-linux-x86-64.so.2", "libstdc++.so.6", "libgcc_s.so.1"}
    for lib in [package / "libClipKitC.so", *libs.iterdir()]:
        outside = [n for n in needed(lib) if n not in allowed]
        if outside:
            sys.exit(f"make-wheel: {lib.name} needs {', '.join(outside)}, which the wheel does not carry")
    notices = libs / "LICENSES"
    notices.mkdir()
    for name in ("COPYING.LGPLv2.1", "LICENSE.md"):
        if (Path(prefix) / name).exists():
            shutil.copy2(Path(prefix) / name, notices / f"FFmpeg-{name}")
    for name, copyright_file in SYSTEM.items():
        shutil.copy2(copyright_file, notices / f"{name}-copyright")
    (notices / "README").write_text(
        "libavformat, libavcodec, libswscale and libavutil are FFmpeg 5.1 (LGPL 2.1 or later), built from\n"
        "Debian 12's source package (`apt-get source ffmpeg`) by tools/wheel/build-ffmpeg.sh in ClipKit's\n"
        "repository, decode only, without GPL or non-free parts, as shared libraries you may replace.\n"
        "libdav1d (BSD 2-clause) and zlib (zlib licence) are Debian 12's, as are GnuTLS (LGPL 2.1 or later)\n"
        "and what it needs for https: p11-kit (BSD 3-clause), libidn2, libunistring, Nettle and GMP (LGPL 3\n"
        "or later, or GPL 2 or later), libtasn1 (LGPL 2.1 or later) and libffi (MIT); their notices are\n"
        "the *-copyright files here.\n")


def record_line(path, base):
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(base)},sha256={digest},{len(data)}"


def write_wheel(staged, out_dir):
    v = version()
    info = staged / f"clipkit-{v}.dist-info"
    info.mkdir()
    readme = (ROOT / "python" / "README.md").read_text()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: clipkit\nVersion: {v}\n"
        "Summary: ClipKit's frame-exact video decoder and prefetching clip loader (Swift, FFmpeg) for Python and PyTorch\n"
        "License: ClipKit's own licence; FFmpeg inside is LGPL 2.1 or later (clipkit/.libs/LICENSES)\n"
        "Requires-Python: >=3.9\nRequires-Dist: numpy\nProvides-Extra: torch\nRequires-Dist: torch; extra == \"torch\"\n"
        "Description-Content-Type: text/markdown\n\n" + readme)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nGenerator: clipkit make-wheel\nRoot-Is-Purelib: false\nTag: {TAG}\n")
    files = sorted(p for p in staged.rglob("*") if p.is_file())
    record = [record_line(p, staged) for p in files] + [f"clipkit-{v}.dist-info/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    out_dir.mkdir(exist_ok=True)
    wheel = out_dir / f"clipkit-{v}-{TAG}.whl"
    temporary = wheel.with_suffix(".whl.part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(staged.rglob("*")):
            if p.is_file():
                info_ = zipfile.ZipInfo(str(p.relative_to(staged)))
                info_.external_attr = (p.stat().st_mode & 0o777) << 16
                info_.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info_, p.read_bytes())
    os.replace(temporary, wheel)
    return wheel


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    prefix = sys.argv[1]
    staged = ROOT / ".build" / "wheel" / "staged"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    stage(prefix, build_library(), staged)
    wheel = write_wheel(staged, ROOT / "dist")
    print(f"{wheel} ({wheel.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
