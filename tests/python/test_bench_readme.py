"""The README's benchmark tables come from one run (issue 24 item 4): bench/readme_tables.py
generates them from bench/results/results.json, and the README's block is what it generates,
so the front page never mixes figures of different runs or goes stale beside RESULTS.md.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("WORM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "bench"))

import readme_tables  # noqa: E402

SCRIPT = os.path.join(SOURCE, "bench", "readme_tables.py")


def figure(fid, samples, unit="rec/s", noisy=False):
    return {"id": fid, "label": fid, "unit": unit, "better": "higher", "samples": samples,
            "median": sorted(samples)[len(samples) // 2] if samples else None, "noisy": noisy,
            "unavailable": None if samples else "not installed", "error": None}


RESULTS = {
    "meta": {"date": "2026-12-06 11:00 UTC", "commit": "abcdef123456", "machine": {"nproc": 2, "cpu": "Test CPU"},
             "load_before": 0.4, "load_after": 1.2, "repeats": 3},
    "figures": [figure("sig.lib", [480000, 482830, 490000], "signs/s"), figure("sig.py", [16000, 16977, 17000], "signs/s"),
                figure("lat.cxx", [39000, 39537, 40000]), figure("lat.seed", [40, 44.7, 50], noisy=True),
                figure("spd", [])],
    "rows": [
        {"scenario": "SigV4 PutObject + lock headers", "libworm": "sig.lib", "anchor": "sig.py", "limit": None,
         "ratio": 28.44, "ratio_limit": None, "target": ">= 20x botocore", "met": True},
        {"scenario": "30 ms S3: compliance preset, C++ producer: sustained records/s", "libworm": "lat.cxx",
         "anchor": "lat.seed", "limit": None, "ratio": 884.5, "ratio_limit": None, "target": ">= 20,000 rec/s", "met": False},
        {"scenario": "log() journal, 1 thread(s): records/s", "libworm": "lat.cxx", "anchor": "spd", "limit": None,
         "ratio": None, "ratio_limit": None, "target": None, "met": None},
        {"scenario": "Not shown in the README", "libworm": "sig.lib", "anchor": None, "limit": None, "ratio": None,
         "ratio_limit": None, "target": None, "met": None},
    ],
}


class GeneratedTables(unittest.TestCase):
    def test_cells_come_from_the_run(self):
        text = readme_tables.tables(RESULTS)
        self.assertIn("2026-12-06 11:00 UTC, commit `abcdef123456`", text)
        self.assertIn("load average 0.40 at the start and 1.20 at the end", text)
        self.assertIn("| SigV4 PutObject + lock headers | 482,830 signs/s (480,000-490,000) | "
                      "16,977 signs/s (16,000-17,000) | 28.44x | >= 20x botocore: met |", text)
        self.assertIn("| 39,537 rec/s (39,000-40,000) | 44.7 rec/s (40.0-50.0) noisy | 884.50x | "
                      ">= 20,000 rec/s: **not met** |", text)
        self.assertIn("| not measured | - | - |", text)
        self.assertNotIn("Not shown in the README", text)
        # Sections in their order, each row once.
        self.assertLess(text.index("The parts"), text.index("Audit logs: "))
        self.assertLess(text.index("Audit logs: "), text.index("Audit logs at S3 latency"))
        self.assertEqual(text.count("SigV4 PutObject"), 1)

    def test_write_then_check(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results.json")
            with open(results, "w") as f:
                json.dump(RESULTS, f)
            readme = os.path.join(d, "README.md")
            with open(readme, "w") as f:
                f.write(f"# x\n\n## Benchmarks\n{readme_tables.BEGIN}\nold table\n{readme_tables.END}\n\n## Next\n")
            check = [sys.executable, SCRIPT, "--results", results, "--check", readme]
            stale = subprocess.run(check, capture_output=True, text=True)
            self.assertEqual(stale.returncode, 1)
            self.assertIn("differ", stale.stderr)
            subprocess.run([sys.executable, SCRIPT, "--results", results, "--write", readme], check=True)
            self.assertEqual(subprocess.run(check, capture_output=True, text=True).returncode, 0)
            with open(readme) as f:
                text = f.read()
            self.assertNotIn("old table", text)
            self.assertTrue(text.endswith(f"{readme_tables.END}\n\n## Next\n"))
            self.assertIn("482,830 signs/s", text)

    def test_a_readme_without_the_block_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            readme = os.path.join(d, "README.md")
            with open(readme, "w") as f:
                f.write("# no tables\n")
            done = subprocess.run([sys.executable, SCRIPT, "--check", readme], capture_output=True, text=True)
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("no block", done.stderr)


class TheRepositoryReadme(unittest.TestCase):
    def test_the_readme_tables_are_those_of_the_committed_run(self):
        done = subprocess.run([sys.executable, SCRIPT, "--check", os.path.join(SOURCE, "README.md")],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)


if __name__ == "__main__":
    unittest.main()
