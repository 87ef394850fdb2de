#!/usr/bin/env python3
"""Checks that the package recipes (ports/worm for vcpkg, conanfile.py for conan) and the
installed wormConfig.cmake ask for the same dependencies as the CMake build.

Neither vcpkg nor conan can run on the machines libworm is developed on, so this is what
proves the recipes stay in step: every find_package() of CMakeLists.txt (the library) and
of bindings/python/CMakeLists.txt (the `python` feature/option) must appear, under its
registry name, in vcpkg.json and in conanfile.py's requirements(), and nothing else may.
Versions, features and options are compared too, and each component's packages sit under
its vcpkg feature / conan option (COMPONENT_PACKAGES; core's are unconditional).
Usage: check_recipes.py <source dir>
"""
import ast
import json
import re
import sys
from pathlib import Path

# CMake package -> (vcpkg port, conan center reference name). None: provided by the
# platform or by CMake itself, not a package.
REGISTRY_NAMES = {
    "OpenSSL": ("openssl", "openssl"),
    "CURL": ("curl", "libcurl"),
    "RapidJSON": ("rapidjson", "rapidjson"),
    "SQLite3": ("sqlite3", "sqlite3"),
    "pugixml": ("pugixml", "pugixml"),
    "Boost": ("boost-asio", "boost"),  # header-only; the proxy also needs boost-beast
    "pybind11": ("pybind11", "pybind11"),
    "Python3": ("python3", None),  # conan uses the build machine's Python
    "Threads": (None, None),
    "Doxygen": (None, None),  # the `docs` target, not a dependency of the package
    "PkgConfig": (None, None),  # the tool that finds the pkg-config modules below
    "pkg:cairo": ("cairo", "cairo"),  # pkg_check_modules(... cairo): the certificate PDF
    "pkg:libpq": ("libpq", "libpq"),  # the evidence database on PostgreSQL (worm audit --database)
    "pkg:libsodium": ("libsodium", "libsodium"),  # cosign's encrypted private keys (core)
}
# Found privately (header-only, BUILD_INTERFACE): users of the package never need it.
NOT_IN_PACKAGE_CONFIG = {"Boost", "Doxygen", "RapidJSON"}
PROXY_EXTRA_VCPKG = {"boost-beast"}
# What each component links (CMakeLists.txt WORM_<c>_LIBS, found under if(WORM_WITH_<C>)).
COMPONENT_PACKAGES = {
    "core": {"OpenSSL", "RapidJSON", "Threads", "PkgConfig", "pkg:libsodium"},
    "s3": {"CURL", "pugixml"},
    "uploader": {"SQLite3", "Boost"},
    "audit_log": set(),
    "compliance": {"pkg:cairo", "pkg:libpq"},
}
VCPKG_FEATURE = {"s3": "s3", "uploader": "uploader", "audit_log": "audit-log", "compliance": "compliance"}

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


# pkg_check_modules(PREFIX [REQUIRED] [IMPORTED_TARGET] module...): named "pkg:module".
PKG_CHECK_MODULES = r"pkg_check_modules\(\s*\w+((?:\s+[A-Za-z0-9_.+-]+)+)\s*\)"


def pkg_modules(text):
    modules = set()
    for words in re.findall(PKG_CHECK_MODULES, text):
        modules |= {f"pkg:{w}" for w in words.split() if w not in ("REQUIRED", "IMPORTED_TARGET", "QUIET", "GLOBAL")}
    return modules


def find_packages(cmake_file: Path):
    text = re.sub(r"#.*", "", cmake_file.read_text())
    return set(re.findall(r"find_package\(\s*([A-Za-z0-9_]+)", text)) | pkg_modules(text)


def registry(packages, which):
    names = set()
    for package in packages:
        check(package in REGISTRY_NAMES, f"find_package({package}) has no entry in REGISTRY_NAMES of {__file__}")
        name = REGISTRY_NAMES.get(package, (None, None))[which]
        if name:
            names.add(name)
    return names


def conan_requirements(conanfile: Path):
    """{condition: {names}} from requirements(): condition None or the option name."""
    tree = ast.parse(conanfile.read_text())
    found = {}

    def visit(nodes, condition):
        for node in nodes:
            if isinstance(node, ast.If):
                test = ast.unparse(node.test)
                match = re.fullmatch(r"self\.options\.(\w+)", test)
                check(match, f"conanfile.py: unexpected condition in requirements(): {test}")
                visit(node.body, match.group(1) if match else test)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                call = node.value
                if ast.unparse(call.func) == "self.requires":
                    reference = call.args[0].value
                    found.setdefault(condition, set()).add(reference.split("/")[0])

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            attributes = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "requirements":
                    visit(item.body, None)
                if isinstance(item, ast.Assign) and len(item.targets) == 1:
                    try:
                        attributes[ast.unparse(item.targets[0])] = ast.literal_eval(item.value)
                    except ValueError:
                        pass
            return found, attributes
    return found, {}


