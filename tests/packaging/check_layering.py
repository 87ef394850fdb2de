#!/usr/bin/env python3
"""The layering rule of docs/architecture.md, checked on every #include of src/lib/** and
include/worm/**: a file may include headers of its own component and of the components that
component uses, nothing else. The components, the files of each and what each uses come from
cmake/sources.cmake (WORM_<C>_SOURCES, WORM_<c>_USES), so this test and the build read one
list. Headers are placed as follows:
- a public header (include/worm/...) by PUBLIC_HEADERS below, first matching prefix wins;
- a private header of src/include/worm (RapidJSON types; never installed) likewise, by
  PUBLIC_HEADERS (worm/json.hpp and worm/bundle_json.hpp are core);
- a private header (src/lib/...) belongs to the lowest component among the .cpp files that
  include it (it must be usable by all of them), or, when no .cpp includes it, to the
  component of its directory's .cpp files.
It also checks the split between installed and private headers: no header under include/
includes RapidJSON or a header of src/include (the installed tree would not compile without
them), and no name exists in both trees.
Usage: check_layering.py <source dir>
"""
import re
import sys
from pathlib import Path

# Public headers -> component. worm/compliance/sigstore.hpp is core: the pipeline writes
# and checks Sigstore bundles (the cosign format), and migrate reads seed 003's cosign
# bundles (worm/compliance/cosign.hpp: OpenSSL, and libsodium for encrypted keys).
PUBLIC_HEADERS = [
    ("worm/worm.hpp", "worm"),
    ("worm/compliance/sigstore.hpp", "core"),
    ("worm/compliance/cosign.hpp", "core"),
    ("worm/compliance", "compliance"),
    ("worm/s3/", "s3"),
    ("worm/proxy/", "s3"),
    ("worm/http.hpp", "s3"),
    ("worm/aws/", "s3"),
    ("worm/registry.hpp", "uploader"),
    ("worm/uploader.hpp", "uploader"),
    ("worm/metrics.hpp", "uploader"),
    ("worm/migrate.hpp", "uploader"),
    ("worm/audit_log", "audit_log"),
    ("worm/", "core"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ANY_INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^>"]+)[>"]', re.M)
RAPIDJSON_ALLOWED = set()  # installed headers that may include RapidJSON: none


def parse_sources(root):
    text = re.sub(r"#.*", "", (root / "cmake" / "sources.cmake").read_text())
    order = re.search(r"set\(WORM_COMPONENTS\s+([^)]*)\)", text).group(1).split()
    files, uses = {}, {}
    for component in order:
        listed = re.search(rf"set\(WORM_{component.upper()}_SOURCES\s+([^)]*)\)", text).group(1).split()
        for path in listed:
            files[path] = component
        used = re.search(rf"set\(WORM_{component}_USES\b([^)]*)\)", text)
        uses[component] = set(used.group(1).split()) if used else set()
    return order, files, uses


def main(root):
    root = Path(root)
    order, files, uses = parse_sources(root)
    rank = {c: i for i, c in enumerate(order)}
    problems = []
    for component in order:  # what a component uses comes earlier (no cycle)
        for used in uses[component]:
            if used not in rank or rank[used] >= rank[component]:
                problems.append(f"cmake/sources.cmake: {component} uses {used}, which is not an earlier component")
    reach = {c: {c} | uses[c] for c in order}
    reach["worm"] = set(order)

    def public_component(name):
        for prefix, component in PUBLIC_HEADERS:
            if name == prefix or name.startswith(prefix):
                return component
        return None

    lib = root / "src" / "lib"
    sources = sorted(p for p in lib.rglob("*") if p.suffix in (".cpp", ".hpp"))
    includes = {}
    for path in sources:
        rel = path.relative_to(root).as_posix()
        found = []
        for name in INCLUDE.findall(path.read_text()):
            if name.startswith("worm/"):
                found.append(("public", name))
            elif (path.parent / name).resolve().is_file():
                found.append(("private", (path.parent / name).resolve().relative_to(root.resolve()).as_posix()))
        includes[rel] = found
    for rel in files:
        if rel.startswith("src/lib/") and rel not in includes:
            problems.append(f"{rel}: listed in cmake/sources.cmake but missing")

    # Private headers: the lowest component among their includers, else their directory's.
    header_component = {}
    for rel in includes:
        if not rel.endswith(".hpp"):
            continue
        users = [files[src] for src, found in includes.items()
                 if src in files and ("private", rel) in found]
        if not users:
            here = [c for f, c in files.items() if f.startswith(str(Path(rel).parent) + "/")]
            users = here
        if not users:
            problems.append(f"{rel}: no component (no listed .cpp includes it or sits beside it)")
            continue
        header_component[rel] = min(users, key=lambda c: rank[c])
    # Headers included only by other headers inherit through a few rounds.
    for _ in range(3):
        for rel, found in includes.items():
            for kind, name in found:
                if kind == "private" and name in header_component and rel in header_component:
                    if rank[header_component[rel]] < rank[header_component[name]]:
                        header_component[name] = header_component[rel]

    def check(rel, component, found):
        for kind, name in found:
            target = public_component(name) if kind == "public" else header_component.get(name)
            if target is None:
                problems.append(f"{rel}: includes {name}, which no component holds")
            elif target not in reach[component]:
                problems.append(f"{rel} ({component}) includes {name} ({target}); "
                                f"{component} may include only {sorted(reach[component])}")

    for rel, found in includes.items():
        component = files.get(rel) or header_component.get(rel)
        if component:
            check(rel, component, found)
    for header in sorted((root / "include").rglob("*.hpp")):
        name = header.relative_to(root / "include").as_posix()
        found = [("public", n) for n in INCLUDE.findall(header.read_text()) if n.startswith("worm/")]
        check(f"include/{name}", public_component(name), found)

    public_names = {h.relative_to(root / "include").as_posix() for h in (root / "include").rglob("*.hpp")}
    private_dir = root / "src" / "include"
    private_names = {h.relative_to(private_dir).as_posix() for h in private_dir.rglob("*.hpp")} if private_dir.is_dir() else set()
    for name in sorted(public_names & private_names):
        problems.append(f"{name} is both an installed header (include/) and a private one (src/include/)")
    for name in sorted(public_names):
        for included in ANY_INCLUDE.findall((root / "include" / name).read_text()):
            if included in private_names:
                problems.append(f"include/{name} includes {included}, a private header (src/include) that is not installed")
            elif included.startswith("rapidjson/") and name not in RAPIDJSON_ALLOWED:
                problems.append(f"include/{name} includes <{included}>: installed headers are free of RapidJSON")
            elif included.startswith("worm/") and included not in public_names:
                problems.append(f"include/{name} includes {included}, which is not an installed header")
    for name in sorted(private_names):
        component = public_component(name)
        found = [("public", n) for n in INCLUDE.findall((private_dir / name).read_text()) if n.startswith("worm/")]
        check(f"src/include/{name}", component, found)

    for problem in problems:
        print("check_layering:", problem, file=sys.stderr)
    print(f"check_layering: {'FAILED' if problems else 'ok'} ({len(includes)} files of src/lib, "
          f"components {' < '.join(order)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]))
