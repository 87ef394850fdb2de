"""Retention dates past 2262 through the Python API: a local store and S3 (moto, boto3 as the
reader) keep every date up to 9999-12-31 exactly; dates the library cannot represent raise
worm.InputError (code invalid_argument) naming the value, and nothing is stored."""

import datetime
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from worm_test_support import MotoEnvCase, load_tests_unless_missing as load_tests, worm, MotoServer

UTC = datetime.timezone.utc
FAR_DATES = [
    datetime.datetime(2262, 4, 11, 23, 47, 16, tzinfo=UTC),
    datetime.datetime(2262, 4, 12, tzinfo=UTC),
    datetime.datetime(2263, 1, 1, tzinfo=UTC),
    datetime.datetime(2614, 6, 1, tzinfo=UTC),
    datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
]
UNREPRESENTABLE = ["10000-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00",
                   datetime.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)]


class RetentionDatesMixin:
    def check_far_dates(self, store, prefix):
        for n, when in enumerate(FAR_DATES):
            with self.subTest(when=when):
                key = f"{prefix}/far-{n}"
                store.put(key, b"evidence", lock_mode="COMPLIANCE", retain_until=when)
                self.assertEqual(store.get_retention(key)["retain_until"], when)
                self.assertEqual(store.head(key)["retain_until"], when)
        # RFC 3339 text works the same, and extending to the last millisecond of 9999 reads back.
        store.put(f"{prefix}/text", b"evidence", lock_mode="COMPLIANCE", retain_until="2614-06-01T00:00:00Z")
        self.assertEqual(store.get_retention(f"{prefix}/text")["retain_until"], FAR_DATES[3])
        store.put_retention(f"{prefix}/text", "COMPLIANCE", FAR_DATES[-1])
        self.assertEqual(store.get_retention(f"{prefix}/text")["retain_until"], FAR_DATES[-1])

    def check_refused(self, store, prefix):
        for n, when in enumerate(UNREPRESENTABLE):
            with self.subTest(when=when):
                with self.assertRaises(worm.InputError) as caught:
                    store.put(f"{prefix}/bad-{n}", b"x", lock_mode="COMPLIANCE", retain_until=when)
                self.assertEqual(caught.exception.code, "invalid_argument")
                shown = when if isinstance(when, str) else str(when)
                self.assertIn(shown, str(caught.exception))
                with self.assertRaises(worm.InputError):
                    store.put_retention(f"{prefix}/text", "COMPLIANCE", when)
        self.assertEqual([o["key"] for o in store.list_all(f"{prefix}/bad")], [])


class LocalStoreRetentionDates(RetentionDatesMixin, unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-py-dates-"))

    def tearDown(self):
        for root, dirs, files in os.walk(self.dir):  # stored files are read-only
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o700)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_far_dates_round_trip_and_unrepresentable_ones_are_refused(self):
        store = worm.open_store(f"file://{self.dir}/store")
        self.check_far_dates(store, "local")
        self.check_refused(store, "local")


class S3RetentionDates(RetentionDatesMixin, MotoEnvCase):
    auth = False
    bucket = "far-dates"

    def test_far_dates_round_trip_and_boto3_reads_the_same_date(self):
        store = worm.open_store("s3://far-dates")
        self.check_far_dates(store, "s3")
        self.check_refused(store, "s3")
        # The reference client reads what libworm sent in x-amz-object-lock-retain-until-date.
        head = self.server.boto3().head_object(Bucket="far-dates", Key="s3/far-3")
        self.assertEqual(head["ObjectLockRetainUntilDate"], FAR_DATES[3])


if __name__ == "__main__":
    unittest.main()
