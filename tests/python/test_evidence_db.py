"""The evidence metadata database (worm_evidence) and `worm audit --database`, against moto and a
real PostgreSQL 15 server started from Debian's packages (postgres_server.py; psql is the
reference client), and against SQLite. Rows and objects are compared both ways: a row without its
object, an object without a row, a SHA-256 and a retain-until disagreement are each named, a
matching row is not, and the database password never appears in output or reports."""

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import postgres_server
from worm_test_support import load_tests_unless_missing as load_tests, worm, worm_cli, MotoServer  # noqa: F401

BUCKET = "evidence-db"
EXPECTED = {("evidence/ev-gone", "db_missing_object"), ("evidence/ev-hash", "db_sha256"),
            ("evidence/ev-norow", "db_missing_row"), ("evidence/ev-ret", "db_retention")}


@unittest.skipUnless(postgres_server.available(), "PostgreSQL 15 (Debian postgresql) not installed")
class EvidenceDatabaseAudit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer(auth=False).start()
        cls.saved_env = dict(os.environ)
        os.environ.update(cls.moto.env())
        os.environ.pop("DATABASE_URL", None)
        cls.pg = postgres_server.PostgresServer().start()
        cls.tmp = Path(tempfile.mkdtemp(prefix="worm-evidence-db-"))
        cls.keys = worm.generate_keys(cls.tmp / "keys")
        worm.setup_bucket(BUCKET, retention_years=1, tls_only_policy=False)
        store = worm.open_store(f"s3://{BUCKET}")
        cls.until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)).replace(microsecond=0)
        cls.data = {}
        for name in ("ev-ok", "ev-hash", "ev-ret", "ev-norow"):
            data = f"evidence {name}".encode() + os.urandom(16)
            put = store.put(f"evidence/{name}", data, lock_mode="COMPLIANCE", retain_until=cls.until)
            cls.data[name] = (data, put.get("version_id") or "")
        cls.sqlite_url = "sqlite://" + str(cls.tmp / "evidence.sqlite3")
        # SQLite rows written through the module; PostgreSQL's ev-ok row by psql, as another
        # application of the operator would write it.
        cls.fill(worm.open_evidence_database(cls.sqlite_url), with_ok=True)
        pg_db = worm.open_evidence_database(cls.pg.url())
        cls.fill(pg_db, with_ok=False)
        del pg_db
        sha = hashlib.sha256(cls.data["ev-ok"][0]).hexdigest()
        cls.pg.psql("INSERT INTO worm_evidence (evidence_id, object_key, sha256, retain_until, lock_mode, session_id, "
                    f"evidence_type, metadata) VALUES ('ev-ok', 'evidence/ev-ok', '{sha}', "
                    f"'{cls.until.isoformat()}', 'COMPLIANCE', 'session-123', 'photo', '{{\"location\": \"a\"}}')")

    @classmethod
    def fill(cls, db, with_ok):
        db.create_schema()
        db.create_schema()  # idempotent

        def row(name, **changes):
            data, version = cls.data.get(name, (b"gone", ""))
            fields = dict(evidence_id=name, object_key=f"evidence/{name}", sha256=hashlib.sha256(data).hexdigest(),
                          retain_until=cls.until, lock_mode="COMPLIANCE", session_id="session-123",
                          evidence_type="photo", metadata='{"location": "building-a"}')
            fields.update(changes)
            db.insert(**fields)
        if with_ok:
            row("ev-ok")
        row("ev-hash", sha256="0" * 64)
        row("ev-ret", retain_until=cls.until + dt.timedelta(days=1))
        row("ev-gone")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        cls.moto.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        os.environ.clear()
        os.environ.update(cls.saved_env)

    def cli(self, *args, env=None):
        return subprocess.run([worm_cli(), *args], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, **(env or {})))

    def audit(self, out, *extra, env=None):
        return self.cli("audit", "--store", f"s3://{BUCKET}", "--prefix", "evidence/", "--key", str(self.keys.public_key),
                        "--no-bucket-checks", "--out", str(self.tmp / out), *extra, env=env)

    def check_report(self, out, url_shown):
        report = json.loads((self.tmp / out / "report.json").read_text())
        self.assertEqual({(f["key"], f["check"]) for f in report["failures"]}, EXPECTED, report["failures"])
        self.assertEqual(report["result"], "failures")
        db = report["database"]
        self.assertEqual(db["url"], url_shown)
        self.assertEqual((db["rows"], db["objects"], db["matched"]), (4, 4, 1), db)
        self.assertEqual((db["rows_without_objects"], db["objects_without_rows"], db["sha256_mismatches"],
                          db["retention_mismatches"]), (1, 1, 1, 1), db)
        html = (self.tmp / out / "report.html").read_text()
        self.assertIn("Rows without an object", html)
        return report

    def test_postgresql_both_ways(self):
        # psql, the reference client, sees what the module wrote.
        rows = self.pg.psql("SELECT evidence_id || ' ' || sha256 FROM worm_evidence ORDER BY 1").split()
        self.assertIn("ev-hash", rows)
        self.assertIn("0" * 64, rows)
        r = self.audit("pg", "--database", self.pg.url())
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        masked = self.pg.url(password="****")
        self.check_report("pg", masked)
        for text in (r.stdout, r.stderr, (self.tmp / "pg" / "report.json").read_text(),
                     (self.tmp / "pg" / "report.html").read_text()):
            self.assertNotIn(self.pg.PASSWORD, text)
        self.assertIn("1 match", r.stdout)
        # The row psql wrote reads back through the module, date and all.
        row = worm.open_evidence_database(self.pg.url()).find("ev-ok")
        self.assertEqual(row["retain_until"], self.until)
        self.assertEqual(row["session_id"], "session-123")

    def test_sqlite_and_database_url_default(self):
        r = self.audit("sqlite", env={"DATABASE_URL": self.sqlite_url})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.check_report("sqlite", self.sqlite_url)
        # The same through the Python API.
        report = worm.audit(worm.PublicKey.from_pem(Path(self.keys.public_key).read_text()), store=f"s3://{BUCKET}",
                            prefix="evidence/", verify_bucket=False, database=self.sqlite_url)
        self.assertEqual({(f.key, f.check) for f in report.failures}, EXPECTED)
        self.assertEqual(report.report()["database"]["matched"], 1)

    def test_matching_rows_are_clean(self):
        r = self.audit("clean", "--database", self.sqlite_url, "--prefix", "evidence/ev-ok")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads((self.tmp / "clean" / "report.json").read_text())
        self.assertEqual(report["result"], "clean")
        self.assertEqual((report["database"]["rows"], report["database"]["matched"]), (1, 1))

    def test_bad_database_input(self):
        r = self.audit("bad1", "--database", "mysql://u:p@127.0.0.1/x")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("postgresql://", r.stderr)
        self.assertNotIn(":p@", r.stderr)
        wrong = self.pg.url(password="not-the-Password")
        r = self.audit("bad2", "--database", wrong)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot connect to the evidence database", r.stderr)
        self.assertNotIn("not-the-Password", r.stderr + r.stdout)
        self.assertFalse((self.tmp / "bad2" / "report.json").exists())
        r = self.cli("audit", "--dir", str(self.tmp), "--key", str(self.keys.public_key), "--database",
                     self.sqlite_url, "--out", str(self.tmp / "bad3"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--store", r.stderr)
        db = worm.open_evidence_database(self.sqlite_url)
        with self.assertRaises(worm.InputError):
            db.insert(evidence_id="ev-x", object_key="evidence/ev-x", sha256="not hex")
        with self.assertRaises(worm.WormError) as e:
            db.insert(evidence_id="ev-ok", object_key="evidence/ev-other", sha256="a" * 64)
        self.assertEqual(e.exception.code, "already_exists")


if __name__ == "__main__":
    unittest.main()