def main(root: Path):
    library = find_packages(root / "CMakeLists.txt")
    python = find_packages(root / "bindings" / "python" / "CMakeLists.txt")

    # wormConfig.cmake finds every package dependency again.
    config_text = (root / "cmake" / "wormConfig.cmake.in").read_text()
    config_code = re.sub(r"#.*", "", config_text)
    config = set(re.findall(r"find_dependency\(\s*([A-Za-z0-9_]+)", config_code)) | pkg_modules(config_code)
    check(config == library - NOT_IN_PACKAGE_CONFIG,
          f"wormConfig.cmake.in find_dependency {sorted(config)} != CMakeLists.txt find_package "
          f"{sorted(library - NOT_IN_PACKAGE_CONFIG)}")
    check("find_library" not in config_text, "wormConfig.cmake.in must not search for libraries by path")

    project_version = re.search(r"project\(\s*\w+\s+VERSION\s+([0-9.]+)", (root / "CMakeLists.txt").read_text()).group(1)

    # vcpkg
    port = json.loads((root / "ports" / "worm" / "vcpkg.json").read_text())
    def plain_names(dependencies):
        return {d if isinstance(d, str) else d["name"] for d in dependencies
                if (isinstance(d, str) or not d.get("host")) and (isinstance(d, str) or d["name"] != "worm")}

    component_union = set().union(*COMPONENT_PACKAGES.values())
    check(component_union == library - {"Doxygen"},
          f"COMPONENT_PACKAGES {sorted(component_union)} != CMakeLists.txt find_package {sorted(library - {'Doxygen'})}")
    plain = plain_names(port["dependencies"])
    check(plain == registry(COMPONENT_PACKAGES["core"], 0),
          f"ports/worm/vcpkg.json dependencies {sorted(plain)} != core's {sorted(registry(COMPONENT_PACKAGES['core'], 0))}")
    features = port.get("features", {})
    check(set(features) == {"python", "proxy"} | set(VCPKG_FEATURE.values()),
          f"vcpkg features {sorted(features)} != {sorted({'python', 'proxy'} | set(VCPKG_FEATURE.values()))}")
    check(set(port.get("default-features", [])) == set(VCPKG_FEATURE.values()),
          f"vcpkg default-features {port.get('default-features')} != every component")
    for component, feature in VCPKG_FEATURE.items():
        deps = plain_names(features.get(feature, {}).get("dependencies", []))
        check(deps == registry(COMPONENT_PACKAGES[component], 0),
              f"vcpkg feature {feature} {sorted(deps)} != {sorted(registry(COMPONENT_PACKAGES[component], 0))}")
    all_registry = registry(library, 0)
    python_deps = plain_names(features.get("python", {}).get("dependencies", []))
    check(python_deps == registry(python, 0) - all_registry,
          f"vcpkg feature python {sorted(python_deps)} != {sorted(registry(python, 0) - all_registry)}")
    proxy_deps = plain_names(features.get("proxy", {}).get("dependencies", []))
    check(proxy_deps == PROXY_EXTRA_VCPKG, f"vcpkg feature proxy {sorted(proxy_deps)} != {sorted(PROXY_EXTRA_VCPKG)}")
    check(port["version"] == project_version, f"vcpkg.json version {port['version']} != project {project_version}")
    portfile = (root / "ports" / "worm" / "portfile.cmake").read_text()
    for needle in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup",
                   "proxy  WORM_BUILD_PROXY", "python WORM_BUILD_PYTHON", "s3         WORM_WITH_S3",
                   "uploader   WORM_WITH_UPLOADER", "audit-log  WORM_WITH_AUDIT_LOG",
                   "compliance WORM_WITH_COMPLIANCE"):
        check(needle in portfile, f"ports/worm/portfile.cmake lacks {needle}")

    # conan
    requirements, attributes = conan_requirements(root / "conanfile.py")
    check(requirements.get(None, set()) == registry(COMPONENT_PACKAGES["core"], 1),
          f"conanfile.py requirements {sorted(requirements.get(None, set()))} != core's "
          f"{sorted(registry(COMPONENT_PACKAGES['core'], 1))}")
    for component in VCPKG_FEATURE:
        want = registry(COMPONENT_PACKAGES[component], 1)
        check(requirements.get(component, set()) == want,
              f"conanfile.py requirements under options.{component} {sorted(requirements.get(component, set()))} "
              f"!= {sorted(want)}")
    check(requirements.get("python", set()) == registry(python, 1) - registry(library, 1),
          f"conanfile.py python requirements {sorted(requirements.get('python', set()))} != "
          f"{sorted(registry(python, 1) - registry(library, 1))}")
    check(set(requirements) <= {None, "python"} | set(VCPKG_FEATURE),
          f"conanfile.py: requirements under {sorted(map(str, requirements))}")
    options = attributes.get("options", {})
    check(set(options) == {"shared", "fPIC", "python", "proxy"} | set(VCPKG_FEATURE),
          f"conanfile.py options {sorted(options)}")
    check(attributes.get("version") == project_version,
          f"conanfile.py version {attributes.get('version')} != project {project_version}")

    # CMake options the recipes set exist in the build.
    cmake_text = (root / "CMakeLists.txt").read_text()
    for recipe in ("conanfile.py", "ports/worm/portfile.cmake", "pyproject.toml"):
        for option in set(re.findall(r"\b(WORM_[A-Z_]+)\b", (root / recipe).read_text())):
            if option in ("WORM_STATIC_DEFINE", "WORM_TOOLS", "WORM_ALL_FEATURES"):
                continue
            if option.startswith("WORM_WITH_"):  # option(WORM_WITH_${upper} ...), one per component
                component = option.removeprefix("WORM_WITH_").lower()
                check(component in ("", *VCPKG_FEATURE) and "option(WORM_WITH_${upper}" in cmake_text,
                      f"{recipe} sets {option}, which CMakeLists.txt does not define")
                continue
            check(re.search(rf"(option|set)\({option}\b", cmake_text) or
                  option in (root / "bindings/python/CMakeLists.txt").read_text(),
                  f"{recipe} sets {option}, which CMakeLists.txt does not define")

    pyproject_version = re.search(r'^version\s*=\s*"([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1)
    check(pyproject_version == project_version, f"pyproject.toml version {pyproject_version} != {project_version}")

    for problem in problems:
        print("check_recipes:", problem, file=sys.stderr)
    print(f"check_recipes: {'FAILED' if problems else 'ok'} (library: {sorted(library)}, python: {sorted(python)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])))
