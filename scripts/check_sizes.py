#!/usr/bin/env python3
"""Checks the size rules of STYLE.md outside tests; run by the build (target sluice_sizes).

Fails (exit 1, one line per problem) when, outside tests,
  - a source file (C++, JS/TS, Python, shell, proto) has more than 600 lines;
  - a C++ or JS/TS function's body spans more than 80 lines,
unless scripts/size_allowlist.txt lists it with a reason.

What it measures, honestly: files are counted in physical lines. Functions are found by a simple
scan, not a parser: comments and string/char/template literals are blanked out, then every '{'
whose preceding code ends in ')' (optionally followed by const, override, noexcept, mutable,
final, a '-> type' or '=>'), where the '(' that ')' closes is not an if/for/while/switch/catch
call, opens a function body (a C++ function, constructor, lambda; a JS function, method or arrow
function); its length is its own lines: from the line of the '{' to that of its matching '}',
less the lines of the function bodies defined inside it (so a closure factory, an installer of
methods or a function holding a long lambda is measured by its own code, and each nested one on
its own). A JS module wrapper, `(function () { ... })()`, is not counted as a function. Macros
and odd syntax may fool the scan (a JS regex literal holding a brace, a '{' after a macro call),
and code that generates code (a C++ string holding JS) is counted as the strings it is. Tests are left out: anything
under tests/, *_test.cc, *.test.* and *_bench.cc; so are build outputs, node_modules,
third-party and generated files.

Allow-list lines: `path | function-or-* | reason` ('*' for the file's length); '#' starts a
comment. An entry that no longer matches anything is reported too, so the list stays true.
`--list` prints every measured function over the limit and every long file, allowed or not.
"""
import os
import re
import sys

MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
SOURCE_EXT = {".cc", ".h", ".cpp", ".hpp", ".js", ".mjs", ".ts", ".tsx", ".py", ".sh", ".proto"}
BRACE_EXT = {".cc", ".h", ".cpp", ".hpp", ".js", ".mjs", ".ts", ".tsx"}
SKIP_DIRS = {"build", "node_modules", "dist", ".deps", ".git", "third_party", "generated",
             "tests", "__pycache__"}
CONTROL = {"if", "for", "while", "switch", "catch", "with", "return", "sizeof", "decltype",
           "alignof", "static_assert", "foreach"}
# One qualifier that may stand between a parameter list's ')' and a function body's '{', at the
# end of the text before the '{' (stripped repeatedly).
QUALIFIER = re.compile(r"(?:\b(?:const|override|noexcept|mutable|final|volatile)|=>|"
                       r"->\s*[\w:<>,\*&\[\] ]{1,80}|:\s*[\w<>\[\]\|,\. ]{1,80})\s*$")


def strip_qualifiers(head):
    head = head.rstrip()
    while True:
        m = QUALIFIER.search(head[-120:])
        if not m or m.start() == m.end():
            return head
        head = head[:len(head) - 120 + m.start()] if len(head) > 120 else head[:m.start()]
        head = head.rstrip()


