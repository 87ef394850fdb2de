"""The worm module without a server: errors, canonical JSON, keys and signatures (with
cryptography, openssl and the C++ CLI as peers), the pipeline scenarios of the seed,
configuration, and the local WORM store."""

import asyncio
import base64
import datetime
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from worm_test_support import load_tests_unless_missing as load_tests, worm, TESTDATA, incident_inputs, worm_cli


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-py-"))

    def tearDown(self):
        for root, dirs, files in os.walk(self.dir):  # stored files are read-only
            for name in dirs + files:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Errors(unittest.TestCase):
    def test_every_code_maps_to_its_class(self):
        expected = {
            "config": worm.ConfigError, "invalid_argument": worm.InputError, "parse": worm.InputError,
            "schema": worm.InputError, "verification": worm.VerificationError, "crypto": worm.CryptoError,
            "io": worm.StorageError, "storage": worm.StorageError, "already_exists": worm.StorageError,
            "not_found": worm.NotFoundError, "object_locked": worm.ObjectLockedError,
            "integrity": worm.IntegrityError, "network": worm.NetworkError, "timeout": worm.NetworkError,
            "s3": worm.S3Error, "internal": worm.WormError,
        }
        # The codes come from the C++ table (error.hpp): this list must name each exactly once.
        self.assertEqual(sorted(worm.errors.ERROR_CODES), sorted(expected))
        self.assertEqual(len(set(worm.errors.ERROR_CODES)), len(worm.errors.ERROR_CODES))
        for code in worm.errors.ERROR_CODES:
            cls = expected[code]
            with self.subTest(code=code):
                with self.assertRaises(cls) as caught:
                    worm._worm._raise_error(code, f"message for {code}")
                self.assertIs(type(caught.exception), cls)
                self.assertEqual(caught.exception.code, code)
                self.assertEqual(str(caught.exception), f"message for {code}")
                self.assertIsInstance(caught.exception, worm.WormError)
        self.assertTrue(issubclass(worm.InputError, ValueError))
        with self.assertRaises(worm.InputError):
            worm._worm._raise_error("no_such_code", "x")

    def test_every_code_round_trips_as_an_s3_error_too(self):
        for code in worm.errors.ERROR_CODES:
            with self.subTest(code=code):
                with self.assertRaises(worm.S3Error) as caught:
                    worm._worm._raise_s3_error(500, "InternalError", "", "R", "/b/k", code=code)
                self.assertEqual(caught.exception.code, code)
                self.assertEqual(caught.exception.s3_code, "InternalError")

    def test_s3_error_fields(self):
        with self.assertRaises(worm.S3Error) as caught:
            worm._worm._raise_s3_error(403, "AccessDenied", "denied", "REQ123", "/bucket/key")
        e = caught.exception
        self.assertEqual((e.status, e.code, e.s3_code, e.request_id, e.resource),
                         (403, "s3", "AccessDenied", "REQ123", "/bucket/key"))
        self.assertIsInstance(e, worm.StorageError)
        self.assertIn("AccessDenied", str(e))

    def test_worm_code_is_a_deprecated_alias_of_code(self):
        with self.assertRaises(worm.S3Error) as caught:
            worm._worm._raise_s3_error(404, "NoSuchKey", "", "R", "/b/k", code="not_found")
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(caught.exception.worm_code, "not_found")
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(worm.ConfigError("m", "config").worm_code, "config")

    def test_classified_s3_error_is_also_the_storage_class(self):
        with self.assertRaises(worm.NotFoundError) as caught:
            worm._worm._raise_s3_error(404, "NoSuchKey", "", "R", "/b/k", code="not_found")
        self.assertIsInstance(caught.exception, worm.S3Error)
        # .code is the worm code on every error, so one check catches a missing object anywhere.
        self.assertEqual(caught.exception.code, "not_found")
        self.assertEqual(caught.exception.s3_code, "NoSuchKey")
        self.assertEqual(caught.exception.status, 404)
        with self.assertRaises(worm.ObjectLockedError):
            worm._worm._raise_s3_error(403, "AccessDenied", "", "R", "/b/k", code="object_locked")

    def test_invalid_utf8_in_a_message_does_not_break_the_translation(self):
        with self.assertRaises(worm.StorageError) as caught:
            worm._worm._raise_error("io", "cannot open /tmp/\udcff".encode("utf-8", "surrogateescape").decode("latin-1"))
        self.assertIn("cannot open", str(caught.exception))


