#!/usr/bin/env python3
"""Doxygen INPUT_FILTER for libworm's headers (docs/Doxyfile).

The headers are written for people reading them in an editor: plain `//` comments, the
file's purpose and an example in the opening block, a comment above each declaration.
This filter hands Doxygen the same text with those comments as documentation comments:
    the opening comment block       -> /** @file ... */ (verbatim, examples kept as code)
    a `//` line above a declaration -> `///`
    `code;  // note` after a member -> `code;  ///< note`
so the sources keep one comment style and the reference still shows every comment.
Line numbers are preserved.
"""
import re
import sys

TRAILING = re.compile(r"^(\s*[^/\s].*?;)(\s*)//(?!/)(.*)$")


def convert(lines):
    out = []
    i = 0
    # The opening block: consecutive `//` lines at the top of the file.
    while i < len(lines) and lines[i].startswith("//"):
        i += 1
    if i:
        body = [line[2:].removeprefix(" ") for line in lines[:i]]
        name, _, purpose = body[0].partition(":")  # "s3/store.hpp: S3Store, ..."
        first = f"/** @file {name} @brief {purpose.strip()}"
        if i == 1:
            out.append(first + " */")
        else:
            out.append(first)
            rest = body[1:]
            rest[0] = "@verbatim " + rest[0]
            rest[-1] = rest[-1] + " @endverbatim */"
            out += rest
    for line in lines[i:]:
        stripped = line.lstrip()
        if stripped.startswith("//") and not stripped.startswith("///"):
            line = line.replace("//", "///", 1)
        else:
            match = TRAILING.match(line)
            if match and not line.lstrip().startswith("#"):
                line = f"{match.group(1)}{match.group(2)}///<{match.group(3)}"
        out.append(line)
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read().split("\n")
    sys.stdout.write("\n".join(convert(text)))
