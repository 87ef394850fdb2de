"""worm.setup_bucket / worm.verify_bucket against moto_server: typed results, idempotence,
a single fault failing its row, the raw-answer digests, and errors as worm exceptions."""

import hashlib
import unittest
import urllib.request

from worm_test_support import load_tests_unless_missing as load_tests, worm, MotoServer


class BucketComplianceAgainstMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer(auth=False).start()
        cls.client = worm.S3Client(endpoint=cls.moto.endpoint, region="us-east-1",
                                   access_key=cls.moto.access_key, secret_key=cls.moto.secret_key,
                                   addressing="path")

    @classmethod
    def tearDownClass(cls):
        cls.moto.cleanup()

    def test_setup_then_verify_then_setup_again(self):
        report = worm.setup_bucket("py-evidence", client=self.client, retention_years=7)
        self.assertIsInstance(report, worm.BucketSetupReport)
        actions = {r.resource: r.action for r in report.resources}
        self.assertEqual(actions["bucket"], "created")
        self.assertEqual(actions["object_lock"], "created")
        self.assertEqual(actions["iam_policy"], "printed")
        self.assertEqual(len(report.resources), 8)
        self.assertFalse(report.unchanged)

        again = worm.setup_bucket("py-evidence", client=self.client, retention_years=7)
        self.assertTrue(again.unchanged)

        v = worm.verify_bucket("py-evidence", client=self.client, min_retention_days=7 * 365, mode="COMPLIANCE")
        self.assertIsInstance(v, worm.BucketVerification)
        self.assertTrue(v.passed, v.to_json())
        self.assertEqual(v.failed_ids, [])
        period = v.find("default_retention_period")
        self.assertEqual(period.status, "pass")
        self.assertIn("7 years", period.observed)
        lock = v.find("object_lock_enabled")
        self.assertIn("S3.15", lock.cross_reference)
        # The digest is of the raw answer: the same GET through boto3 hashes the same.
        body = urllib.request.urlopen(f"{self.moto.endpoint}/py-evidence?object-lock").read()
        self.assertEqual(lock.answers[0].sha256, hashlib.sha256(body).hexdigest())
        self.assertIsNone(v.find("no-such-check"))

    def test_one_public_access_flag_off_fails_that_row_only(self):
        worm.setup_bucket("py-pab", client=self.client)
        self.moto.boto3().put_public_access_block(Bucket="py-pab", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        v = worm.verify_bucket("py-pab", client=self.client)
        self.assertFalse(v.passed)
        self.assertEqual(v.failed_ids, ["public_access_block"])
        self.assertIn("IgnorePublicAcls=false", v.find("public_access_block").observed)

    def test_dry_run_and_errors(self):
        plan = worm.setup_bucket("py-planned", client=self.client, dry_run=True)
        self.assertTrue(plan.dry_run)
        self.assertTrue(all(r.action in ("planned", "printed") for r in plan.resources))
        self.assertFalse(self.client.bucket_exists("py-planned"))
        with self.assertRaises(worm.NotFoundError):
            worm.verify_bucket("py-missing", client=self.client)
        with self.assertRaises(worm.InputError):
            worm.setup_bucket("py-bad", client=self.client, sse="DES")
        with self.assertRaises(worm.InputError):
            worm.setup_bucket("py-bad", client=self.client, retention_days=90, retention_years=7)


if __name__ == "__main__":
    unittest.main()
