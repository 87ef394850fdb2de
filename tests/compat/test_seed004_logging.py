"""Seed 004 (WORM audit-log handler for Python logging): every documented snippet, copied as
the seed writes it with only the imports adjusted to ``worm``, run against moto.

The seed's ``shared.logging_config`` and ``shared.handlers.worm_log_handler`` are both
``worm.logging``. The bucket setup script (``s3_worm_setup.py``) is ``worm bucket setup
--profile audit-logs``, tested with the bucket commands. docs/compat.md has the table.
"""

import datetime
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import unittest
from pathlib import Path

from stderr_capture import CapturedStderr
from worm_test_support import MotoEnvCase, load_tests_unless_missing as load_tests, worm  # noqa: F401

if worm is not None:
    from worm.logging import WORMLogHandler  # for finding the handler a snippet added

BUCKET = "your-audit-logs-bucket"
# The seed's object key: {AWS_S3_PREFIX}/YYYY/MM/DD/{request_id}-{uuid4}.json
SEED_KEY = re.compile(r"^audit-logs/\d{4}/\d{2}/\d{2}/(?P<rid>.+)-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                      r"[89ab][0-9a-f]{3}-[0-9a-f]{12}\.json$")


class Seed004Case(MotoEnvCase):
    auth = True
    bucket = BUCKET

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="worm-compat-004-"))
        self.saved = {k: os.environ.get(k) for k in ("AWS_S3_BUCKET", "AWS_S3_PREFIX", "ENABLE_WORM_LOGGING",
                                                      "LOG_LEVEL", "WORM_LOG_JOURNAL_DIR")}
        os.environ["WORM_LOG_JOURNAL_DIR"] = str(self.tmp / "journal")
        self.s3 = self.server.boto3()
        self.loggers = []
        self.before = set()  # the class shares one bucket: earlier tests' (locked) objects are not ours
        self.before = set(self.objects(""))

    def tearDown(self):
        for logger in self.loggers:
            for h in list(logger.handlers):
                logger.removeHandler(h)
                h.close()
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(self.tmp, ignore_errors=True)

    def track(self, logger):
        logger.propagate = False
        self.loggers.append(logger)
        return logger

    def worm_handler(self, logger):
        return next(h for h in logger.handlers if isinstance(h, WORMLogHandler))

    def objects(self, prefix="audit-logs"):  # moto refuses the signature of a listing prefix ending in '/'

        out = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
            out += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        return [o for o in out if o not in self.before]

    def batches(self, prefix="audit-logs"):
        return sorted(k for k, _ in self.objects(prefix) if k.endswith(".jsonl"))

    def records(self, prefix="audit-logs"):
        out = []
        for key in self.batches(prefix):
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
            out += [json.loads(line) for line in body.splitlines()]
        return out


class ConfigurationTest(Seed004Case):
    def test_environment_variables(self):
        # The seed's "Environment Variables" block, as the process environment.
        os.environ.update({"AWS_S3_BUCKET": "your-audit-logs-bucket", "AWS_REGION": "us-east-1",
                           "AWS_S3_PREFIX": "audit-logs", "ENABLE_WORM_LOGGING": "true", "LOG_LEVEL": "INFO"})
        from worm.logging import configure_logging
        logger = self.track(configure_logging("env_service"))
        logger.debug("below LOG_LEVEL")
        logger.info("kept", extra={"request_id": "req-env"})
        self.assertTrue(self.worm_handler(logger).flush(timeout=30))
        messages = [r["message"] for r in self.records()]
        self.assertEqual(messages, ["WORM audit logging enabled", "kept"])


