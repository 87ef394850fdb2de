"""`cmake --install <build> --component python` gives an importable package under the prefix."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path


class InstallComponent(unittest.TestCase):
    def test_install_into_a_prefix_and_import(self):
        build = os.environ.get("WORM_BINARY_DIR")
        if not build:
            self.skipTest("WORM_BINARY_DIR not set (run through ctest)")
        if not (Path(build) / "python" / "worm").is_dir():
            self.skipTest("worm Python module not built (WORM_BUILD_PYTHON=OFF)")
        prefix = Path(tempfile.mkdtemp(prefix="worm-pyinstall-"))
        try:
            subprocess.run(["cmake", "--install", build, "--component", "python", "--prefix", str(prefix)],
                           check=True, capture_output=True)
            site = list(prefix.glob("lib*/python3*/site-packages"))
            self.assertEqual(len(site), 1, list(prefix.rglob("*")))
            self.assertTrue((site[0] / "worm" / "__init__.pyi").exists())
            env = dict(os.environ, PYTHONPATH=str(site[0]))
            out = subprocess.run([sys.executable, "-c", "import worm; print(worm.__file__); print(worm.canonical_json({'b': 1, 'a': [2]}))"],
                                 check=True, capture_output=True, text=True, env=env, cwd=prefix)
            first, second = out.stdout.splitlines()
            self.assertTrue(first.startswith(str(site[0])))
            self.assertEqual(second, '{"a":[2],"b":1}')
        finally:
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
