"""The module against moto_server, a real S3 HTTP server: the agents' upload path
(direct mode) read back by boto3, an outage with catch-up sync, stats, and S3 errors."""

import asyncio
import datetime
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from worm_test_support import load_tests_unless_missing as load_tests, worm, MotoServer, incident_inputs


class EnvPatch:
    """Sets environment variables for the duration of a test class."""

    def __init__(self, values):
        self.values, self.saved = values, {}

    def __enter__(self):
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def key_for(bundle_id, client_id="clinic-001", ext=".json"):
    return f"evidence/{client_id}/{bundle_id[3:7]}/{bundle_id[7:9]}/{bundle_id}{ext}"


class DirectModeAgainstMoto(unittest.TestCase):
    """moto verifying SigV4 with an IAM user's key."""

    @classmethod
    def setUpClass(cls):
        cls.server = MotoServer(auth=True).start()
        cls.env = EnvPatch(cls.server.env()).__enter__()
        worm.S3Client(endpoint=cls.server.endpoint).create_bucket("evidence", object_lock=True)

    @classmethod
    def tearDownClass(cls):
        cls.env.__exit__()
        cls.server.cleanup()

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-py-s3-"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self):
        return worm.WormConfig(enabled=True, mode="direct", s3_bucket="evidence", s3_endpoint=self.server.endpoint,
                               retention_days=90)

    def test_upload_reads_back_with_boto3_with_the_lock(self):
        p = worm.EvidencePipeline("clinic-001", evidence_dir=self.dir / "ev", config=self.config())
        bundle_path, sig_path = p.process_incident(**incident_inputs())
        bundle_id = bundle_path.stem
        self.assertEqual(p.last_result["bundle_uri"], f"s3://evidence/{key_for(bundle_id)}")
        s3 = self.server.boto3()
        got = s3.get_object(Bucket="evidence", Key=key_for(bundle_id))
        self.assertEqual(got["Body"].read(), bundle_path.read_bytes())
        self.assertEqual(s3.get_object(Bucket="evidence", Key=key_for(bundle_id, ext=".sig"))["Body"].read(),
                         sig_path.read_bytes())
        head = s3.head_object(Bucket="evidence", Key=key_for(bundle_id))
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)
        self.assertLess(abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()), 3600)
        # Deleting the locked version is refused and surfaces as a typed error.
        store = worm.open_store("s3://evidence")
        with self.assertRaises(worm.StorageError) as caught:
            store.remove(key_for(bundle_id), version_id=head["VersionId"])
        self.assertIsInstance(caught.exception, (worm.S3Error, worm.ObjectLockedError))
        stats = p.uploader.get_stats()
        self.assertEqual((stats["enabled"], stats["mode"], stats["total_uploaded"], stats["pending_count"]),
                         (True, "direct", 1, 0))

    def test_uploader_seed_api(self):
        p = worm.EvidencePipeline("clinic-002", evidence_dir=self.dir / "ev",
                                  config=worm.WormConfig(enabled=False))
        bundle_path, sig_path = p.process_incident(**incident_inputs())
        uploader = worm.WormUploader(self.config(), self.dir / "ev", "clinic-002")
        self.assertEqual(uploader.get_pending_count(), 0)
        bundle_uri, sig_uri = uploader.upload_bundle(bundle_path, sig_path)
        self.assertEqual(bundle_uri, f"s3://evidence/{key_for(bundle_path.stem, 'clinic-002')}")
        self.assertTrue(sig_uri.endswith(".sig"))
        # Again: idempotent, no second version.
        self.assertEqual(uploader.upload_bundle(bundle_path, sig_path), (bundle_uri, sig_uri))
        # (A prefix without '/': moto's signature check rejects an encoded '/' in the query.)
        versions = self.server.boto3().list_object_versions(Bucket="evidence", Prefix="evidence")
        key = key_for(bundle_path.stem, "clinic-002")
        self.assertEqual(len([v for v in versions.get("Versions", []) if v["Key"] == key]), 1)
        self.assertEqual(uploader.sync(), {"uploaded": 0, "failed": 0, "pending": 0, "errors": []})

    def test_prefix_is_applied_once(self):
        config = self.config()
        config.s3_prefix = "msp-a"
        p = worm.EvidencePipeline("clinic-003", evidence_dir=self.dir / "ev", config=config)
        bundle_path, _ = p.process_incident(**incident_inputs())
        key = "msp-a/" + key_for(bundle_path.stem, "clinic-003")
        self.assertEqual(p.last_result["bundle_uri"], f"s3://evidence/{key}")
        body = self.server.boto3().get_object(Bucket="evidence", Key=key)["Body"].read()
        self.assertEqual(body, bundle_path.read_bytes())

    def test_wrong_secret_is_a_clear_s3_error(self):
        client = worm.S3Client(endpoint=self.server.endpoint, access_key=self.server.access_key,
                               secret_key="not-the-secret")
        with self.assertRaises(worm.S3Error) as caught:
            client.store("evidence").put("x/y.txt", b"data")
        self.assertEqual(caught.exception.s3_code, "SignatureDoesNotMatch")
        self.assertEqual(caught.exception.code, "s3")
        self.assertEqual(caught.exception.status, 403)
        self.assertNotIn("not-the-secret", str(caught.exception))

    def test_missing_object_has_the_worm_code_not_found(self):
        store = worm.S3Client(endpoint=self.server.endpoint).store("evidence")
        with self.assertRaises(worm.NotFoundError) as caught:
            store.get("no/such/object.json")
        # The same check as for the local and proxy stores: .code is the worm code.
        self.assertEqual(caught.exception.code, "not_found")
        self.assertIsInstance(caught.exception, worm.S3Error)
        self.assertEqual(caught.exception.s3_code, "NoSuchKey")
        self.assertEqual(caught.exception.status, 404)