class CanonicalJson(unittest.TestCase):
    def test_rfc8785_vectors(self):
        inputs = sorted((TESTDATA / "jcs" / "input").glob("*.json"))
        self.assertGreater(len(inputs), 3)
        for path in inputs:
            with self.subTest(vector=path.name):
                expected = (TESTDATA / "jcs" / "output" / path.name).read_bytes().decode("utf-8")
                self.assertEqual(worm.canonical_json_text(path.read_bytes()), expected)
                self.assertEqual(worm.canonical_json(json.loads(path.read_text(encoding="utf-8"))), expected)

    def test_python_values(self):
        self.assertEqual(worm.canonical_json({"b": [1, 2.5, 1e21, None, True, "é\n"], "a": {"z": 1, "y": 2}}),
                         '{"a":{"y":2,"z":1},"b":[1,2.5,1e+21,null,true,"é\\n"]}')
        self.assertEqual(worm.canonical_json((1, 2)), "[1,2]")
        self.assertEqual(worm.canonical_json(2 ** 70), "1.1805916207174113e+21")  # as JSON.parse would
        # UTF-16 order (D83D DE00 < E000), not UTF-8 byte order (F0.. > EE..).
        self.assertEqual(worm.canonical_json({"\ue000": 2, "\U0001F600": 1}), '{"\U0001F600":1,"\ue000":2}')

    def test_invalid_input_raises(self):
        for bad in [{"a": float("nan")}, {"a": float("inf")}, {1: "x"}, {"a": "\ud800"}]:
            with self.subTest(value=repr(bad)):
                with self.assertRaises(worm.InputError):
                    worm.canonical_json(bad)
        with self.assertRaises(TypeError):
            worm.canonical_json({"a": {1, 2}})
        loop = []
        loop.append(loop)
        with self.assertRaises(worm.InputError):
            worm.canonical_json(loop)

    def test_invalid_text_raises(self):
        for bad in ['{"a":1,"a":2}', '{"x":{"a":1,"a":2}}', b'"\xff"', b'"\xc0\xaf"', '"\\ud800"', "[1] x", "NaN"]:
            with self.subTest(text=bad):
                with self.assertRaises(worm.InputError):
                    worm.canonical_json_text(bad)
        with self.assertRaises(worm.InputError) as caught:
            worm.parse_json('{"x":{"a":1,"a":2}}')
        self.assertIn('duplicate key "a"', str(caught.exception))

    def test_bundle_hash_matches_the_design(self):
        bundle = {"bundle_id": "EB-20261122-0001", "a": 1, "signatures": {"x": 1}, "storage_locations": [1],
                  "evidence_bundle_hash": "sha256:00"}
        import hashlib
        body = {"bundle_id": "EB-20261122-0001", "a": 1}
        expected = "sha256:" + hashlib.sha256(worm.canonical_json(body).encode()).hexdigest()
        self.assertEqual(worm.compute_bundle_hash(bundle), expected)