class UsageExamplesTest(Seed004Case):
    def test_1_enable_worm_logging_in_service(self):
        os.environ["AWS_S3_BUCKET"] = BUCKET
        from worm.logging import configure_logging

        # Automatic WORM enabling via environment variable
        os.environ['ENABLE_WORM_LOGGING'] = 'true'
        logger = configure_logging('my_service')
        self.track(logger)
        self.assertTrue(self.worm_handler(logger).flush(timeout=30))

        # Manual WORM configuration
        os.environ.pop('ENABLE_WORM_LOGGING')
        logger = configure_logging('my_service', enable_worm=True)
        self.assertEqual(sum(isinstance(h, WORMLogHandler) for h in logger.handlers), 1)  # not a second one
        fresh = self.track(configure_logging('my_other_service', enable_worm=True))
        fresh.info("manual", extra={"request_id": "req-manual"})
        self.assertTrue(self.worm_handler(fresh).flush(timeout=30))
        services = {r["service_name"] for r in self.records()}
        self.assertEqual(services, {"my_service", "my_other_service"})

    def test_2_add_worm_to_existing_logger(self):
        existing_logger = self.track(logging.getLogger("existing"))
        existing_logger.setLevel(logging.INFO)
        from worm.logging import configure_worm_logging

        # Add WORM capability to existing logger
        worm_handler = configure_worm_logging(
            logger=existing_logger,
            service_name='my_service',
            s3_bucket='your-audit-logs-bucket',
            compliance_mode=True
        )
        existing_logger.info("existing logger, now in WORM", extra={"request_id": "req-2"})
        self.assertTrue(worm_handler.flush(timeout=30))
        self.assertEqual([r["message"] for r in self.records()],
                         ["WORM audit logging enabled", "existing logger, now in WORM"])
        head = self.s3.head_object(Bucket=BUCKET, Key=self.batches()[0])
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")  # compliance_mode is the preset

    def test_3_factory_methods(self):
        from worm.logging import WORMLogHandlerFactory

        # Compliance-optimized handler (7-year retention, frequent uploads)
        compliance_handler = WORMLogHandlerFactory.create_compliance_handler(
            service_name='my_service',
            s3_bucket='your-audit-logs-bucket',
            retention_years=7
        )

        # High-volume optimized handler (warnings only, larger batches)
        volume_handler = WORMLogHandlerFactory.create_high_volume_handler(
            service_name='my_service',
            s3_bucket='your-audit-logs-bucket'
        )
        logger = self.track(logging.getLogger("factories"))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(compliance_handler)
        logger.addHandler(volume_handler)
        logger.info("routine")
        logger.warning("unusual")
        self.assertTrue(compliance_handler.flush(timeout=30) and volume_handler.flush(timeout=30))
        # Performance Characteristics: compliance 5 logs per batch / 15 s, high volume 50 / 60 s
        self.assertEqual(compliance_handler.stats()["accepted"], 2)
        self.assertEqual(volume_handler.stats()["accepted"], 1)
        self.assertEqual(volume_handler.level, logging.WARNING)
        for key in self.batches():
            head = self.s3.head_object(Bucket=BUCKET, Key=key)
            self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
            days = (head["ObjectLockRetainUntilDate"] - datetime.datetime.now(datetime.timezone.utc)).days
            self.assertIn(days, (2555, 2556))  # 2557 days from the moment of the PUT