class OutageAndSync(unittest.TestCase):
    """Bundles made while S3 is down stay pending; one sync after it is back uploads them.
    (moto in its accept-any-credentials mode, so a restarted server takes the same key.)"""

    def test_outage_then_sync(self):
        server = MotoServer(auth=False).start()
        evidence = Path(tempfile.mkdtemp(prefix="worm-py-outage-"))
        try:
            with EnvPatch(server.env()):
                worm.S3Client(endpoint=server.endpoint).create_bucket("evidence", object_lock=True)
                config = worm.WormConfig(enabled=True, mode="direct", s3_bucket="evidence",
                                         s3_endpoint=server.endpoint, upload_attempts=1)
                gen = worm.EvidenceGenerator("clinic-001", evidence_dir=evidence, config=config)
                inputs = incident_inputs()
                bundle = dict(inputs, actions_taken=inputs.pop("actions"))

                async def store(n):
                    return [await gen.store_evidence(bundle) for _ in range(n)]

                online = asyncio.run(store(2))
                self.assertTrue(all(uri and uri.startswith("s3://evidence/") for _, _, uri in online))

                server.stop()  # the outage
                offline = asyncio.run(store(3))
                self.assertTrue(all(uri is None for _, _, uri in offline))
                self.assertTrue(all(p.exists() and s.exists() for p, s, _ in offline))  # kept locally, signed
                stats = gen.get_worm_stats()
                self.assertEqual(stats["total_uploaded"], 2)
                self.assertEqual(stats["pending_count"] + stats["failed_count"], 3)
                self.assertTrue(stats["last_error"])

                server.start()  # back (a fresh server: recreate the bucket)
                worm.S3Client(endpoint=server.endpoint).create_bucket("evidence", object_lock=True)
                result = asyncio.run(gen.sync_to_worm())
                self.assertEqual((result["uploaded"], result["failed"], result["pending"]), (3, 0, 0))
                stats = gen.get_worm_stats()
                self.assertEqual((stats["total_uploaded"], stats["pending_count"], stats["failed_count"]), (5, 0, 0))
                s3 = server.boto3()
                for bundle_path, _, _ in offline:
                    body = s3.get_object(Bucket="evidence", Key=key_for(bundle_path.stem))["Body"].read()
                    self.assertEqual(body, bundle_path.read_bytes())
                self.assertEqual(asyncio.run(gen.sync_to_worm())["uploaded"], 0)  # nothing twice
        finally:
            server.cleanup()
            shutil.rmtree(evidence, ignore_errors=True)


