"""Helpers for the Python tests of the worm module: paths, free ports, a moto_server peer."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("WORM_SOURCE_DIR", HERE.parent.parent))
SHARED_DIR = Path(os.environ.get("WORM_SHARED_DIR", SOURCE_DIR.parent / "shared"))
TESTDATA = SHARED_DIR / "testdata"
EXAMPLE_DATA = SOURCE_DIR / "examples" / "data"
SECTIONS = ("incident", "runbook", "execution", "actions", "artifacts")

# The module under test. A build with WORM_BUILD_PYTHON=OFF has no module: the tests then
# report one skip each instead of failing. A module that was built but does not import fails.
try:
    import worm
except ImportError:
    if (Path(os.environ.get("WORM_BINARY_DIR", "/nonexistent")) / "python" / "worm").is_dir():
        raise
    worm = None


def load_tests_unless_missing(loader, tests, pattern):
    """unittest's load_tests hook: one skipped test when the module was not built."""
    if worm is not None:
        return tests

    class ModuleNotBuilt(unittest.TestCase):
        @unittest.skip("worm Python module not built (WORM_BUILD_PYTHON=OFF)")
        def test_module(self):
            pass

    return unittest.TestSuite([ModuleNotBuilt("test_module")])


def worm_cli():
    """The worm CLI built with the module (ctest sets WORM_CLI), or None."""
    path = os.environ.get("WORM_CLI")
    if path and os.path.exists(path):
        return path
    guess = SOURCE_DIR / "build" / "worm"
    return str(guess) if guess.exists() else None


def incident_inputs(name="backup-success"):
    """The sample incident sections in examples/data/<name> as dicts."""
    return {s: json.loads((EXAMPLE_DATA / name / f"{s}.json").read_text()) for s in SECTIONS}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto_server on a loopback port, verifying SigV4 (INITIAL_NO_AUTH_ACTION_COUNT=3: the
    IAM user and key are created with the 3 free calls). Stopped by PID; restartable on the
    same port (its state is lost, as after a real outage of a fresh server)."""

    def __init__(self, auth=True):
        self.auth = auth  # False: moto accepts any credentials (survives restarts)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_dir = tempfile.mkdtemp(prefix="worm-moto-")
        self.process = None
        self.access_key = self.secret_key = None

    def start(self):
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        if self.auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        log = open(os.path.join(self.log_dir, "moto.log"), "ab")
        self.process = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        for _ in range(300):  # up to 30 s on a busy machine
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited; see {self.log_dir}/moto.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        if self.auth:
            self._create_user()
        else:
            self.access_key, self.secret_key = "AKIDMOTOANYKEY", "any-secret"
        return self

    def _create_user(self):
        import boto3
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="worm-py")
        iam.put_user_policy(UserName="worm-py", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="worm-py")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]

    def stop(self):
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, 9)
                self.process.wait()
        self.process = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def env(self):
        """Environment for libworm and boto3 to talk to this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL_S3": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": "us-east-1", "WORM_S3_ADDRESSING": "path"}

    def boto3(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(s3={"addressing_style": "path"}))


class MotoEnvCase(unittest.TestCase):
    """A test class with one moto server for all its tests, named by the process environment
    (AWS_* and the endpoint) while it runs, and a lock-enabled bucket `bucket`. Set `auth`
    and `bucket` in the subclass."""
    auth = True
    bucket = "evidence"

    @classmethod
    def setUpClass(cls):
        import worm
        cls.server = MotoServer(auth=cls.auth).start()
        cls.saved_env = {k: os.environ.get(k) for k in cls.server.env()}
        os.environ.update(cls.server.env())
        worm.S3Client(endpoint=cls.server.endpoint).create_bucket(cls.bucket, object_lock=True)

    @classmethod
    def tearDownClass(cls):
        for k, v in cls.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        cls.server.cleanup()


class MotoAwsCase(unittest.TestCase):
    """A test class with one signature-checking moto server for all its tests (`server`),
    boto3 clients for it (`aws("s3")`, `aws("cloudwatch")`, ...), and a fresh temporary
    directory per test (`dir`). Subclasses create their buckets and topics in setUpClass
    after calling super()."""

    @classmethod
    def setUpClass(cls):
        cls.server = MotoServer(auth=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def aws(cls, service):
        import boto3
        return boto3.client(service, endpoint_url=cls.server.endpoint, region_name="us-east-1",
                            aws_access_key_id=cls.server.access_key, aws_secret_access_key=cls.server.secret_key)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()
