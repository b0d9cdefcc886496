#!/usr/bin/env python3
"""Checks that every relative link in README.md, BENCHMARKS.md, configs/ and docs/
resolves to a file or folder in the repository (and its #anchor to a heading).
Exit status 1 with each broken link, file and line; `make lint` runs it."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def main():
    files = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "configs").glob("*.md")), ROOT / "python" / "README.md"]
    broken = []
    for md in files:
        for number, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue  # an address on the web: not checked here
                path, _, anchor = target.partition("#")
                resolved = (md.parent / path).resolve() if path else md
                if not resolved.exists():
                    broken.append(f"{md.relative_to(ROOT)}:{number}: {target}: no such file")
                elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                    broken.append(f"{md.relative_to(ROOT)}:{number}: {target}: no such heading")
    for b in broken:
        print(b)
    print(f"links: {len(broken)} broken in {len(files)} files" if broken else f"links: ok ({len(files)} files)")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