class Keys(TempDirTest):
    def test_generate_keys_modes_and_no_overwrite(self):
        keys = worm.generate_keys(self.dir / "keys")
        private, public = keys  # unpacks like a tuple
        self.assertEqual(stat.S_IMODE(os.stat(private).st_mode), 0o400)
        self.assertEqual(stat.S_IMODE(os.stat(public).st_mode), 0o644)
        with self.assertRaises(worm.StorageError) as caught:
            worm.generate_keys(self.dir / "keys")
        self.assertEqual(caught.exception.code, "already_exists")

    def test_world_readable_private_key_is_refused(self):
        keys = worm.generate_keys(self.dir / "keys")
        os.chmod(keys.private_key, 0o644)
        with self.assertRaises(worm.ConfigError) as caught:
            worm.Signer(keys.private_key)
        self.assertIn("group or others", str(caught.exception))

    def test_passphrase(self):
        keys = worm.generate_keys(self.dir / "keys", "correct horse")
        worm.Signer(keys.private_key, "correct horse")
        with self.assertRaises(worm.ConfigError) as caught:
            worm.Signer(keys.private_key, "wrong")
        self.assertNotIn("wrong", str(caught.exception).replace("wrong passphrase", ""))

    def test_signature_verifies_with_cryptography_and_openssl(self):
        keys = worm.generate_keys(self.dir / "keys")
        signer = worm.Signer(keys.private_key)
        data = self.dir / "bundle.json"
        data.write_bytes(b'{"evidence": "bytes \xc3\xa9"}\n')
        sig_path = signer.sign_file(data)
        self.assertEqual(Path(sig_path), self.dir / "bundle.sig")
        raw = base64.b64decode((self.dir / "bundle.sig").read_text())
        public = serialization.load_pem_public_key(Path(keys.public_key).read_bytes())
        public.verify(raw, data.read_bytes())  # raises if invalid
        raw_path = self.dir / "raw.sig"
        raw_path.write_bytes(raw)
        ok = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(keys.public_key), "-rawin",
                             "-in", str(data), "-sigfile", str(raw_path)], capture_output=True)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertEqual(signer.sign(data.read_bytes()), raw)
        self.assertTrue(signer.public_key().verify(data.read_bytes(), raw))
        self.assertFalse(signer.public_key().verify(data.read_bytes() + b" ", raw))

    def test_keys_from_cryptography_are_accepted(self):
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        signer = worm.Signer.from_pem(pem)
        message = b"signed by python cryptography"
        public = worm.PublicKey.from_pem(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
        self.assertTrue(public.verify(message, key.sign(message)))
        self.assertEqual(signer.sign(message), key.sign(message))  # Ed25519 is deterministic


class Pipeline(TempDirTest):
    def pipeline(self, **kwargs):
        return worm.EvidencePipeline("clinic-001", evidence_dir=self.dir / "evidence",
                                     config=worm.WormConfig(enabled=False), **kwargs)

    def test_successful_remediation(self):
        p = self.pipeline()
        bundle_path, sig_path = p.process_incident(**incident_inputs("backup-success"))
        bundle = json.loads(bundle_path.read_text())
        self.assertEqual(bundle["outputs"]["resolution_status"], "success")
        self.assertEqual(bundle["execution"]["mttr_seconds"], 322)
        self.assertTrue(bundle["execution"]["sla_met"])
        self.assertEqual(bundle["evidence_bundle_hash"], worm.compute_bundle_hash(bundle))
        self.assertTrue(p.verify(bundle_path))
        self.assertTrue(worm.verify_file(bundle_path, sig_path, p.public_key_path))

    def test_failed_remediation_is_partial_with_the_error(self):
        bundle_path, _ = self.pipeline().process_incident(**incident_inputs("backup-failed"))
        bundle = json.loads(bundle_path.read_text())
        self.assertEqual(bundle["outputs"]["resolution_status"], "partial")
        self.assertFalse(bundle["execution"]["sla_met"])
        self.assertTrue(bundle["outputs"]["failed_steps"][0]["error"])

    def test_tamper_detection_names_the_reason(self):
        p = self.pipeline()
        bundle_path, sig_path = p.process_incident(**incident_inputs())
        original = bundle_path.read_bytes()
        os.chmod(bundle_path, 0o644)
        bundle_path.write_bytes(original.replace(b'"high"', b'"low"', 1))
        with self.assertRaises(worm.VerificationError) as caught:
            worm.verify_file(bundle_path, sig_path, p.public_key_path)
        self.assertEqual(caught.exception.reason, "signature_invalid")
        self.assertFalse(caught.exception.report["hash_valid"])
        self.assertIn("hash mismatch", str(caught.exception))
        # Re-signed by the attacker's key: the signature check still fails with ours.
        bundle_path.write_bytes(original)
        self.assertTrue(worm.verify_file(bundle_path, sig_path, p.public_key_path))
        sig = sig_path.read_text()
        os.chmod(sig_path, 0o644)
        sig_path.write_text(sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:])
        with self.assertRaises(worm.VerificationError):
            p.verify(bundle_path, sig_path)

    def test_sequential_ids(self):
        p = self.pipeline()
        ids = [p.process_incident(**incident_inputs())[0].stem for _ in range(3)]
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
        self.assertEqual(ids, [f"EB-{today}-{n:04d}" for n in (1, 2, 3)])
        # A second pipeline on the same directory (a restart) continues the sequence.
        self.assertEqual(self.pipeline().process_incident(**incident_inputs())[0].stem, f"EB-{today}-0004")

    def test_schema_failure_names_the_field(self):
        inputs = incident_inputs()
        del inputs["incident"]["hostname"]
        with self.assertRaises(worm.InputError) as caught:
            self.pipeline().process_incident(**inputs)
        self.assertIn("hostname", str(caught.exception))

    def test_bundle_made_by_the_cli_verifies_from_python(self):
        cli = worm_cli()
        if cli is None:
            self.skipTest("worm CLI not built (set WORM_CLI)")
        keys = self.dir / "cli-keys"
        subprocess.run([cli, "keygen", "--out", str(keys)], check=True, capture_output=True)
        data = Path(__file__).resolve().parents[2] / "examples" / "data" / "backup-success"
        out = subprocess.run([cli, "bundle", "--client-id", "clinic-009", "--incident", str(data / "incident.json"),
                              "--runbook", str(data / "runbook.json"), "--execution", str(data / "execution.json"),
                              "--actions", str(data / "actions.json"), "--artifacts", str(data / "artifacts.json"),
                              "--evidence-dir", str(self.dir / "cli-evidence"), "--key", str(keys / "private.pem")],
                             check=True, capture_output=True, text=True)
        made = json.loads(out.stdout)
        self.assertTrue(worm.verify_file(made["bundle_path"], made["sig_path"], keys / "public.pem"))
        other = worm.generate_keys(self.dir / "other")
        with self.assertRaises(worm.VerificationError) as caught:
            worm.verify_file(made["bundle_path"], made["sig_path"], other.public_key)
        self.assertEqual(caught.exception.reason, "signature_invalid")

    def test_python_signed_bundle_verifies_with_the_cli(self):
        cli = worm_cli()
        if cli is None:
            self.skipTest("worm CLI not built (set WORM_CLI)")
        p = self.pipeline()
        bundle_path, sig_path = p.process_incident(**incident_inputs())
        ok = subprocess.run([cli, "verify", "--key", str(p.public_key_path), str(bundle_path), str(sig_path)],
                            capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)

    def test_pipeline_stores_into_a_local_worm_store(self):
        store = worm.LocalWormStore(self.dir / "store")
        p = self.pipeline(store=store)
        bundle_path, _ = p.process_incident(**incident_inputs())
        bundle_id = bundle_path.stem
        key = f"evidence/clinic-001/{bundle_id[3:7]}/{bundle_id[7:9]}/{bundle_id}.json"
        self.assertEqual(store.get(key), bundle_path.read_bytes())
        head = store.head(key)
        self.assertEqual(head["lock_mode"], "COMPLIANCE")
        self.assertGreater(head["retain_until"], datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=89))
        with self.assertRaises(worm.ObjectLockedError):
            store.remove(key)
        self.assertEqual(p.uploader.get_stats()["total_uploaded"], 1)

    def test_seed_agents_bundle_validates_and_its_sections_go_through(self):
        # Seed 003's example bundle, as the agents' pipeline writes it (step 3: no stdout_excerpt).
        seed = json.loads((TESTDATA / "seed" / "EB-20251101-0002.json").read_text())
        self.assertNotIn("stdout_excerpt", seed["actions_taken"][2])
        worm.validate_bundle(seed)
        bundle_path, sig_path = self.pipeline().process_incident(
            incident=seed["incident"], runbook=seed["runbook"], execution=seed["execution"],
            actions=seed["actions_taken"], artifacts=seed["artifacts"])
        bundle = json.loads(bundle_path.read_text())
        self.assertEqual(bundle["actions_taken"], seed["actions_taken"])
        self.assertEqual(bundle["outputs"]["resolution_status"], "success")
        worm.validate_bundle(bundle)
        self.assertTrue(worm.verify_file(bundle_path, sig_path, self.dir / "evidence" / "keys" / "public.pem"))

    def test_action_needs_four_fields_the_rest_optional_but_typed(self):
        seed = json.loads((TESTDATA / "seed" / "EB-20251101-0002.json").read_text())
        seed["actions_taken"][1] = {k: seed["actions_taken"][1][k] for k in ("step", "action", "result", "timestamp")}
        worm.validate_bundle(seed)  # a manual step: no script, exit code or output
        for field, value, says in (("script_hash", "sha256:1234", "pattern"), ("stdout_excerpt", 5, "type"),
                                   ("exit_code", "0", "type"), ("duration_seconds", -1, "minimum")):
            with self.subTest(field=field):
                bad = json.loads(json.dumps(seed))
                bad["actions_taken"][1][field] = value
                with self.assertRaises(worm.InputError) as caught:
                    worm.validate_bundle(bad)
                self.assertEqual(caught.exception.code, "schema")
                self.assertTrue(str(caught.exception).startswith(f"schema: /actions_taken/1/{field}: {says}"),
                                str(caught.exception))

    def test_upload_policy_is_the_librarys_auto_upload_off_registers_for_sync(self):
        store = worm.LocalWormStore(self.dir / "store")
        p = worm.EvidencePipeline("clinic-001", evidence_dir=self.dir / "evidence",
                                  config=worm.WormConfig(enabled=False, auto_upload=False), store=store)
        bundle_path, _ = p.process_incident(**incident_inputs())
        self.assertEqual(p.last_result["upload_status"], "pending")
        self.assertIsNone(p.last_result["bundle_uri"])
        self.assertEqual(store.list_all(""), [])
        stats = p.uploader.get_stats()
        self.assertEqual(stats["pending_count"], 1)
        self.assertEqual((stats["last_error"], stats["last_error_at"], stats["last_error_current"]), ("", None, False))
        self.assertEqual(p.uploader.sync()["uploaded"], 1)
        self.assertEqual([o["key"].rsplit("/", 1)[1] for o in store.list_all("")],
                         [bundle_path.name, bundle_path.with_suffix(".sig").name])
        # Uploads off (no store, not enabled): nothing attached.
        self.assertIsNone(self.pipeline().uploader)

    def test_evidence_generator_async_api(self):
        store = worm.LocalWormStore(self.dir / "store")
        gen = worm.EvidenceGenerator("clinic-001", evidence_dir=self.dir / "evidence",
                                     config=worm.WormConfig(enabled=False), store=store)
        inputs = incident_inputs()
        seed_bundle = {"bundle_id": "EB-agent-own", "client_id": "clinic-001", "incident": inputs["incident"],
                       "runbook": inputs["runbook"], "execution": inputs["execution"],
                       "actions_taken": inputs["actions"], "artifacts": inputs["artifacts"],
                       "signatures": {}, "storage_locations": []}

        async def scenario():
            results = await asyncio.gather(*(gen.store_evidence(seed_bundle) for _ in range(4)))
            self.assertEqual(len({r[0] for r in results}), 4)
            for bundle_path, sig_path, uri in results:
                self.assertTrue(uri.startswith("file:///"))
                # Each call gets its own bundle's URI, even when the calls overlap.
                self.assertTrue(uri.endswith("/" + Path(bundle_path).name), (uri, bundle_path))
                self.assertTrue(await gen.verify_evidence(bundle_path, sig_path))
            self.assertEqual(await gen.sync_to_worm(), {"uploaded": 0, "failed": 0, "pending": 0, "errors": []})
            return gen.get_worm_stats()

        stats = asyncio.run(scenario())
        self.assertEqual(stats["total_uploaded"], 4)
        self.assertEqual(stats["pending_count"], 0)


