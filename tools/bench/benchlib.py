"""Helpers shared by the benchmark harnesses in tools/bench."""
import json
import subprocess


def run_json(cmd, cwd=None):
    """Runs `cmd` and returns its JSON result: the whole stdout, or its last line
    when progress lines come first."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd).stdout.strip()
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return json.loads(out.splitlines()[-1])
