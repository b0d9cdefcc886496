#!/usr/bin/env bash
# Creates the peers' virtual environment (default: .venv-bench) once.
set -euo pipefail
venv=${BENCH_VENV:-.venv-bench}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import decord, torchcodec, av, webdataset" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r tools/bench/requirements.txt
fi
echo "$venv/bin/python"
