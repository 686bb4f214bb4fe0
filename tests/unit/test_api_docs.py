"""test_api_docs.py — every public runtime function has its one-line doc comment.

The comment directly above a declaration in runtime/include is what Shift-Tab shows in
the notebook, so a function without one is a function users cannot discover. This test
lists every function declared in the runtime headers and fails on any that lacks a
`/** ... */` comment immediately above it.
"""
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
HEADERS = sorted(glob.glob(os.path.join(ROOT, "runtime", "include", "cairn.h")) +
                 glob.glob(os.path.join(ROOT, "runtime", "include", "cairn", "*.h")))

# A declaration line that starts a function: return type words, a name, "(" — not a macro,
# typedef, struct field or control statement.
FUNC = re.compile(r"^(?:static\s+inline\s+|extern\s+)?[A-Za-z_][\w\s\*]*?\b\(?([A-Za-z_]\w*)\)?\s*\(")


def undocumented(path):
    missing = []
    lines = open(path, encoding="utf-8").read().split("\n")
    depth = 0
    in_comment = False
    for i, line in enumerate(lines):
        s = line.strip()
        if in_comment:
            if "*/" in s:
                in_comment = False
            continue
        if s.startswith("/*") and "*/" not in s:
            in_comment = True
            continue
        if depth == 0 and not line.startswith((" ", "\t", "#", "/", "*", "}", "typedef")):
            m = FUNC.match(line)
            if m and not s.startswith(("return", "if", "for", "while")):
                prev = lines[i - 1].strip() if i else ""
                if not (prev.startswith("/**") and prev.endswith("*/")):
                    missing.append("%s:%d: %s" % (os.path.relpath(path, ROOT), i + 1, m.group(1)))
        # Track braces outside strings so struct bodies and inline functions are skipped.
        depth += line.count("{") - line.count("}")
    return missing


def main():
    if not HEADERS:
        print("no runtime headers found")
        return 1
    missing = [m for h in HEADERS for m in undocumented(h)]
    total = 0
    for h in HEADERS:
        total += sum(1 for line in open(h, encoding="utf-8") if FUNC.match(line))
    for m in missing:
        print("undocumented: " + m)
    print("api_docs: %d passed, %d failed" % (total - len(missing), len(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
