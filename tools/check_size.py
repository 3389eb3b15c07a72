#!/usr/bin/env python3
"""check_size: Weir's size limits on the dataplane's C sources.

  - no function longer than MAX_FN lines, counted from the line holding its
    opening brace's declaration (the line the definition starts on) to the
    line of its closing brace, both included;
  - no .c file in dataplane/http/ longer than MAX_HTTP_FILE lines.

Functions are found the way our clang-format lays them out: a definition
starts at column 0 (not '#', not a comment, not a declaration ending in
';') and its body ends at the first '}' in column 0. Prints the offenders
and exits 1 if there are any. Usage: tools/check_size.py [--all] [ROOT]
(--all also lists the largest functions, offenders or not; ROOT defaults
to the repository this script lives in). --exclude DIR skips a
sub-directory of dataplane/ (repeatable).
"""
import argparse
import os
import re
import sys

MAX_FN = 80
MAX_HTTP_FILE = 700

START = re.compile(r"^[A-Za-z_][^;]*\(")


def functions(path):
    """Yields (name, first_line, last_line) for each function in path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if START.match(line) and not line.startswith(("#", "typedef")):
            # the declarator may span lines; find the '{' at column 0
            j = i
            while j < len(lines) and not lines[j].startswith("{"):
                if lines[j].rstrip().endswith(";") or (
                        j > i and lines[j][:1].isalpha()):
                    break
                j += 1
            if j < len(lines) and lines[j].startswith("{"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("}"):
                    k += 1
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", line)
                name = m.group(1) if m else "?"
                yield name, i + 1, k + 1
                i = k + 1
                continue
        i += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?",
                    default=os.path.dirname(os.path.dirname(
                        os.path.abspath(__file__))))
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--exclude", action="append", default=[])
    a = ap.parse_args()
    dp = os.path.join(a.root, "dataplane")
    bad, sizes = [], []
    for d, dirs, files in os.walk(dp):
        rel_d = os.path.relpath(d, dp)
        if rel_d.split(os.sep)[0] in a.exclude:
            continue
        for fn in sorted(files):
            if not fn.endswith(".c"):
                continue
            p = os.path.join(d, fn)
            rel = os.path.relpath(p, a.root)
            with open(p, encoding="utf-8", errors="replace") as f:
                n = f.read().count("\n")
            if rel_d == "http" and n > MAX_HTTP_FILE:
                bad.append(f"{rel}: {n} lines (max {MAX_HTTP_FILE})")
            for name, first, last in functions(p):
                ln = last - first + 1
                sizes.append((ln, f"{rel}:{first}: {name}()"))
                if ln > MAX_FN:
                    bad.append(f"{rel}:{first}: {name}() is {ln} lines "
                               f"(max {MAX_FN})")
    if a.all:
        for ln, what in sorted(sizes, reverse=True)[:20]:
            print(f"{ln:5d} {what}")
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
