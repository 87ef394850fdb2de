"""worm.migrate / worm.verify_migration / worm.rollback_migration against moto_server: every object copied once with a
COMPLIANCE lock (boto3 reads the lock and counts versions), a rerun with the same state copies
nothing, verify compares, a dry run writes nothing, and bad options raise worm.InputError."""

import hashlib
import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from worm_test_support import load_tests_unless_missing as load_tests, worm, MotoServer  # noqa: F401


class MigrateFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer(auth=False).start()
        cls.saved_env = dict(os.environ)
        os.environ.update(cls.moto.env())
        cls.s3 = cls.moto.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.moto.cleanup()
        os.environ.clear()
        os.environ.update(cls.saved_env)

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="worm-py-migrate-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def versions(self, bucket):
        counts = {}
        for v in self.s3.list_object_versions(Bucket=bucket).get("Versions", []):
            counts[v["Key"]] = counts.get(v["Key"], 0) + 1
        return counts

    def test_migrate_rerun_and_verify(self):
        self.s3.create_bucket(Bucket="py-mig-src")
        self.s3.create_bucket(Bucket="py-mig-dst", ObjectLockEnabledForBucket=True)
        bodies = {f"obj-{i:02d}.bin": os.urandom(100 + i) for i in range(12)}
        for key, body in bodies.items():
            self.s3.put_object(Bucket="py-mig-src", Key=key, Body=body)

        dry = worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1, dry_run=True)
        self.assertEqual(dry["status"]["would_copy"], 12)
        self.assertEqual(self.versions("py-mig-dst"), {})

        state = self.tmp / "state.sqlite3"
        report = worm.migrate("s3://py-mig-src", worm.open_store("s3://py-mig-dst"), retain_days=1,
                              state_file=state, workers=4, report=self.tmp / "report.json")
        self.assertTrue(report["clean"], report)
        self.assertEqual(report["status"]["copied"], 12)
        self.assertEqual(report["server_side_copies"], 12)  # both buckets on one endpoint: CopyObject
        self.assertEqual(len(report["objects_detail"]), 12)
        self.assertTrue(json.loads((self.tmp / "report.json").read_text())["clean"])
        self.assertEqual((self.tmp / "report.csv").read_text().count("\n"), 12)
        head = self.s3.head_object(Bucket="py-mig-dst", Key="obj-03.bin")
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        self.assertEqual(head["Metadata"]["sha256"], hashlib.sha256(bodies["obj-03.bin"]).hexdigest())

        again = worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1, state_file=state)
        self.assertTrue(again["clean"])
        self.assertEqual(self.versions("py-mig-dst"), {key: 1 for key in bodies})

        self.s3.create_bucket(Bucket="py-mig-client", ObjectLockEnabledForBucket=True)
        through = worm.migrate("s3://py-mig-src", "s3://py-mig-client", retain_days=1, client_copy=True,
                               state_file=self.tmp / "client.sqlite3")
        self.assertEqual((through["status"]["copied"], through["server_side_copies"]), (12, 0))
        self.assertEqual(self.s3.get_object(Bucket="py-mig-client", Key="obj-05.bin")["Body"].read(), bodies["obj-05.bin"])

        # trust_listing: no HEAD of the sources; the same copies, each SHA-256 the server's for the copy.
        self.s3.create_bucket(Bucket="py-mig-listed", ObjectLockEnabledForBucket=True)
        listed = worm.migrate("s3://py-mig-src", "s3://py-mig-listed", retain_days=1, trust_listing=True,
                              state_file=self.tmp / "listed.sqlite3")
        self.assertTrue(listed["clean"], listed)
        self.assertEqual((listed["status"]["copied"], listed["server_side_copies"]), (12, 12))
        self.assertEqual({row["source_key"]: row["sha256"] for row in listed["objects_detail"]},
                         {key: hashlib.sha256(body).hexdigest() for key, body in bodies.items()})
        self.assertEqual(self.versions("py-mig-listed"), {key: 1 for key in bodies})

        checked = worm.verify_migration("s3://py-mig-src", "s3://py-mig-dst")
        self.assertEqual(checked["status"], {"ok": 12})
        self.s3.put_object(Bucket="py-mig-src", Key="obj-new.bin", Body=b"not copied yet")
        checked = worm.verify_migration("s3://py-mig-src", "s3://py-mig-dst")
        self.assertFalse(checked["clean"])
        self.assertEqual(checked["status"]["missing"], 1)

    def test_rollback_of_a_governance_trial_run(self):
        self.s3.create_bucket(Bucket="py-rb-src")
        self.s3.create_bucket(Bucket="py-rb-dst", ObjectLockEnabledForBucket=True)
        for key in ("a.bin", "b.bin"):
            self.s3.put_object(Bucket="py-rb-src", Key=key, Body=key.encode())
        report = self.tmp / "trial.json"
        trial = worm.migrate("s3://py-rb-src", "s3://py-rb-dst", retain_days=1, lock_mode="GOVERNANCE",
                             state_file=self.tmp / "trial.sqlite3", report=report)
        self.assertEqual(trial["status"], {"copied": 2})
        dry = worm.rollback_migration("s3://py-rb-dst", report, dry_run=True)
        self.assertEqual([r["status"] for r in dry], ["would_remove", "would_remove"])
        self.assertEqual(self.versions("py-rb-dst"), {"a.bin": 1, "b.bin": 1})
        kept = worm.rollback_migration("s3://py-rb-dst", report, bypass_governance=False)
        self.assertEqual([r["status"] for r in kept], ["kept_governance", "kept_governance"])
        self.assertIsNotNone(kept[0]["retain_until"])
        done = worm.rollback_migration(worm.open_store("s3://py-rb-dst"), report)
        self.assertEqual([(r["dest_key"], r["status"]) for r in done], [("a.bin", "removed"), ("b.bin", "removed")])
        self.assertEqual(self.versions("py-rb-dst"), {})
        with self.assertRaises(worm.InputError):
            worm.rollback_migration("s3://py-rb-dst", self.tmp / "trial.sqlite3")  # not a JSON report

    def test_bad_options_raise_input_error(self):
        with self.assertRaises(worm.InputError):
            worm.migrate("s3://py-mig-src", "s3://py-mig-dst", state_file=self.tmp / "s.sqlite3")  # no retention
        with self.assertRaises(worm.InputError):
            worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1)  # no state file
        with self.assertRaises(worm.InputError):
            worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1, state_file=self.tmp / "s.sqlite3",
                         part_size=1024)
        with self.assertRaises(worm.InputError):
            worm.migrate("s3://py-mig-src", "ftp://nowhere", retain_days=1, state_file=self.tmp / "s.sqlite3")
        with self.assertRaisesRegex(worm.InputError, "retain-from-source"):
            worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1, state_file=self.tmp / "s.sqlite3",
                         trust_listing=True, retain_from_source=True)
        with self.assertRaisesRegex(worm.InputError, "client-copy"):
            worm.migrate("s3://py-mig-src", "s3://py-mig-dst", retain_days=1, state_file=self.tmp / "s.sqlite3",
                         trust_listing=True, client_copy=True)
        self.assertFalse((self.tmp / "s.sqlite3").exists())


if __name__ == "__main__":
    unittest.main()
