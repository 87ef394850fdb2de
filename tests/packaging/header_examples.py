#!/usr/bin/env python3
"""Every public header opens with what it is for and a short example, and the examples
compile: this collects the `// Example:` block of each include/worm header's opening
comment into one translation unit (one function per header) and compiles it with
-fsyntax-only against the headers. A header without an opening comment naming itself,
or without an example, fails the test. The examples are not run (they name files and
servers that do not exist here); the unit tests cover behaviour.
Usage: header_examples.py <source dir> <c++ compiler> [flags...]
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Examples that are declarations at namespace scope, shown as other headers use them.
NOT_COMPILED = {"export.hpp"}


def opening_block(text):
    lines = []
    for line in text.split("\n"):
        if not line.startswith("//"):
            break
        lines.append(line[2:].removeprefix(" "))
    return lines


def main(source, compiler, *flags):
    include = Path(source) / "include"
    problems, functions, includes = [], [], []
    for header in sorted(include.rglob("*.hpp")):
        relative = header.relative_to(include / "worm").as_posix()
        includes.append(f"#include <worm/{relative}>\n")
        block = opening_block(header.read_text())
        if not block or not block[0].startswith(f"{relative}:"):
            problems.append(f"{relative}: must open with '// {relative}: <what it is for>'")
            continue
        if "Example:" not in block:
            problems.append(f"{relative}: the opening comment has no 'Example:' block")
            continue
        example = block[block.index("Example:") + 1:]
        code = [line[2:] if line.startswith("  ") else line for line in example]
        if not any(line.strip() and not line.strip().startswith("//") for line in code):
            problems.append(f"{relative}: the example is empty")
            continue
        if relative in NOT_COMPILED:
            continue
        name = re.sub(r"\W", "_", relative)
        functions.append(f"// {relative}\n[[maybe_unused]] static void example_{name}() {{\n" +
                         "\n".join(code) + "\n}\n")
    source_text = "".join(includes) + "#include <iostream>\n\n" + "\n".join(functions)
    with tempfile.TemporaryDirectory() as scratch:
        unit = Path(scratch) / "header_examples.cpp"
        unit.write_text(source_text)
        command = [compiler, "-std=c++20", "-fsyntax-only", f"-I{include}",
                   *flags, str(unit)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            problems.append("the header examples do not compile:\n" + result.stderr[-6000:])
    for problem in problems:
        print("header examples:", problem, file=sys.stderr)
    print(f"header examples: {'FAILED' if problems else 'ok'} ({len(functions)} examples compiled)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