class Config(unittest.TestCase):
    def test_seed_messages(self):
        with self.assertRaises(worm.ConfigError) as caught:
            worm.WormConfig(enabled=True, mode="proxy").validate()
        self.assertIn("endpoint not configured", str(caught.exception))
        with self.assertRaises(worm.ConfigError) as caught:
            worm.WormConfig(enabled=True, mode="direct").validate()
        self.assertIn("bucket not configured", str(caught.exception))
        worm.WormConfig(enabled=True, mode="direct", s3_bucket="b").validate()

    def test_from_env_and_masking(self):
        c = worm.WormConfig.from_env({"WORM_ENABLED": "true", "WORM_MODE": "direct", "MSP_WORM_BUCKET": "msp",
                                      "WORM_RETENTION_DAYS": "120", "MCP_API_KEY": "SECRET-TOKEN"})
        self.assertEqual((c.enabled, c.mode, c.s3_bucket, c.retention_days), (True, "direct", "msp", 120))
        self.assertNotIn("SECRET-TOKEN", repr(c))
        self.assertNotIn("SECRET-TOKEN", json.dumps(c.describe()))
        short = worm.WormConfig.from_env({"WORM_RETENTION_DAYS": "30"})
        with self.assertRaises(worm.ConfigError):
            short.validate()
        self.assertEqual(worm.WormConfig.from_env({}).mode, "proxy")
        bad = worm.WormConfig.from_env({"WORM_RETENTION_DAYS": "ninety"})
        self.assertTrue(any("WORM_RETENTION_DAYS" in p for p in bad.check()))

    def test_seed_keyword_names(self):
        c = worm.WormConfig(enabled=True, mode="proxy", mcp_upload_endpoint="https://mcp.example",
                            s3_bucket="", s3_region="eu-west-1", retention_days=90, auto_upload=False)
        self.assertEqual(c.mcp_url, "https://mcp.example")
        c.validate()


