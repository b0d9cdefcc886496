#!/usr/bin/env bash
# `make test-wheel`: builds the wheel, installs it into a fresh virtual
# environment and runs the Python decoder and loader tests twice: first with
# the system's tools at hand, recording the references they need (ffmpeg CLI
# frames, ffprobe times, clipkit CLI output), then in a mount namespace
# (`unshare -m`) where /opt/swift and every library that `ldd` lists for the
# system build of ClipKitC, outside glibc and the manylinux set, are hidden,
# replaying them. The second run is the test: the wheel works on its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/opt/swift/usr/bin"
tools/install-deps.sh --sources dpkg-dev libdav1d-dev libgnutls28-dev nasm patchelf
prefix=$(tools/wheel/build-ffmpeg.sh)
wheel=$(tools/wheel/make-wheel.py "$prefix" | tail -1 | cut -d' ' -f1)
swift build --product clipkit >/dev/null        # the CLI the references come from
venv=.build/wheel/venv
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check numpy pytest "$wheel"
references=.build/wheel/references
rm -rf "$references"
tests=(python/tests)
run_tests() {
    (cd "$venv" && CLIPKIT_TEST_REFERENCES="$OLDPWD/$references" CLIPKIT_TEST_REFERENCES_MODE="$1" \
        CLIPKIT_CLI="$OLDPWD/.build/debug/clipkit" bin/python -m pytest -q -p no:cacheprovider \
        --rootdir "$OLDPWD/python" "${tests[@]/#/$OLDPWD/}")
}
echo "recording the references (system tools)"
run_tests record
# What the system build needs that the wheel must not: its FFmpeg and codec libraries, that is every
# library ldd lists for it outside glibc, the manylinux set and what the Python interpreter itself
# loads (zlib, expat: wherever the wheel's Python runs, they are there).
system_library=.build-python/release/libClipKitC.so
[ -f "$system_library" ] || swift build -c release --product ClipKitC --scratch-path .build-python -Xswiftc -static-stdlib
python_libraries=$("$venv/bin/python" -c \
    'import glob, sysconfig; print(" ".join(glob.glob(sysconfig.get_config_var("DESTSHARED") + "/*.so")))')
keep=$( (ldd "$venv/bin/python" $python_libraries 2>/dev/null
         echo "linux-vdso.so libc.so libm.so libpthread.so libdl.so librt.so ld-linux-x86-64.so libstdc++.so libgcc_s.so") \
    | grep -o 'lib[^ /]*\.so[^ ]*\|ld-linux[^ ]*\|linux-vdso[^ ]*' | sed 's/\.so.*/.so/; s/[+.]/\\&/g' | sort -u | paste -sd'|')
hidden=$(ldd "$system_library" | awk '$3 ~ /^\// {print $1, $3}' | grep -Ev "^($keep)" | awk '{print $2}' \
    | xargs -r readlink -f | sort -u)
echo "hiding /opt/swift and $(echo "$hidden" | wc -l) libraries, then replaying the tests with the wheel"
# One process makes every mount (mount(8) itself needs some of the libraries hidden), then runs the tests.
HIDDEN="$hidden" unshare -m "$venv/bin/python" - "$PWD/$venv" "$PWD/$references" <<'PY'
import ctypes, os, subprocess, sys
venv, references = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
def mount(source, target, kind, flags):
    if libc.mount(source.encode(), target.encode(), kind and kind.encode(), flags, None) != 0:
        sys.exit(f"test-wheel: cannot mount over {target}: {os.strerror(ctypes.get_errno())}")
for path in os.environ["HIDDEN"].split():
    mount("/dev/null", path, None, 4096)  # MS_BIND
mount("tmpfs", "/opt/swift", "tmpfs", 0)
if subprocess.run(["ffmpeg", "-version"], capture_output=True).returncode == 0:
    sys.exit("test-wheel: the system FFmpeg is still usable inside the namespace")
root = os.getcwd()
env = dict(os.environ, CLIPKIT_TEST_REFERENCES=references, CLIPKIT_TEST_REFERENCES_MODE="replay",
           CLIPKIT_CLI=os.path.join(root, ".build/debug/clipkit"))
status = subprocess.run([os.path.join(venv, "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                         os.path.join(root, "python"), os.path.join(root, "python/tests")], cwd=venv, env=env).returncode
if status:
    sys.exit(status)
probe = "import clipkit; v = clipkit.VideoDecoder('Fixtures/vp9.webm'); m = open('/proc/self/maps').read(); " \
        "assert 'site-packages/clipkit/.libs/libavcodec' in m, 'not the wheel FFmpeg'; print(len(v), 'frames')"
out = subprocess.run([os.path.join(venv, "bin/python"), "-c", probe], capture_output=True, text=True)
if out.returncode:
    sys.exit(f"test-wheel: {out.stderr}")
print("the wheel decodes with its own FFmpeg:", out.stdout.strip(), "of vp9.webm")
PY
echo "test-wheel: ok ($wheel)"
