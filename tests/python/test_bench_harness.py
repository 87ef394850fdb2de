"""The benchmark harness's own machinery (bench/run.py, bench/sink.py), against real peers:
the nginx sink answers boto3's PutObject and multipart calls, run_program measures a child's
memory with wait4, figures are summarised and flagged as noisy, openssl speed is parsed.
No figure is asserted on: only that the measuring works.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("WORM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "bench"))

import run  # noqa: E402
from sink import NginxSink  # noqa: E402


class FigureMath(unittest.TestCase):
    def fig(self, samples, better="higher"):
        f = run.Figure("x", "x", "u", better, lambda: 0)
        f.samples = list(samples)
        return f

    def test_median_spread_and_noise_flag(self):
        f = self.fig([100, 90, 110, 105, 95])
        self.assertEqual(f.median, 100)
        self.assertAlmostEqual(f.spread, 0.20)
        self.assertFalse(f.noisy(0.25))
        self.assertTrue(f.noisy(0.15))
        self.assertIn("**noisy**", f.cell(0.15))
        self.assertIn("(90.0-110)", f.cell(0.25))

    def test_one_sample_is_never_noisy(self):
        self.assertFalse(self.fig([5]).noisy(0.0))

    def test_ratios_follow_the_direction(self):
        lib, anchor, limit = self.fig([200]), self.fig([50]), self.fig([400])
        row = run.Row("r", lib, anchor, limit)
        self.assertAlmostEqual(row.ratio, 4.0)        # 4x the anchor's throughput
        self.assertAlmostEqual(row.ratio_limit, 2.0)  # half the limit's throughput
        lib, anchor, limit = self.fig([2], "lower"), self.fig([10], "lower"), self.fig([1], "lower")
        row = run.Row("r", lib, anchor, limit)
        self.assertAlmostEqual(row.ratio, 5.0)        # a fifth of the anchor's cost
        self.assertAlmostEqual(row.ratio_limit, 2.0)  # twice the limit's cost

    def test_only_the_load_at_the_start_marks_the_machine_busy(self):
        def line(before, after):
            return run.load_line({"load_before": before, "load_after": after, "machine": {"nproc": 2}})
        self.assertIn("0.30 / 2.14", line(0.30, 2.14))
        self.assertNotIn("busy", line(0.30, 2.14))  # the end's load is the run's own servers
        self.assertIn("last scenario's own", line(0.30, 2.14))
        self.assertIn("**the machine was busy**", line(2.50, 0.40))

    def test_missing_figures_give_no_ratio(self):
        row = run.Row("r", self.fig([]), self.fig([3]))
        self.assertIsNone(row.ratio)


class RunProgram(unittest.TestCase):
    def test_parses_figure_lines_and_measures_peak_rss(self):
        code = ("b = bytearray(96 * 1024 * 1024)\n"
                "for i in range(0, len(b), 4096): b[i] = 1\n"
                "print('demo_speed: 123.5 things/s')\nprint('not a figure')\n")
        r = run.run_program([sys.executable, "-c", code])
        self.assertEqual(r.values, {"demo_speed": (123.5, "things/s")})
        self.assertGreaterEqual(r.maxrss_kib, 96 * 1024)
        self.assertGreater(r.cpu_s, 0)

    def test_peak_rss_is_the_childs_own_not_the_harness_s(self):
        # Linux carries maxrss across execve: a small child of a big harness must not
        # report the harness's peak.
        ballast = bytearray(128 * 1024 * 1024)
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        r = run.run_program([sys.executable, "-c", "import time; time.sleep(0.3)"])
        self.assertLess(r.maxrss_kib, 64 * 1024)
        self.assertGreater(r.maxrss_kib, 0)
        del ballast

    def test_failure_and_unavailable_are_told_apart(self):
        with self.assertRaises(run.RunError):
            run.run_program([sys.executable, "-c", "import sys; sys.exit(1)"])
        with self.assertRaises(run.Unavailable):
            run.run_program([sys.executable, "-c",
                             "import sys; print('unavailable: not built', file=sys.stderr); sys.exit(3)"])

    def test_openssl_speed_is_parsed(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl")

        class Ctx:
            quick = True
        sign, verify = run.openssl_speed(Ctx())
        self.assertGreater(sign, 0)
        self.assertGreater(verify, 0)


@unittest.skipUnless(shutil.which("nginx"), "nginx (nginx-light) is not installed")
class Sink(unittest.TestCase):
    def setUp(self):
        import boto3, botocore  # noqa: E401
        self.sink = NginxSink().start()
        self.addCleanup(self.sink.cleanup)
        self.s3 = boto3.client("s3", endpoint_url=self.sink.endpoint, region_name="us-east-1",
                               aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                               config=botocore.config.Config(retries={"max_attempts": 1}))

    def test_boto3_put_object_with_lock_headers(self):
        import datetime
        r = self.s3.put_object(Bucket="bench", Key="evidence/a.json", Body=b"x" * 4096,
                               ObjectLockMode="COMPLIANCE", ChecksumAlgorithm="SHA256",
                               ObjectLockRetainUntilDate=datetime.datetime(2099, 1, 1))
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(r["ETag"])

    def test_boto3_multipart_upload(self):
        from boto3.s3.transfer import TransferConfig
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "big.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(12 * 1024 * 1024))
        tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
        self.s3.upload_file(path, "bench", "big.bin", Config=tc)  # raises on a bad initiate/complete
        r = self.s3.create_multipart_upload(Bucket="bench", Key="k")
        self.assertEqual(r["UploadId"], "bench-upload-1")

    def test_stopped_by_pid(self):
        pid = self.sink.proc.pid
        self.sink.stop()
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)


if __name__ == "__main__":
    unittest.main()
