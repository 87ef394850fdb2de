"""Seed 002's monitoring on the services its operators read: `worm monitor` publishes its
counts to CloudWatch (PutMetricData, namespace FireMode/WORM, read back with list_metrics and
get_metric_statistics) and sends its alert to SNS (Publish, read back through an SQS queue
subscribed to the topic), through libworm's own SigV4 client: moto_server checks every
signature (IAM on). Also the monitor's worm_compliance_monitor_*.log, WORM_EVIDENCE_BUCKET as
the store (a bare bucket name), --env, and the alarms of examples/cloudformation/ watching
exactly the metrics and dimensions the monitor publishes."""

import datetime
import json
import os
import subprocess
import unittest
from pathlib import Path

import yaml

from worm_test_support import MotoAwsCase, free_port, worm_cli

TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "cloudformation"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) kept as {"Fn": value}."""


for _tag in ("Ref", "Sub", "GetAtt", "FindInMap"):
    CfnLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: {
        tag: loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_scalar(node)})


def load_template(name):
    return yaml.load((TEMPLATES / name).read_text(), Loader=CfnLoader)


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class CloudWatchSnsTest(MotoAwsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3, cls.cw, cls.sns, cls.sqs = (cls.aws(name) for name in ("s3", "cloudwatch", "sns", "sqs"))
        cls.s3.create_bucket(Bucket="firemode-evidence", ObjectLockEnabledForBucket=True)
        # One object without retention: the monitor's retention check fails.
        cls.s3.put_object(Bucket="firemode-evidence", Key="evidence/unlocked.json", Body=b"{}")
        cls.topic = cls.sns.create_topic(Name="firemode-worm-alerts-dev")["TopicArn"]
        queue_url = cls.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        cls.queue_url = queue_url
        queue_arn = cls.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        cls.sns.subscribe(TopicArn=cls.topic, Protocol="sqs", Endpoint=queue_arn)

    def monitor(self, *args, env=None):
        full = dict(os.environ)
        for k in ("WORM_ALERTS_TOPIC_ARN", "WORM_EVIDENCE_BUCKET", "WORM_CLOUDWATCH_NAMESPACE", "WORM_MONITOR_LOG_DIR"):
            full.pop(k, None)
        full.update(self.server.env())
        full.update(env or {})
        return subprocess.run([worm_cli(), "monitor", *args], capture_output=True, text=True, env=full, timeout=120)

    def alerts(self):
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not got.get("Messages"):
                return out
            for m in got["Messages"]:
                out.append(json.loads(m["Body"]))  # the SNS envelope
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def test_metrics_alert_and_log_as_seed_002_reads_them(self):
        self.alerts()  # start with an empty queue
        r = self.monitor("--env", "dev", "--cloudwatch", "--log-dir", str(self.dir), "--min-retention-days", "0",
                         env={"WORM_EVIDENCE_BUCKET": "firemode-evidence", "WORM_ALERTS_TOPIC_ARN": self.topic})
        self.assertEqual(r.returncode, 1, r.stderr)  # a check failed; every delivery worked
        summary = json.loads(r.stdout)
        self.assertEqual(summary["environment"], "dev")
        self.assertIn("retention_present", [c["check"] for c in summary["failed_checks"]])

        # CloudWatch: the metrics, in FireMode/WORM, with Environment=dev.
        listed = self.cw.list_metrics(Namespace="FireMode/WORM", Dimensions=[{"Name": "Environment", "Value": "dev"}])
        names = {m["MetricName"] for m in listed["Metrics"]}
        self.assertEqual(names, {"ComplianceCheckFailures", "RetentionViolations", "ExpiringObjects"})
        now = datetime.datetime.now(datetime.timezone.utc)
        stats = self.cw.get_metric_statistics(
            Namespace="FireMode/WORM", MetricName="RetentionViolations",
            Dimensions=[{"Name": "Environment", "Value": "dev"}], StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5), Period=3600, Statistics=["Sum"])
        self.assertEqual(sum(p["Sum"] for p in stats["Datapoints"]), 1.0)  # the one unlocked object
        failures = self.cw.get_metric_statistics(
            Namespace="FireMode/WORM", MetricName="ComplianceCheckFailures",
            Dimensions=[{"Name": "Environment", "Value": "dev"}], StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5), Period=3600, Statistics=["Sum"])
        self.assertEqual(sum(p["Sum"] for p in failures["Datapoints"]), float(len(summary["failed_checks"])))

        # SNS: environment, failed checks, summary, recommended actions.
        alerts = self.alerts()
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["TopicArn"], self.topic)
        self.assertEqual(alerts[0]["Subject"], "WORM compliance alert: dev")
        text = alerts[0]["Message"]
        for part in ("Environment: dev", "Failed checks:", "retention_present: 1 objects without retention",
                     "Summary:", "Recommended actions:", "worm retention set"):
            self.assertIn(part, text)

        # The log seed 002's runbook greps.
        logs = list(self.dir.glob("worm_compliance_monitor_*.log"))
        self.assertEqual(len(logs), 1, logs)
        log = logs[0].read_text()
        self.assertIn("Compliance Check Summary", log)
        self.assertIn("FAIL retention_present", log)
        self.assertIn("Sent compliance alert to SNS topic " + self.topic, log)
        self.assertIn("Published", log)

    def test_alarms_watch_what_the_monitor_publishes(self):
        r = self.monitor("--store", "s3://firemode-evidence", "--env", "staging", "--cloudwatch",
                         "--min-retention-days", "0")
        self.assertEqual(r.returncode, 1, r.stderr)
        published = {(m["MetricName"], json.dumps(m["Dimensions"]))
                     for m in self.cw.list_metrics(Namespace="FireMode/WORM")["Metrics"]}
        alarms = [res["Properties"] for res in load_template("worm-monitoring.yaml")["Resources"].values()
                  if res["Type"] == "AWS::CloudWatch::Alarm" and res["Properties"]["Namespace"] == "FireMode/WORM"]
        self.assertEqual({a["MetricName"] for a in alarms},
                         {"ComplianceCheckFailures", "RetentionViolations", "MigrationFailures"})
        for alarm in alarms:
            self.assertEqual(alarm["Dimensions"], [{"Name": "Environment", "Value": {"Ref": "Env"}}])
            if alarm["MetricName"] != "MigrationFailures":  # published by worm migrate
                self.assertIn((alarm["MetricName"], json.dumps([{"Name": "Environment", "Value": "staging"}])),
                              published)

    def test_missing_topic_is_reported_and_exit_3(self):
        missing = self.topic.rsplit(":", 1)[0] + ":no-such-topic"
        r = self.monitor("--store", "firemode-evidence", "--sns-topic", missing, "--min-retention-days", "0")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("SNS Publish failed", r.stderr)
        self.assertNotIn(self.server.secret_key, r.stderr + r.stdout)

    def test_malformed_topic_is_a_usage_error(self):
        r = self.monitor("--store", "firemode-evidence", "--sns-topic", "firemode-worm-alerts-dev")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not an SNS topic ARN", r.stderr)

    def test_unreachable_cloudwatch_still_alerts_and_exits_3(self):
        self.alerts()
        closed = f"http://127.0.0.1:{free_port()}"
        r = self.monitor("--store", "firemode-evidence", "--cloudwatch", "--sns-topic", self.topic,
                         "--min-retention-days", "0", env={"AWS_ENDPOINT_URL_CLOUDWATCH": closed,
                                                           "WORM_HTTP_CONNECT_TIMEOUT_MS": "2000"})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("publishing metrics to CloudWatch failed", r.stderr)
        self.assertEqual(len(self.alerts()), 1)  # the SNS alert went out all the same


if __name__ == "__main__":
    unittest.main()
