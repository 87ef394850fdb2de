"""examples/python/agent_swap.py, an agent written against the seed API with only its
import changed, runs on the C++ core: locally, and uploading to moto_server."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from worm_test_support import load_tests_unless_missing as load_tests, worm, SOURCE_DIR, MotoServer

AGENT = SOURCE_DIR / "examples" / "python" / "agent_swap.py"


def run_agent(evidence_dir, env):
    out = subprocess.run([sys.executable, str(AGENT), "--evidence-dir", str(evidence_dir), "--incidents", "3"],
                         capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise AssertionError(f"agent failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


class AgentSwap(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-agent-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("WORM_", "MCP_"))}

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_local_only(self):
        result = run_agent(self.dir / "evidence", self.env)
        self.assertEqual(len(result["stored"]), 3)
        for item in result["stored"]:
            self.assertTrue(item["verified"])
            self.assertIsNone(item["worm_uri"])
            self.assertTrue(worm.verify_file(item["bundle_path"], item["sig_path"],
                                             self.dir / "evidence" / "keys" / "public.pem"))
        statuses = [json.loads(Path(i["bundle_path"]).read_text())["outputs"]["resolution_status"]
                    for i in result["stored"]]
        self.assertEqual(statuses, ["success", "success", "partial"])
        self.assertFalse(result["stats"]["enabled"])

    def test_direct_mode_against_moto(self):
        server = MotoServer(auth=False).start()
        try:
            env = dict(self.env, **server.env(), WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET="evidence")
            server.boto3().create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
            result = run_agent(self.dir / "evidence", env)
            self.assertEqual(result["stats"]["total_uploaded"], 3)
            self.assertEqual(result["stats"]["pending_count"], 0)
            s3 = server.boto3()
            for item in result["stored"]:
                self.assertTrue(item["worm_uri"].startswith("s3://evidence/evidence/clinic-001/"))
                key = item["worm_uri"][len("s3://evidence/"):]
                self.assertEqual(s3.get_object(Bucket="evidence", Key=key)["Body"].read(),
                                 Path(item["bundle_path"]).read_bytes())
                self.assertEqual(s3.head_object(Bucket="evidence", Key=key)["ObjectLockMode"], "COMPLIANCE")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