class OddKeys(unittest.TestCase):
    """Keys with spaces, unicode and +=&~ through S3Store, read back by boto3. moto's own
    SigV4 check rejects such keys even from boto3, so this uses its accept-any mode; the
    signatures themselves are compared with botocore's in test_module_sigv4."""

    @classmethod
    def setUpClass(cls):
        cls.server = MotoServer(auth=False).start()
        cls.env = EnvPatch(cls.server.env()).__enter__()
        worm.S3Client(endpoint=cls.server.endpoint).create_bucket("evidence", object_lock=True)

    @classmethod
    def tearDownClass(cls):
        cls.env.__exit__()
        cls.server.cleanup()

    def test_store_round_trip_with_odd_keys(self):
        store = worm.S3Client(endpoint=self.server.endpoint).store("evidence", "scripts")
        for key in ["a b/c+d=e&f~g.json", "unicodé/日本.txt", "100% sure (1).json"]:
            with self.subTest(key=key):
                store.put(key, key.encode())
                self.assertEqual(store.get(key), key.encode())
                body = self.server.boto3().get_object(Bucket="evidence", Key="scripts/" + key)["Body"].read()
                self.assertEqual(body, key.encode())



def proxy_binary():
    path = os.environ.get("WORM_PROXY_BIN")
    if path and os.path.exists(path):
        return path
    guess = Path(__file__).resolve().parents[2] / "build" / "worm-proxy"
    return str(guess) if guess.exists() else None


class ProxyModeThroughWormProxy(unittest.TestCase):
    """agent -> worm-proxy -> S3 (moto): the agent holds only its bearer token."""

    TOKENS = {"clinic-001": "token-for-clinic-001-aaaa", "clinic-002": "token-for-clinic-002-bbbb"}

    @classmethod
    def setUpClass(cls):
        binary = proxy_binary()
        if binary is None:
            raise unittest.SkipTest("worm-proxy not built (set WORM_PROXY_BIN)")
        cls.server = MotoServer(auth=False).start()
        cls.server.boto3().create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
        cls.dir = Path(tempfile.mkdtemp(prefix="worm-py-proxy-"))
        tokens = cls.dir / "tokens"
        tokens.write_text("".join(f"{c} {t}\n" for c, t in cls.TOKENS.items()))
        os.chmod(tokens, 0o600)
        from worm_test_support import free_port
        import socket, subprocess, time, urllib.request
        cls.port = free_port()
        env = dict(os.environ, **cls.server.env())
        cls.log = open(cls.dir / "proxy.log", "wb")
        cls.proxy = subprocess.Popen([binary, "--listen", f"127.0.0.1:{cls.port}", "--tokens", str(tokens),
                                      "--store", "s3://evidence", "--retention-days", "90",
                                      "--lock-mode", "COMPLIANCE"], env=env, stdout=cls.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            if cls.proxy.poll() is not None:
                raise RuntimeError(f"worm-proxy exited; see {cls.dir}/proxy.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        cls.url = f"http://127.0.0.1:{cls.port}"  # MCP_URL as the seeds set it

    @classmethod
    def tearDownClass(cls):
        if cls.proxy.poll() is None:
            os.kill(cls.proxy.pid, 15)
            cls.proxy.wait(timeout=30)
        cls.log.close()
        cls.server.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_pipeline_uploads_through_the_proxy(self):
        config = worm.WormConfig(enabled=True, mode="proxy", mcp_url=self.url,
                                 mcp_api_key=self.TOKENS["clinic-001"])
        p = worm.EvidencePipeline("clinic-001", evidence_dir=self.dir / "ev1", config=config)
        bundle_path, sig_path = p.process_incident(**incident_inputs())
        self.assertTrue(p.last_result["bundle_uri"].startswith(f"mcp+{self.url}/"))
        key = key_for(bundle_path.stem)
        s3 = self.server.boto3()
        self.assertEqual(s3.get_object(Bucket="evidence", Key=key)["Body"].read(), bundle_path.read_bytes())
        self.assertEqual(s3.head_object(Bucket="evidence", Key=key)["ObjectLockMode"], "COMPLIANCE")
        self.assertEqual(p.uploader.get_stats()["mode"], "proxy")
        self.assertEqual(p.uploader.get_stats()["total_uploaded"], 1)

        # Tenant isolation: clinic-002's token cannot read or write clinic-001's evidence.
        other = worm.ProxyStore(self.url, self.TOKENS["clinic-002"])
        for attempt in (lambda: other.get(key), lambda: other.put(key_for("EB-20990101-0001"), b"forged"),
                        lambda: worm.ProxyStore("mcp+" + self.url, "not-a-valid-token-0000").head(key)):
            with self.assertRaises(worm.WormError) as caught:
                attempt()
            # Refused by the proxy (401/403 -> ConfigError naming the cause), not unreachable.
            self.assertIsInstance(caught.exception, worm.ConfigError)
            self.assertNotIn("forged", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