def is_test(rel):
    base = os.path.basename(rel)
    return (rel.startswith("tests/") or "_test." in base or ".test." in base
            or base.endswith("_bench.cc") or "/test/" in rel)


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if os.path.splitext(name)[1] not in SOURCE_EXT or name.endswith(".min.js"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if not is_test(rel):
                yield rel


def blank_literals(text, js):
    """Comments and literals become spaces (newlines kept), so braces inside do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        two = text[i:i + 2]
        if two == "//":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif two == "/*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif not js and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'" or (js and c == "`"):
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and c != "`":
                    break
                j += 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(code, paren_open):
    """The identifier before the '(' at paren_open (a call, a definition, a lambda's '[]')."""
    k = paren_open - 1
    while k >= 0 and code[k] in " \t\n":
        k -= 1
    if k >= 0 and code[k] == "]":
        return "lambda"
    m = re.search(r"([\w:~$]+)\s*$", code[max(0, k - 200):k + 1])
    return m.group(1) if m else ""


def functions(text, js):
    """(name, first line, own lines) for each function body found by the scan.

    Own lines: the body's span less the spans of the functions defined inside it (a closure
    factory or an installer of methods is as long as its own code). A JS module wrapper (an
    immediately invoked function: `(function () { ... })()`) is not a function here."""
    code = blank_literals(text, js)
    line_of = []
    line = 1
    for ch in code:
        line_of.append(line)
        if ch == "\n":
            line += 1
    parens, paren_match = [], {}
    for i, ch in enumerate(code):
        if ch == "(":
            parens.append(i)
        elif ch == ")" and parens:
            paren_match[i] = parens.pop()
    found = []
    # Per open brace: [is a function, name, lines of the functions nested inside].
    stack = []
    for i, ch in enumerate(code):
        if ch == "{":
            stack.append([i, None, 0])
            name = body_name(code, i, js, paren_match)
            stack[-1][1] = name
        elif ch == "}" and stack:
            start, name, nested = stack.pop()
            if name is None:
                continue
            span = line_of[i] - line_of[start] + 1
            if js and re.match(r"\s*\)\s*\(|\s*\(\s*\)", code[i + 1:i + 40]):
                continue  # a module wrapper
            for outer in reversed(stack):
                if outer[1] is not None:
                    outer[2] += span
                    break
            found.append((name, line_of[start], span - nested))
    return found


def body_name(code, start, js, paren_match):
    """The function a '{' at `start` opens ('lambda', 'arrow', a name), or None."""
    head = code[max(0, start - 400):start]
    before = strip_qualifiers(head)
    if not before.endswith(")"):
        if js and re.search(r"[\w$]+\s*=>\s*$", head):
            return "arrow"  # x => {
        return None
    close = start - (len(head) - len(before)) - 1
    open_ = paren_match.get(close)
    if open_ is None:
        return None
    name = function_name(code, open_)
    if name.split("::")[-1] in CONTROL:
        return None
    return name or "?"


def read_allowlist(path):
    entries = {}
    if not os.path.exists(path):
        return entries
    for number, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[2]:
            print(f"{path}:{number}: want 'path | function-or-* | reason'", file=sys.stderr)
            sys.exit(2)
        entries[(parts[0], parts[1])] = parts[2]
    return entries


def main(argv):
    if len(argv) < 2:
        print("usage: check_sizes.py ROOT [--list]", file=sys.stderr)
        return 2
    root = argv[1]
    listing = "--list" in argv
    allow = read_allowlist(os.path.join(root, "scripts", "size_allowlist.txt"))
    used = set()
    problems = []
    for rel in source_files(root):
        try:
            text = open(os.path.join(root, rel), encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > MAX_FILE_LINES:
            key = (rel, "*")
            allowed = key in allow
            used.add(key) if allowed else None
            if listing or not allowed:
                tag = " (allowed: " + allow[key] + ")" if allowed else ""
                problems.append((allowed, f"{rel}: {lines} lines (over {MAX_FILE_LINES}){tag}"))
        if os.path.splitext(rel)[1] not in BRACE_EXT:
            continue
        js = os.path.splitext(rel)[1] in {".js", ".mjs", ".ts", ".tsx"}
        for name, first, length in functions(text, js):
            if length <= MAX_FUNCTION_LINES:
                continue
            key = (rel, name)
            allowed = key in allow
            if allowed:
                used.add(key)
            if listing or not allowed:
                tag = " (allowed: " + allow[key] + ")" if allowed else ""
                problems.append((allowed, f"{rel}:{first}: function {name} has {length} lines of its own "
                                          f"(over {MAX_FUNCTION_LINES}){tag}"))
    for key in sorted(set(allow) - used):
        problems.append((False, f"scripts/size_allowlist.txt: '{key[0]} | {key[1]}' matches "
                                f"nothing over the limits any more: remove it"))
    for _, message in problems:
        print(message)
    return 1 if any(not allowed for allowed, _ in problems) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
