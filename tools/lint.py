#!/usr/bin/env python3
"""`make lint`, beside `swift format lint`: what swift-format has no rule for.

- No line in Sources/ is longer than 120 columns.
- No function in Sources/ is longer than 80 lines, counted from its `func`
  (or `init`) line to its closing brace.

Code written before these rules is listed in tools/lint-baseline.txt: a file
may keep at most its listed number of long lines, and a listed function at
most its listed length. The baseline only shrinks: anything new, or longer,
fails, and a line that the code has outgrown is reported so that it can be
removed (`tools/lint.py --write-baseline` rewrites the file from the code).

    tools/lint.py [--write-baseline]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "lint-baseline.txt"
MAX_COLUMNS = 120
MAX_FUNCTION_LINES = 80
DECLARATION = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|package|open|static|class|final|override|"
    r"mutating|nonmutating|nonisolated|convenience|required|dynamic)\s+)*(func\s+([^\s(<]+)|init[?!]?|deinit)\b")


def code_only(line):
    """The line without string literals and end-of-line comments (for brace counting)."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    return line.split("//")[0]


def functions(path):
    """(name, first line, length) of every function, initialiser and deinitialiser in `path`."""
    lines = path.read_text().split("\n")
    found = []
    in_multiline_string = False
    for i, line in enumerate(lines):
        if line.count('"""') % 2 == 1:
            in_multiline_string = not in_multiline_string
            continue
        if in_multiline_string:
            continue
        match = DECLARATION.match(line.strip())
        if not match:
            continue
        name = match.group(2) or match.group(1).split()[0]
        depth, started = 0, False
        for j in range(i, len(lines)):
            for c in code_only(lines[j]):
                if c == "{":
                    depth, started = depth + 1, True
                elif c == "}":
                    depth -= 1
            if started and depth <= 0:
                found.append((name, i + 1, j - i + 1))
                break
            if not started and (j > i + 20 or (j > i and not lines[j].strip())):
                break   # a protocol requirement: no body
    return found


def measure():
    long_lines, long_functions = {}, {}
    for path in sorted((ROOT / "Sources").rglob("*.swift")):
        relative = str(path.relative_to(ROOT))
        count = sum(1 for line in path.read_text().split("\n") if len(line) > MAX_COLUMNS)
        if count:
            long_lines[relative] = count
        for name, line, length in functions(path):
            if length > MAX_FUNCTION_LINES:
                key = f"{relative} {name}"
                long_functions[key] = max(length, long_functions.get(key, 0))
    return long_lines, long_functions


def read_baseline():
    lines, functions_ = {}, {}
    for row in BASELINE.read_text().split("\n") if BASELINE.exists() else []:
        parts = row.split()
        if len(parts) == 3 and parts[0] == "lines":
            lines[parts[1]] = int(parts[2])
        elif len(parts) == 4 and parts[0] == "function":
            functions_[f"{parts[1]} {parts[2]}"] = int(parts[3])
    return lines, functions_


def main():
    long_lines, long_functions = measure()
    if "--write-baseline" in sys.argv:
        rows = ["# Written by tools/lint.py --write-baseline: code older than the lint rules, to be brought within them.",
                "# lines FILE N: lines over 120 columns; function FILE NAME N: a function of N lines (over 80)."]
        rows += [f"lines {f} {n}" for f, n in sorted(long_lines.items())]
        rows += [f"function {k} {n}" for k, n in sorted(long_functions.items())]
        BASELINE.write_text("\n".join(rows) + "\n")
        print(f"wrote {BASELINE.relative_to(ROOT)}: {len(long_lines)} files with long lines, {len(long_functions)} long functions")
        return 0
    allowed_lines, allowed_functions = read_baseline()
    problems, outgrown = [], []
    for f, n in long_lines.items():
        if n > allowed_lines.get(f, 0):
            problems.append(f"{f}: {n} lines over {MAX_COLUMNS} columns (allowed: {allowed_lines.get(f, 0)})")
    for f, n in allowed_lines.items():
        if long_lines.get(f, 0) < n:
            outgrown.append(f"lines {f} {n} (now {long_lines.get(f, 0)})")
    for k, n in long_functions.items():
        if n > allowed_functions.get(k, MAX_FUNCTION_LINES):
            problems.append(f"{k}: {n} lines, over {allowed_functions.get(k, MAX_FUNCTION_LINES)}")
    for k, n in allowed_functions.items():
        if long_functions.get(k, 0) < n:
            outgrown.append(f"function {k} {n} (now {long_functions.get(k, 0)})")
    for row in outgrown:
        print(f"lint: the baseline can shrink: {row}")
    for problem in problems:
        print(f"lint: {problem}", file=sys.stderr)
    if problems:
        print(f"lint: {len(problems)} problem(s); split the function or the line", file=sys.stderr)
        return 1
    print(f"lint: ok ({sum(long_lines.values())} long lines and {len(long_functions)} long functions left in the baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
