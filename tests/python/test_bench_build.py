"""The documented benchmark command as a new user runs it (issue 24 item 4):
`python3 bench/run.py --only sigv4 --repeats 3` configures build-bench/ and builds the targets
the scenarios run. On a fresh clone it configured without the Python module and then asked for
worm_python ("No rule to make target"). This runs bench/run.py's own configure command into a
fresh directory and asks CMake whether every target its build command names exists, without
compiling anything (a configure takes seconds; the build is the benchmark's own business).
"""
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("WORM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "bench"))

import run  # noqa: E402


class DocumentedBenchCommand(unittest.TestCase):
    def test_the_configure_enables_every_target_the_build_asks_for(self):
        with tempfile.TemporaryDirectory(prefix="worm-bench-build-") as d:
            build_dir = os.path.join(d, "build-bench")
            configure, make = run.build_commands(build_dir)
            self.assertEqual(make[:3], ["cmake", "--build", build_dir])
            done = subprocess.run(configure, capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr[-2000:])
            targets = subprocess.run(["cmake", "--build", build_dir, "--target", "help"], capture_output=True, text=True)
            self.assertEqual(targets.returncode, 0, targets.stderr[-2000:])
            listed = {line.split()[-1] for line in targets.stdout.splitlines() if line.startswith("...")}
            asked = make[make.index("--target") + 1:]
            self.assertEqual(asked, run.BENCH_TARGETS)
            for target in asked:
                self.assertIn(target, listed, f"bench/run.py builds {target}, but its configure does not define it")

    def test_the_documented_flags_parse(self):
        # The README's command line, through run.py's own parser (--help exits 0 before any build).
        done = subprocess.run([sys.executable, os.path.join(SOURCE, "bench", "run.py"), "--only", "sigv4", "--repeats", "3",
                               "--help"], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("--repeats", done.stdout)


if __name__ == "__main__":
    unittest.main()