class ObjectStructureTest(Seed004Case):
    def test_object_key_format_content_and_metadata(self):
        # {AWS_S3_PREFIX}/YYYY/MM/DD/{request_id}-{uuid4}.json, one record per object, with the
        # seed's content and metadata: layout="per-record" (batches stay the default).
        from worm.logging import WORMLogHandlerFactory
        handler = WORMLogHandlerFactory.create_compliance_handler(
            service_name='camera_service', s3_bucket='your-audit-logs-bucket', layout="per-record")
        logger = self.track(logging.getLogger("camera_service"))
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.info("Motion detected in camera cam001", extra={
            "request_id": "req-12345-abcde", "user_id": "user123", "camera_id": "cam001",
            "action": "motion_detected", "confidence": 0.92, "detection_count": 3})
        logger.info("second", extra={"request_id": "req-67890"})
        with CapturedStderr() as err:
            self.assertTrue(handler.flush(timeout=30))
        keys = sorted(k for k, _ in self.objects() if "/checkpoints/" not in k)
        self.assertEqual(len(keys), 2, keys)
        for key in keys:
            self.assertRegex(key, SEED_KEY)
        key = next(k for k in keys if SEED_KEY.match(k).group("rid") == "req-12345-abcde")
        record = json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        for name in ("timestamp", "level", "service_name", "request_id", "user_id", "camera_id", "action", "message",
                     "logger_name", "module", "function", "line", "confidence", "detection_count"):
            self.assertIn(name, record)
        self.assertEqual((record["level"], record["service_name"], record["confidence"]),
                         ("INFO", "camera_service", 0.92))
        self.assertRegex(record["timestamp"], r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
        meta = self.s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]
        # moto_server (werkzeug) drops header names with '_': the handler falls back to '-'
        # and says so once; S3 and the local store keep the seed's names (test below).
        self.assertIn("refuses metadata names with '_'", err.text)
        self.assertEqual(meta["service-name"], "camera_service")
        self.assertEqual(meta["request-id"], "req-12345-abcde")
        self.assertEqual(meta["log-level"], "INFO")
        self.assertEqual(meta["timestamp"], record["timestamp"])
        self.assertIn("worm-handler-version", meta)
        from worm.logging import verify_audit_log
        self.assertTrue(verify_audit_log("s3://" + BUCKET)["valid"])

    def test_object_metadata_under_the_seed_names(self):
        from worm.logging import WORMLogHandler
        store = worm.open_store("file://" + str(self.tmp / "store"))
        handler = WORMLogHandler("camera_service", store, batch_size=1, retention_days=0)
        logger = self.track(logging.getLogger("camera_service.meta"))
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.info("Motion detected", extra={"request_id": "req-12345-abcde"})
        self.assertTrue(handler.flush(timeout=30))
        key = next(o["key"] for o in store.list_all("audit-logs/") if o["key"].endswith(".jsonl"))
        meta = store.head(key)["metadata"]
        self.assertEqual(meta["service_name"], "camera_service")
        self.assertEqual(meta["request_id"], "req-12345-abcde")
        self.assertEqual(meta["log_level"], "INFO")
        self.assertRegex(meta["timestamp"], r"^\d{4}-\d{2}-\d{2}T")
        self.assertEqual(meta["worm_handler_version"], worm.logging.HANDLER_VERSION)


class ObjectLockTest(Seed004Case):
    def test_governance_2557_days_allows_bypass_delete(self):
        # "Mode: GOVERNANCE (allows bypass with special permissions)", "Retention: 2557 days".
        os.environ.update({"AWS_S3_BUCKET": BUCKET, "ENABLE_WORM_LOGGING": "true"})
        from worm.logging import configure_logging
        logger = self.track(configure_logging("bypass_service"))
        logger.info("to be erased under GDPR", extra={"request_id": "req-gdpr"})
        self.assertTrue(self.worm_handler(logger).flush(timeout=30))
        key, version = next((k, v) for k, v in self.objects() if k.endswith(".jsonl"))
        head = self.s3.head_object(Bucket=BUCKET, Key=key)
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        with self.assertRaises(Exception):  # locked: no plain delete of the version
            self.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
        self.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True)
        self.assertNotIn((key, version), self.objects())

    def test_compliance_only_when_asked(self):
        from worm.logging import WORMLogHandlerFactory
        handler = WORMLogHandlerFactory.create_compliance_handler(
            service_name='my_service', s3_bucket='your-audit-logs-bucket', lock_mode="COMPLIANCE")
        logger = self.track(logging.getLogger("asked"))
        logger.addHandler(handler)
        logger.warning("locked for good")
        self.assertTrue(handler.flush(timeout=30))
        key, version = next((k, v) for k, v in self.objects() if k.endswith(".jsonl"))
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key=key)["ObjectLockMode"], "COMPLIANCE")
        with self.assertRaises(Exception):
            self.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True)


