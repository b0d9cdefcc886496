"""`make results-check`: reruns every command in docs/RESULTS.md marked
`# deterministic` and checks that each table row it prints stands, as it
is, in the document below the command (up to the next command or section).
Exits with status 1 naming the rows that differ or the command that failed.

    python3 tools/results/check.py [docs/RESULTS.md]
"""
import os
import re
import subprocess
import sys

from clipkit_bin import ROOT, clipkit_binary


def blocks(text):
    """(command, the document's text from the command to the next command or section) per marked command."""
    lines = text.split("\n")
    found = []
    fenced = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced or "# deterministic" not in line:
            continue
        j = i + 1
        while j < len(lines) and lines[j] != "```":    # the end of the command's code block
            j += 1
        k = j + 1
        while k < len(lines) and not lines[k].startswith("## ") and lines[k] != "```":
            k += 1
        found.append((line.split("#")[0].strip(), "\n".join(lines[j + 1:k])))
    return found


def table_rows(output):
    return [line for line in output.split("\n") if line.startswith("| ") and not re.fullmatch(r"\|(---\|)+", line)]


def main():
    doc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "RESULTS.md")
    env = dict(os.environ, CLIPKIT=clipkit_binary())
    failures = 0
    commands = blocks(open(doc).read())
    if not commands:
        sys.exit(f"{doc}: no command marked '# deterministic'")
    for command, section in commands:
        run = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAILED (status {run.returncode}): {command}\n{run.stdout}{run.stderr}")
            failures += 1
            continue
        rows = table_rows(run.stdout)
        missing = [row for row in rows if row not in section.split("\n")]
        if not rows or missing:
            print(f"DIFFERS: {command}: {len(missing)} of {len(rows)} rows are not in {doc} below it:")
            for row in missing:
                print("  " + row)
            failures += 1
        else:
            print(f"ok: {command} ({len(rows)} rows)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
