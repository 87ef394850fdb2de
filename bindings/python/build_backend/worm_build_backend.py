"""PEP 517 build backend for the `worm` Python package: `pip install .` and `pip wheel .`.

When scikit-build-core is importable it does the work (its settings are [tool.scikit-build]
in pyproject.toml). Otherwise this module drives CMake itself, with nothing but the
standard library, so a machine without PyPI can still build and install the package:

    python3 -m venv --system-site-packages venv
    venv/bin/pip install --no-build-isolation --no-index .
    venv/bin/pip wheel --no-build-isolation --no-index -w dist .

It configures libworm with only the static library and the module (no CLI, tests,
examples, install rules), builds the worm_python target, installs the `python` component
into a staging directory and zips that into a wheel. Environment:
    CMAKE_ARGS                    extra configure arguments (scikit-build's name), e.g.
                                  "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
    CMAKE_BUILD_PARALLEL_LEVEL    build jobs (default 2)
    WORM_PY_BUILD_DIR             keep the CMake build there (incremental rebuilds);
                                  default: a temporary directory, removed afterwards
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from pathlib import Path

try:
    from scikit_build_core.build import build_sdist, build_wheel  # noqa: F401  (preferred when present)
except ImportError:
    _SOURCE_DIR = Path(__file__).resolve().parents[3]

    # The CMake options of a wheel: the library and the module, nothing else.
    _WHEEL_CMAKE_OPTIONS = [
        "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DWORM_BUILD_PYTHON=ON",
        "-DWORM_BUILD_CLI=OFF", "-DWORM_BUILD_PROXY=OFF", "-DWORM_BUILD_TESTS=OFF",
        "-DWORM_BUILD_EXAMPLES=OFF", "-DWORM_BUILD_BENCH=OFF", "-DWORM_INSTALL=OFF",
    ]

    def _project_metadata() -> dict:
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            import tomli as tomllib
        with open(_SOURCE_DIR / "pyproject.toml", "rb") as f:
            return tomllib.load(f)["project"]

    def _metadata_text(project: dict) -> str:
        lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
        if "description" in project:
            lines.append(f"Summary: {project['description']}")
        if "requires-python" in project:
            lines.append(f"Requires-Python: {project['requires-python']}")
        license_text = project.get("license", {}).get("text")
        if license_text:
            lines.append(f"License: {license_text}")
        lines += [f"Classifier: {c}" for c in project.get("classifiers", [])]
        for extra, requirements in project.get("optional-dependencies", {}).items():
            lines.append(f"Provides-Extra: {extra}")
            lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
        return "\n".join(lines) + "\n"

    def _wheel_tag() -> str:
        interpreter = f"cp{sys.version_info.major}{sys.version_info.minor}"
        abi = interpreter + getattr(sys, "abiflags", "")
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        return f"{interpreter}-{abi}-{platform}"

    def _run(command: list) -> None:
        print("worm_build_backend:", " ".join(shlex.quote(str(c)) for c in command), file=sys.stderr)
        subprocess.run([str(c) for c in command], check=True, stdout=sys.stderr)

    def _build_package(build_dir: Path, staging: Path) -> None:
        """Configures, builds and installs the `python` component: staging/worm/..."""
        options = list(_WHEEL_CMAKE_OPTIONS)
        options += [f"-DPython3_EXECUTABLE={sys.executable}", "-DWORM_PYTHON_INSTALL_DIR=."]
        try:  # pybind11 from pip, when there is one; else CMake finds the system's (pybind11-dev)
            import pybind11
            options.append(f"-Dpybind11_DIR={pybind11.get_cmake_dir()}")
        except ImportError:
            pass
        options += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        _run(["cmake", "-S", _SOURCE_DIR, "-B", build_dir, *options])
        _run(["cmake", "--build", build_dir, "--target", "worm_python", "-j", jobs])
        _run(["cmake", "--install", build_dir, "--component", "python", "--prefix", staging])

    def _record_line(arcname: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{arcname},sha256={digest},{len(data)}"

    def _write_wheel(staging: Path, wheel_directory: str, project: dict) -> str:
        name, version = project["name"].replace("-", "_"), project["version"]
        tag = _wheel_tag()
        wheel_name = f"{name}-{version}-{tag}.whl"
        dist_info = f"{name}-{version}.dist-info"
        files = {}
        for path in sorted(staging.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(staging).as_posix()] = path.read_bytes()
        if not any(arc.startswith("worm/_worm") for arc in files):
            raise RuntimeError("the CMake build installed no worm/_worm module into " + str(staging))
        files[f"{dist_info}/METADATA"] = _metadata_text(project).encode()
        files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: worm_build_backend\n"
                                       f"Root-Is-Purelib: false\nTag: {tag}\n").encode()
        record = [_record_line(arc, data) for arc, data in files.items()] + [f"{dist_info}/RECORD,,"]
        files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
        with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as wheel:
            for arcname, data in files.items():
                info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if arcname.endswith(".so") else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                wheel.writestr(info, data)
        return wheel_name

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        project = _project_metadata()
        with tempfile.TemporaryDirectory(prefix="worm-wheel-") as scratch:
            build_dir = Path(os.environ.get("WORM_PY_BUILD_DIR") or Path(scratch) / "build")
            staging = Path(scratch) / "staging"
            _build_package(build_dir, staging)
            return _write_wheel(staging, wheel_directory, project)

    def build_sdist(sdist_directory, config_settings=None):
        """The tracked source files (git ls-files) as name-version.tar.gz."""
        project = _project_metadata()
        base = f"{project['name']}-{project['version']}"
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=_SOURCE_DIR, check=True,
                                capture_output=True).stdout.decode().split("\0")
        archive = f"{base}.tar.gz"
        with tarfile.open(Path(sdist_directory) / archive, "w:gz") as tar:
            for relative in filter(None, listed):
                tar.add(_SOURCE_DIR / relative, arcname=f"{base}/{relative}", recursive=False)
            info = tarfile.TarInfo(f"{base}/PKG-INFO")
            data = _metadata_text(project).encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return archive