class LocalStore(TempDirTest):
    def test_lock_semantics_and_listing(self):
        store = worm.open_store(f"file://{self.dir}/store")
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        put = store.put("evidence/a.json", b"{}", retain_until=until, metadata={"sha256": "x"})
        self.assertEqual(put["sha256"], "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        with self.assertRaises(worm.ObjectLockedError):
            store.remove("evidence/a.json")
        with self.assertRaises(worm.ObjectLockedError):
            store.put("evidence/a.json", b"overwrite")
        with self.assertRaises(worm.ObjectLockedError):
            store.put_retention("evidence/a.json", "COMPLIANCE", until - datetime.timedelta(hours=1))
        store.put_retention("evidence/a.json", "COMPLIANCE", until + datetime.timedelta(days=1))
        self.assertEqual(store.get_retention("evidence/a.json")["mode"], "COMPLIANCE")
        store.put("evidence/b.txt", "text", legal_hold=True)
        self.assertTrue(store.get_legal_hold("evidence/b.txt"))
        with self.assertRaises(worm.ObjectLockedError):
            store.remove("evidence/b.txt")
        self.assertEqual([o["key"] for o in store.list_all("evidence/")], ["evidence/a.json", "evidence/b.txt"])
        with self.assertRaises(worm.NotFoundError):
            store.head("evidence/missing")
        with self.assertRaises(worm.InputError):
            store.put("../escape", b"x")
        source = self.dir / "file.bin"
        source.write_bytes(os.urandom(3000))
        store.put("files/f.bin", file=source)
        self.assertEqual(store.get("files/f.bin", range=(10, 19)), source.read_bytes()[10:20])
        store.get_to_file("files/f.bin", self.dir / "copy.bin")
        self.assertEqual((self.dir / "copy.bin").read_bytes(), source.read_bytes())


if __name__ == "__main__":
    unittest.main()
