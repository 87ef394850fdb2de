"""examples/cloudformation/ (seed 002's storage, replica and monitoring stacks): moto's
CloudFormation creates each stack (CREATE_COMPLETE, the outputs seed 002's step 2 reads), and
every bucket property of the templates is held against the rules `worm bucket setup` applies
(`--print-rules`, for every RetentionYears the template allows), so the two cannot drift.
moto applies only some bucket properties (encryption), so the properties are compared as
written, not as moto stored them."""

import json
import os
import subprocess
import unittest
from pathlib import Path

import boto3

from test_aws_monitoring import load_template
from worm_test_support import MotoServer, worm_cli

TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "cloudformation"
# The options the templates document (worm-storage.yaml's header).
SETUP_OPTIONS = ["--prefix", "", "--transition-days", "90", "--storage-class", "GLACIER"]


class StacksCreateTest(unittest.TestCase):
    def test_moto_creates_the_three_stacks_with_their_outputs(self):
        server = MotoServer(auth=False).start()
        try:
            kw = dict(endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)

            def create(region, name, template, **params):
                cf = boto3.client("cloudformation", region_name=region, **kw)
                cf.create_stack(StackName=name, TemplateBody=(TEMPLATES / template).read_text(),
                                Capabilities=["CAPABILITY_NAMED_IAM"],
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
                stack = cf.describe_stacks(StackName=name)["Stacks"][0]
                self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE", stack.get("StackStatusReason"))
                return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

            create("us-west-2", "firemode-worm-replica-prod", "worm-replica.yaml", Env="prod")
            storage = create("us-east-1", "firemode-worm-storage-prod", "worm-storage.yaml", Env="prod",
                             RetentionYears="7", BackupRegion="us-west-2")
            monitoring = create("us-east-1", "firemode-worm-monitoring-prod", "worm-monitoring.yaml", Env="prod")
            self.assertEqual(storage["EvidenceBucketName"], "firemode-evidence-worm-prod")
            self.assertEqual(storage["ReportsBucketName"], "firemode-reports-worm-prod")
            self.assertEqual(monitoring["AlertsTopicArn"], "arn:aws:sns:us-east-1:123456789012:firemode-worm-alerts-prod")

            s3 = boto3.client("s3", region_name="us-east-1", **kw)
            names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
            self.assertTrue({"firemode-evidence-worm-prod", "firemode-reports-worm-prod",
                             "firemode-evidence-worm-prod-us-west-2"} <= names, names)
            sse = s3.get_bucket_encryption(Bucket="firemode-evidence-worm-prod")
            self.assertEqual(sse["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
                             ["SSEAlgorithm"], "AES256")
            sns = boto3.client("sns", region_name="us-east-1", **kw)
            self.assertIn(monitoring["AlertsTopicArn"], [t["TopicArn"] for t in sns.list_topics()["Topics"]])
            iam = boto3.client("iam", region_name="us-east-1", **kw)
            self.assertEqual(iam.get_role(RoleName="firemode-worm-replication-prod")["Role"]["Arn"],
                             storage["ReplicationRoleArn"])
        finally:
            server.cleanup()


def substitute(value, names):
    """Resolves the !Sub / !Ref forms the bucket policies use to the bucket's name."""
    if isinstance(value, dict) and set(value) == {"Sub"}:
        text = value["Sub"]
        for ref, name in names.items():
            text = text.replace("${" + ref + "}", name)
        return text
    if isinstance(value, dict):
        return {k: substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    return value


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class TemplateMatchesSetupRulesTest(unittest.TestCase):
    def rules(self, bucket, years):
        env = {k: v for k, v in os.environ.items() if k != "WORM_RETENTION_YEARS"}
        out = subprocess.run([worm_cli(), "bucket", "setup", "--store", bucket, "--retention-years", str(years),
                              *SETUP_OPTIONS, "--print-rules"], capture_output=True, text=True, env=env, check=True)
        return json.loads(out.stdout)

    def buckets(self):
        """(template, logical id, properties, policy statements) of every bucket."""
        for name in ("worm-storage.yaml", "worm-replica.yaml"):
            t = load_template(name)
            for logical, res in t["Resources"].items():
                if res["Type"] != "AWS::S3::Bucket":
                    continue
                policies = [p["Properties"]["PolicyDocument"] for p in t["Resources"].values()
                            if p["Type"] == "AWS::S3::BucketPolicy" and p["Properties"]["Bucket"] == {"Ref": logical}]
                self.assertEqual(len(policies), 1, f"{name} {logical}: one bucket policy")
                yield t, logical, res["Properties"], policies[0]

    def test_every_bucket_property_is_what_setup_applies(self):
        seen = 0
        for template, logical, props, policy in self.buckets():
            seen += 1
            allowed = template["Parameters"]["RetentionYears"]
            for years in range(allowed["MinValue"], allowed["MaxValue"] + 1):
                with self.subTest(bucket=logical, years=years):
                    name = f"firemode-{logical.lower()}-{years}"
                    rules = self.rules(name, years)
                    self.assertEqual(props["ObjectLockEnabled"], rules["object_lock"]["enabled"])
                    self.assertEqual(props["ObjectLockConfiguration"]["ObjectLockEnabled"], "Enabled")
                    retention = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
                    self.assertEqual(retention["Mode"], rules["object_lock"]["mode"])
                    self.assertEqual(retention["Years"], {"Ref": "RetentionYears"})
                    self.assertEqual(rules["object_lock"]["years"], years)
                    self.assertEqual(props["VersioningConfiguration"]["Status"], rules["versioning"])
                    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    self.assertEqual(sse, [{"ServerSideEncryptionByDefault":
                                            {"SSEAlgorithm": rules["encryption"]["algorithm"]}}])
                    self.assertEqual(props["PublicAccessBlockConfiguration"], rules["public_access_block"])
                    self.assertEqual(substitute(policy, {logical: name}), rules["bucket_policy"])
                    if "LifecycleConfiguration" in props:
                        [rule] = props["LifecycleConfiguration"]["Rules"]
                        lc = rules["lifecycle"]
                        self.assertEqual(rule["Id"], lc["id"])
                        self.assertEqual(rule["Status"], "Enabled")
                        self.assertEqual(rule["Prefix"], lc["prefix"])
                        self.assertEqual(rule["Transitions"], [{"TransitionInDays": t["days"],
                                                                "StorageClass": t["storage_class"]}
                                                               for t in lc["transitions"]])
                        mapping = template["Mappings"]["RetentionPeriod"][years]["ExpireAfterDays"]
                        for found in (rule["ExpirationInDays"], rule["NoncurrentVersionExpiration"]["NoncurrentDays"]):
                            self.assertEqual(found, {"FindInMap": ["RetentionPeriod", {"Ref": "RetentionYears"},
                                                                   "ExpireAfterDays"]})
                        self.assertEqual(mapping, lc["expiration_days"])
                        self.assertEqual(mapping, lc["noncurrent_version_expiration_days"])
                    else:
                        self.assertEqual(logical, "EvidenceReplicaBucket")  # the replica only stores
        self.assertEqual(seen, 3)

    def test_replication_role_is_what_setup_prints(self):
        out = subprocess.run([worm_cli(), "bucket", "setup", "--store", "firemode-evidence-worm-dev", "--replicate-to",
                              "s3://firemode-evidence-worm-dev-us-west-2", "--replication-role",
                              "arn:aws:iam::123456789012:role/firemode-worm-replication-dev",
                              "--print-replication-policy"], capture_output=True, text=True, check=True)
        printed = json.loads(out.stdout)
        role = load_template("worm-storage.yaml")["Resources"]["ReplicationRole"]["Properties"]
        [policy] = role["Policies"]
        written = substitute(policy["PolicyDocument"], {"Env": "dev", "BackupRegion": "us-west-2"})
        self.assertEqual(written, printed)
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"], {"Service": "s3.amazonaws.com"})


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class ReplicationSetupTest(unittest.TestCase):
    """`worm bucket setup --replicate-to` writes the replication rule (read back with boto3),
    prints the role's policy, changes nothing the second time, and refuses a missing replica."""

    def test_replication_rule_is_applied_once(self):
        server = MotoServer(auth=True).start()
        try:
            s3 = server.boto3()
            s3.create_bucket(Bucket="replica-us-west-2", ObjectLockEnabledForBucket=True)
            env = dict(os.environ, **server.env())
            role = "arn:aws:iam::123456789012:role/worm-replication"
            # The whole bucket, as worm-storage.yaml replicates (moto 5.2.1 answers every rule's
            # Filter with an empty Prefix, so a prefixed rule would read back as not applied).
            cmd = [worm_cli(), "bucket", "setup", "--store", "firemode-evidence", "--no-tls-policy",
                   "--replicate-to", "s3://replica-us-west-2", "--replication-role", role, "--prefix", ""]
            first = subprocess.run(cmd, capture_output=True, text=True, env=env)
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertRegex(first.stdout, r"replication\s+created")
            self.assertIn("replication role " + role + " needs this policy:", first.stdout)
            config = s3.get_bucket_replication(Bucket="firemode-evidence")["ReplicationConfiguration"]
            self.assertEqual(config["Role"], role)
            [rule] = config["Rules"]
            self.assertEqual((rule["ID"], rule["Status"], rule["Destination"]["Bucket"]),
                             ("worm-replica", "Enabled", "arn:aws:s3:::replica-us-west-2"))
            self.assertEqual(rule["Filter"].get("Prefix", ""), "")
            second = subprocess.run(cmd, capture_output=True, text=True, env=env)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertRegex(second.stdout, r"replication\s+already right")

            missing = subprocess.run(cmd[:6] + ["--replicate-to", "s3://no-such-replica", "--replication-role", role,
                                                "--prefix", ""],
                                     capture_output=True, text=True, env=env)
            self.assertEqual(missing.returncode, 3)
            self.assertIn("replica bucket no-such-replica does not exist", missing.stderr)
            no_role = subprocess.run(cmd[:8], capture_output=True, text=True, env=env)
            self.assertEqual(no_role.returncode, 2)
            self.assertIn("replication needs both", no_role.stderr)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
