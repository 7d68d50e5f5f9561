#!/usr/bin/env python3
"""Lists functions longer than a limit (default 100 lines) in the C and C++ sources outside tests
and exits 1 when there is one (make tidy runs it). A function is a brace block opened at namespace
or class level whose header (the text since the previous ";", "{" or "}") has a parameter list and
is not a namespace, class, struct, union, enum or initializer; lambdas count as part of their
function. Comments and string literals are ignored."""
import os
import re
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ROOTS = ["base", "spec", "namespaces", "cgroups", "runtime", "vm", "isolation", "compare", "cli"]
SCOPES = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r'R"\((.*?)\)"', lambda m: '""' + "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", text)


def functions(path):
    text = strip(open(path, errors="replace").read())
    stack = []  # per open brace: "scope" (namespace/class/extern) or "func" or "block"
    header = ""
    start = {}
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        if ch == "{":
            in_func = any(k == "func" for k, _ in stack)
            h = header.strip()
            if in_func:
                kind = "block"
            elif SCOPES.search(h.split("(")[0]) or h.startswith("extern") or "(" not in h or h.endswith("="):
                kind = "scope"
            else:
                kind = "func"
            stack.append((kind, line))
            if kind == "func":
                start[len(stack)] = (line, " ".join(h.split())[:90])
            header = ""
        elif ch == "}":
            if stack:
                kind, _ = stack.pop()
                if kind == "func":
                    first, name = start.pop(len(stack) + 1)
                    yield name, first, line - first + 1
            header = ""
        elif ch == ";":
            header = ""
        else:
            header += ch


def main():
    bad = []
    for r in ROOTS:
        for dirpath, _, files in os.walk(r):
            for f in files:
                if f.endswith((".cc", ".c")):
                    p = os.path.join(dirpath, f)
                    for name, line, n in functions(p):
                        if n > LIMIT:
                            bad.append((n, "%s:%d: %d lines: %s" % (p, line, n, name)))
    for _, msg in sorted(bad, reverse=True):
        print(msg)
    print("long functions: %d over %d lines" % (len(bad), LIMIT))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
