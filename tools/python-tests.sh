#!/usr/bin/env bash
# The Python package's tests (python/tests), in .venv-python with numpy and
# pytest only: `pip install ./python` builds libClipKitC.so (Swift runtime
# linked statically) and installs the package, which the tests import.
#   tools/python-tests.sh          numpy only (make test)
#   tools/python-tests.sh --torch  also the torch adapter and the example, in
#                                  the benchmark venv, which has torch (make test-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
if [ "${1:-}" = "--torch" ]; then
    python=$(tools/bench/setup-venv.sh)
else
    [ -x .venv-python/bin/python ] || python3 -m venv .venv-python
    python=.venv-python/bin/python
    "$python" -m pip install -q --disable-pip-version-check numpy pytest
fi
"$python" -m pip install -q --disable-pip-version-check pytest
echo "building and installing the clipkit Python package (pip install ./python)"
"$python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python
rm -rf python/build python/clipkit.egg-info
# Run from outside python/ so that `import clipkit` is the installed package.
tests=(python/tests)
[ "${1:-}" = "--torch" ] && tests=(python/tests_torch)
CLIPKIT_CLI="${CLIPKIT_CLI:-$PWD/.build/debug/clipkit}" "$python" -m pytest -q -p no:cacheprovider --rootdir python "${tests[@]}"