class RetryTest(Seed004Case):
    def test_max_retries_reports_a_failing_batch_and_keeps_its_records(self):
        # "Max Retries: 3 by default (configurable)"; a bucket that does not exist yet.
        from worm.logging import WORMLogHandlerFactory
        handler = WORMLogHandlerFactory.create_compliance_handler(
            service_name='my_service', s3_bucket='not-created-yet', max_retries=2)
        logger = self.track(logging.getLogger("retry"))
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        with CapturedStderr() as err:
            for n in range(5):
                logger.info("kept", extra={"n": n})
            self.assertFalse(handler.flush(timeout=2))
        s = handler.stats()
        self.assertEqual(s["batches_failed"], 1)
        self.assertGreaterEqual(s["batches_retried"], 2)
        self.assertEqual((s["accepted"], s["queued"]), (5, 5))
        self.assertEqual(len([l for l in err.text.splitlines() if "failed 2 attempts" in l]), 1, err.text)
        worm.S3Client(endpoint=self.server.endpoint).create_bucket("not-created-yet", object_lock=True)
        self.assertTrue(handler.flush(timeout=30))  # never dropped: stored once the bucket is there
        self.assertEqual(handler.stats()["stored"], 5)


class MonitoringTest(Seed004Case):
    def test_success_indicators(self):
        # grep "WORM audit logging enabled" application.log; aws s3 ls s3://.../audit-logs/ --recursive
        os.environ.update({"AWS_S3_BUCKET": BUCKET, "ENABLE_WORM_LOGGING": "true"})
        from worm.logging import configure_logging
        with CapturedStderr() as err:
            logger = self.track(configure_logging("monitored_service"))
            self.assertTrue(self.worm_handler(logger).flush(timeout=30))
        self.assertIn("WORM audit logging enabled", err.text)
        self.assertTrue(any(k.startswith("audit-logs/") for k, _ in self.objects()))

    def test_debug_logging(self):
        import logging
        logging.getLogger('shared.handlers.worm_log_handler').setLevel(logging.DEBUG)
        logging.getLogger('worm.logging').setLevel(logging.DEBUG)  # the libworm module's name
        self.assertEqual(logging.getLogger('worm.logging').level, logging.DEBUG)


class ManualTestAndMigrationTest(Seed004Case):
    def test_manual_test(self):
        from worm.logging import configure_logging
        import os

        os.environ['AWS_S3_BUCKET'] = 'your-audit-logs-bucket'  # the seed: 'your-test-bucket'
        os.environ['ENABLE_WORM_LOGGING'] = 'true'

        logger = configure_logging('test_service')
        logger.info('Test audit log', extra={
            'action': 'manual_test',
            'user_id': 'test_user'
        })
        self.track(logger)
        self.assertTrue(self.worm_handler(logger).flush(timeout=30))
        record = self.records()[-1]
        self.assertEqual((record["message"], record["action"], record["user_id"]),
                         ("Test audit log", "manual_test", "test_user"))

    def test_migration_no_change_needed(self):
        os.environ.update({"AWS_S3_BUCKET": BUCKET, "ENABLE_WORM_LOGGING": "true"})
        from worm.logging import configure_logging
        # After (no change needed if using environment variables)
        logger = configure_logging('my_service')
        self.track(logger)
        self.assertTrue(self.worm_handler(logger).flush(timeout=30))
        self.assertTrue(self.batches())


class TroubleshootingTest(Seed004Case):
    def test_slow_upload_performance_and_missing_entries(self):
        from worm.logging import WORMLogHandler
        # Increase batch size / upload interval; call handler.flush() and handler.close()
        handler = WORMLogHandler('my_service', 'your-audit-logs-bucket', batch_size=50, upload_interval=60)
        logger = self.track(logging.getLogger("troubleshooting"))
        logger.addHandler(handler)
        threads = [threading.Thread(target=lambda t=t: [logger.warning("w", extra={"t": t, "n": n})
                                                        for n in range(60)]) for t in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        handler.flush()
        handler.close()
        self.assertEqual(handler.stats()["stored"], 120)
        self.assertEqual(len(self.batches()), 3)  # 50 + 50 + the 20 that flush() sealed


if __name__ == "__main__":
    unittest.main()
