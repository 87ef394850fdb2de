"""Operations: worm-proxy's /metrics and `worm status --format prometheus` parse as
Prometheus text (prometheus_client's parser is the reference), and `worm monitor` POSTs
its alert to a local webhook when a check fails (and stays quiet when none does)."""

import http.server
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # Debian's python3-prometheus-client (scripts/install-deps.sh) for another python3
    import sys

    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

from worm_test_support import MotoServer, free_port, worm_cli

PROXY = os.environ.get("WORM_PROXY_BIN")
TOKEN = "alice-token-0123456789abcdef"


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(family, name, **labels):
    for s in family.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {name} {labels} in {family.samples}")


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    @unittest.skipUnless(PROXY and os.path.exists(PROXY), "worm-proxy not built")
    def test_proxy_metrics_per_tenant(self):
        tokens = self.dir / "tokens"
        tokens.write_text(f"alice {TOKEN}\n")
        tokens.chmod(0o600)
        port = free_port()
        log = open(self.dir / "proxy.log", "w")
        proxy = subprocess.Popen([PROXY, "--listen", f"127.0.0.1:{port}", "--tokens", str(tokens), "--store",
                                  f"file://{self.dir / 'store'}", "--retention-days", "1", "--threads", "2"],
                                 stdout=log, stderr=log)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            body = self.dir / "b.json"
            body.write_text('{"bundle_id":"EB-20261122-0001"}')
            env = dict(os.environ, MCP_API_KEY=TOKEN)
            for n in (1, 2):
                put = subprocess.run([worm_cli(), "put", "--store", f"mcp+http://127.0.0.1:{port}",
                                      f"evidence/alice/2026/11/EB-20261122-000{n}.json", str(body)],
                                     env=env, capture_output=True, text=True)
                self.assertEqual(put.returncode, 0, put.stderr)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                text = r.read().decode()
        finally:
            proxy.terminate()
            proxy.wait(10)
            log.close()
        f = families(text)
        self.assertEqual(sample(f["worm_proxy_uploads"], "worm_proxy_uploads_total", tenant="alice", result="ok"), 2)
        self.assertEqual(sample(f["worm_proxy_uploads"], "worm_proxy_uploads_total", tenant="alice", result="failed"), 0)
        h = f["worm_proxy_upload_duration_seconds"]
        self.assertEqual(sample(h, "worm_proxy_upload_duration_seconds_count", tenant="alice"), 2)
        self.assertEqual(sample(h, "worm_proxy_upload_duration_seconds_bucket", tenant="alice", le="+Inf"), 2)
        self.assertEqual(sample(f["worm_proxy_uploads_in_flight"], "worm_proxy_uploads_in_flight"), 0)

    def test_status_prometheus_textfile(self):
        evidence = self.dir / "evidence"
        evidence.mkdir()
        for n in range(1, 13):  # 12 waiting bundles: above the backlog threshold of 10
            (evidence / f"EB-20261122-{n:04d}.json").write_text(
                json.dumps({"bundle_id": f"EB-20261122-{n:04d}", "client_id": "clinic-001"}))
            (evidence / f"EB-20261122-{n:04d}.sig").write_text("c2ln\n")
        registry = {f"EB-20261122-{n:04d}": {"status": "pending", "client_id": "clinic-001",
                                             "bundle_path": str(evidence / f"EB-20261122-{n:04d}.json"),
                                             "sig_path": str(evidence / f"EB-20261122-{n:04d}.sig")}
                    for n in range(1, 13)}
        (self.dir / "agent.json").write_text(json.dumps(registry))
        subprocess.run([worm_cli(), "registry", "import", "--evidence-dir", str(evidence), str(self.dir / "agent.json")],
                       check=True, capture_output=True)
        r = subprocess.run([worm_cli(), "status", "--evidence-dir", str(evidence), "--format", "prometheus"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        f = families(r.stdout)
        self.assertEqual(sample(f["worm_uploads"], "worm_uploads", status="pending"), 12)
        self.assertEqual(sample(f["worm_queue_depth"], "worm_queue_depth"), 12)
        self.assertEqual(sample(f["worm_alert_threshold"], "worm_alert_threshold", alert="backlog_high"), 10)
        self.assertEqual(sample(f["worm_alert_threshold"], "worm_alert_threshold", alert="repeated_failures"), 3)
        self.assertEqual(sample(f["worm_alert_threshold"], "worm_alert_threshold", alert="stale_pending"), 86400)
        self.assertEqual(sample(f["worm_alert_active"], "worm_alert_active", alert="backlog_high"), 1)
        self.assertEqual(sample(f["worm_healthy"], "worm_healthy"), 0)
        self.assertEqual(f["worm_upload_duration_seconds"].type, "histogram")
        bad = subprocess.run([worm_cli(), "status", "--evidence-dir", str(evidence), "--format", "xml"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)


class _Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class MonitorTest(unittest.TestCase):
    def test_monitor_posts_alert_to_webhook(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        _Hook.received.clear()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                store = f"file://{tmp}/store"
                data = Path(tmp) / "x.json"
                data.write_text("{}")
                for key, days in (("evidence/a/short.json", "3"), ("evidence/a/long.json", "400")):
                    subprocess.run([worm_cli(), "put", "--store", store, "--lock-mode", "COMPLIANCE", "--retain-days",
                                    days, key, str(data)], check=True, capture_output=True)
                hook = f"http://127.0.0.1:{server.server_port}/alerts"
                quiet = subprocess.run([worm_cli(), "monitor", "--store", store, "--expiring-within-days", "1",
                                        "--webhook", hook], capture_output=True, text=True)
                self.assertEqual(quiet.returncode, 0, quiet.stderr)
                self.assertEqual(_Hook.received, [])
                r = subprocess.run([worm_cli(), "monitor", "--store", store, "--expiring-within-days", "30",
                                    "--webhook", hook, "--environment", "dev"], capture_output=True, text=True)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("FAILED retention_expiring", r.stderr)
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(len(_Hook.received), 1)
        path, content_type, alert = _Hook.received[0]
        self.assertEqual(path, "/alerts")
        self.assertEqual(content_type, "application/json")
        self.assertEqual(alert["environment"], "dev")
        self.assertFalse(alert["ok"])
        self.assertEqual([c["check"] for c in alert["failed_checks"]], ["retention_expiring"])
        self.assertIn("evidence/a/short.json", alert["failed_checks"][0]["detail"])
        self.assertEqual(alert["summary"]["objects_checked"], 2)
        self.assertEqual(alert["summary"]["expiring"], 1)
        self.assertEqual(len(alert["recommended_actions"]), 1)
        self.assertEqual(json.loads(r.stdout), alert)


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class MonitorBucketTest(unittest.TestCase):
    """`worm monitor --store s3://...` verifies the bucket's configuration (moto): a bucket
    without Object Lock and versioning fails those checks, in the exit code, the summary and
    the webhook alert; a bucket `worm bucket setup` made passes."""

    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer(auth=False).start()
        cls.env = dict(os.environ, **cls.moto.env())

    @classmethod
    def tearDownClass(cls):
        cls.moto.cleanup()

    def monitor(self, bucket, *extra):
        return subprocess.run([worm_cli(), "monitor", "--store", f"s3://{bucket}", "--expiring-within-days", "1",
                               *extra], capture_output=True, text=True, env=self.env)

    def test_unlocked_bucket_fails_and_alerts(self):
        self.moto.boto3().create_bucket(Bucket="plain-bucket")
        server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        _Hook.received.clear()
        try:
            r = self.monitor("plain-bucket", "--webhook", f"http://127.0.0.1:{server.server_port}/alerts")
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("FAILED bucket_object_lock_enabled", r.stderr)
        summary = json.loads(r.stdout)
        failed = [c["check"] for c in summary["failed_checks"]]
        self.assertIn("bucket_object_lock_enabled", failed)
        self.assertIn("bucket_versioning", failed)
        self.assertEqual(summary["summary"]["bucket_object_lock_enabled"], "failed")
        self.assertTrue(any("worm bucket setup" in a for a in summary["recommended_actions"]))
        self.assertEqual(len(_Hook.received), 1)
        self.assertEqual(_Hook.received[0][2], summary)

    def test_bucket_set_up_for_worm_passes(self):
        # (Empty: moto over plain http enforces the TLS-only policy on object HEADs, measured;
        # object retention checks are test_monitor_posts_alert_to_webhook's.)
        setup = subprocess.run([worm_cli(), "bucket", "setup", "--store", "s3://worm-bucket", "--retention-days", "90"],
                               capture_output=True, text=True, env=self.env)
        self.assertEqual(setup.returncode, 0, setup.stderr)
        r = self.monitor("worm-bucket", "--min-retention-days", "90")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        summary = json.loads(r.stdout)
        self.assertEqual(summary["failed_checks"], [])
        self.assertEqual(summary["summary"]["bucket_configuration"], "ok")
        # The same bucket asked for a longer default retention than it has fails that check.
        longer = self.monitor("worm-bucket", "--min-retention-days", "365")
        self.assertEqual(longer.returncode, 1)
        self.assertIn("bucket_default_retention_period",
                      [c["check"] for c in json.loads(longer.stdout)["failed_checks"]])

if __name__ == "__main__":
    unittest.main()
