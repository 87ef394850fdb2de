"""`worm bucket setup --profile audit-logs` and `worm bucket verify --profile audit-logs` against
moto_server: seed 004's audit-log bucket (S3WORMSetup; `s3_worm_setup.py BUCKET` and
`--verify-only`). What setup applies is read back with boto3, not through libworm: Object Lock
GOVERNANCE 2557 days, one lifecycle rule with the three transitions (Standard-IA 31, Glacier 91,
Deep Archive 366), a bucket policy denying requests without TLS and object deletion. A verify
names every check, and fails, naming it, when one transition is missing."""

import json
import os
import subprocess
import unittest

from worm_test_support import load_tests_unless_missing as load_tests, worm, worm_cli, MotoServer

SEED_TRANSITIONS = [{"Days": 31, "StorageClass": "STANDARD_IA"}, {"Days": 91, "StorageClass": "GLACIER"},
                    {"Days": 366, "StorageClass": "DEEP_ARCHIVE"}]


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class AuditLogsProfileAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # auth=False: moto does not evaluate the policy then, so the checks below can read and
        # rewrite a bucket whose policy denies deletion and plain-http requests.
        cls.moto = MotoServer(auth=False).start()
        cls.s3 = cls.moto.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.moto.cleanup()

    def worm(self, *args, expect=0):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WORM_"))}
        env.update(self.moto.env())
        out = subprocess.run([worm_cli(), "bucket", *args], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, expect, f"worm bucket {' '.join(args)}:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def test_setup_applies_the_seed_profile_and_verify_passes(self):
        report = json.loads(self.worm("setup", "--store", "s3://audit-logs-seed", "--profile", "audit-logs", "--json"))
        actions = {r["resource"]: r["action"] for r in report["resources"]}
        for resource in ("bucket", "object_lock", "bucket_policy", "lifecycle"):
            self.assertEqual(actions[resource], "created", resource)

        lock = self.s3.get_object_lock_configuration(Bucket="audit-logs-seed")["ObjectLockConfiguration"]
        self.assertEqual(lock["ObjectLockEnabled"], "Enabled")
        retention = lock["Rule"]["DefaultRetention"]
        self.assertEqual((retention["Mode"], retention["Days"]), ("GOVERNANCE", 2557))
        self.assertFalse(retention.get("Years"))  # moto answers <Years>0</Years> beside <Days>

        [rule] = self.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs-seed")["Rules"]
        self.assertEqual(rule["Status"], "Enabled")
        self.assertEqual(rule["Filter"], {"Prefix": "audit-logs/"})
        self.assertEqual(rule["Transitions"], SEED_TRANSITIONS)
        self.assertNotIn("Expiration", rule)  # the seed keeps the logs in Deep Archive

        policy = json.loads(self.s3.get_bucket_policy(Bucket="audit-logs-seed")["Policy"])
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        self.assertEqual(set(by_sid), {"DenyInsecureTransport", "DenyObjectDeletion"})
        self.assertEqual(by_sid["DenyInsecureTransport"]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        deny = by_sid["DenyObjectDeletion"]
        self.assertEqual((deny["Effect"], deny["Principal"]), ("Deny", "*"))
        self.assertEqual(deny["Action"], ["s3:DeleteObject", "s3:DeleteObjectVersion"])
        self.assertEqual(deny["Resource"], "arn:aws:s3:::audit-logs-seed/*")

        # Idempotent: a second run finds everything in place.
        again = json.loads(self.worm("setup", "--store", "s3://audit-logs-seed", "--profile", "audit-logs", "--json"))
        self.assertTrue(again["unchanged"], again)

        verification = json.loads(self.worm("verify", "--store", "s3://audit-logs-seed", "--profile", "audit-logs",
                                            "--json"))
        self.assertTrue(verification["passed"], verification)
        status = {c["id"]: c["status"] for c in verification["checks"]}
        for check in ("object_lock_enabled", "default_retention_mode", "default_retention_period", "versioning",
                      "tls_only_policy", "deny_delete_policy", "lifecycle_retention",
                      "lifecycle_transition_standard_ia", "lifecycle_transition_glacier",
                      "lifecycle_transition_deep_archive"):
            self.assertEqual(status.get(check), "pass", check)

        # The same bucket under the evidence profile's rules: no deny-delete or transition rows.
        plain = json.loads(self.worm("verify", "--store", "s3://audit-logs-seed", "--min-retention-days", "2557",
                                     "--json"))
        self.assertNotIn("deny_delete_policy", {c["id"] for c in plain["checks"]})

    def test_verify_names_a_missing_transition(self):
        self.worm("setup", "--store", "s3://audit-logs-gap", "--profile", "audit-logs")
        [rule] = self.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs-gap")["Rules"]
        rule["Transitions"] = [t for t in rule["Transitions"] if t["StorageClass"] != "GLACIER"]
        self.s3.put_bucket_lifecycle_configuration(Bucket="audit-logs-gap", LifecycleConfiguration={"Rules": [rule]})

        text = self.worm("verify", "--store", "s3://audit-logs-gap", "--profile", "audit-logs", expect=1)
        self.assertIn("1 check(s) failed: lifecycle_transition_glacier", text)
        verification = json.loads(self.worm("verify", "--store", "s3://audit-logs-gap", "--profile", "audit-logs",
                                            "--json", expect=1))
        failed = [c for c in verification["checks"] if c["status"] == "fail"]
        self.assertEqual([c["id"] for c in failed], ["lifecycle_transition_glacier"])
        self.assertIn("no transition to GLACIER", failed[0]["observed"])
        self.assertEqual(failed[0]["expected"], "GLACIER after 91 days (rule for 'audit-logs/')")

        # Setup puts it back (the rule differs: changed), and verify passes again.
        report = json.loads(self.worm("setup", "--store", "s3://audit-logs-gap", "--profile", "audit-logs", "--json"))
        self.assertEqual({r["resource"]: r["action"] for r in report["resources"]}["lifecycle"], "changed")
        self.worm("verify", "--store", "s3://audit-logs-gap", "--profile", "audit-logs")

    def test_verify_fails_a_policy_that_allows_deletion_and_a_compliance_lock(self):
        self.worm("setup", "--store", "s3://audit-logs-weak", "--profile", "audit-logs", "--no-deny-delete",
                  "--lock-mode", "COMPLIANCE")
        verification = json.loads(self.worm("verify", "--store", "s3://audit-logs-weak", "--profile", "audit-logs",
                                            "--json", expect=1))
        failed = {c["id"]: c for c in verification["checks"] if c["status"] == "fail"}
        self.assertEqual(set(failed), {"default_retention_mode", "deny_delete_policy"})
        self.assertIn("does not deny object deletion", failed["deny_delete_policy"]["observed"])

    def test_print_rules_shows_the_profile_documents_without_a_request(self):
        rules = json.loads(self.worm("setup", "--store", "s3://not-created", "--profile", "audit-logs",
                                     "--print-rules"))
        self.assertEqual(rules["object_lock"], {"enabled": True, "mode": "GOVERNANCE", "days": 2557, "years": None})
        self.assertEqual(rules["lifecycle"]["transitions"],
                         [{"days": t["Days"], "storage_class": t["StorageClass"]} for t in SEED_TRANSITIONS])
        self.assertIsNone(rules["lifecycle"]["expiration_days"])
        self.assertEqual([s["Sid"] for s in rules["bucket_policy"]["Statement"]],
                         ["DenyInsecureTransport", "DenyObjectDeletion"])
        self.assertNotIn("not-created", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        # Options override the profile; a second single transition is refused.
        years = json.loads(self.worm("setup", "--store", "s3://x", "--profile", "audit-logs", "--retention-years",
                                     "10", "--print-rules"))
        self.assertEqual((years["object_lock"]["years"], years["object_lock"]["mode"]), (10, "GOVERNANCE"))
        self.worm("setup", "--store", "s3://x", "--profile", "audit-logs", "--transition-days", "40", "--print-rules",
                  expect=2)
        self.worm("setup", "--store", "s3://x", "--profile", "audit-log", "--print-rules", expect=2)

    @unittest.skipIf(worm is None, "worm Python module not built")
    def test_python_profile_argument(self):
        client = worm.S3Client(endpoint=self.moto.endpoint, region="us-east-1", access_key=self.moto.access_key,
                               secret_key=self.moto.secret_key, addressing="path")
        report = worm.setup_bucket("audit-logs-py", client=client, profile="audit-logs")
        self.assertEqual({r.resource: r.action for r in report.resources}["lifecycle"], "created")
        [rule] = self.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs-py")["Rules"]
        self.assertEqual(rule["Transitions"], SEED_TRANSITIONS)
        v = worm.verify_bucket("audit-logs-py", client=client, profile="audit-logs")
        self.assertTrue(v.passed, v.to_json())
        self.assertEqual(v.find("lifecycle_transition_deep_archive").status, "pass")
        with self.assertRaises(worm.InputError):
            worm.setup_bucket("audit-logs-py", client=client, profile="nope")


if __name__ == "__main__":
    unittest.main()
