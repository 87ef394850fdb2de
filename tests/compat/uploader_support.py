"""Helpers for the seed 000 and 001 compatibility tests: a clean WORM_* environment, signed
bundles to upload, and one moto_server per test class with the seeds' buckets."""

import contextlib
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from worm_test_support import MotoServer, incident_inputs, worm

# Variables the seeds' agents read; every test starts without them.
_AGENT_VARIABLES = ("WORM_", "MCP_", "MSP_WORM_")


@contextlib.contextmanager
def environ(**values):
    """os.environ without any WORM_*/MCP_*/MSP_WORM_* variable, plus values (None: unset),
    restored afterwards: the snippets read the process environment, as the agents do."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(_AGENT_VARIABLES)]:
        del os.environ[name]
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def seed_bundle(name="backup-success"):
    """A bundle dict as the agents hand to store_evidence (incident, runbook, execution,
    actions_taken, artifacts), from examples/data."""
    sections = incident_inputs(name)
    sections["actions_taken"] = sections.pop("actions")
    return sections


def signed_bundles(evidence_dir, count, client_id="client-001"):
    """count bundles signed into evidence_dir, nothing uploaded: [(bundle_path, sig_path)]."""
    pipeline = worm.EvidencePipeline(client_id, evidence_dir, config=worm.WormConfig(), enable_worm=False,
                                     durable=False)
    return [pipeline.process_incident(**incident_inputs()) for _ in range(count)]


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-compat-"))
        self.addCleanup(shutil.rmtree, self.dir, True)


class MotoCase(TempDirCase):
    """One moto_server for the class (any credentials accepted) and its endpoint in the
    environment the snippets read. Every test gets buckets of its own (the bundles of each
    test have the same ids, and locked objects cannot be removed between tests): the seed's
    name the first time it is asked for, then the name with a number."""

    @classmethod
    def setUpClass(cls):
        cls.server = MotoServer(auth=False).start()
        cls.addClassCleanup(cls.server.cleanup)
        cls.created = set()

    def bucket(self, name, object_lock=True):
        """A new bucket named after name (with Object Lock unless object_lock=False)."""
        n, unique = 1, name
        while unique in self.created:
            n += 1
            unique = f"{name}-{n}"
        self.created.add(unique)
        if object_lock:
            self.server.boto3().create_bucket(Bucket=unique, ObjectLockEnabledForBucket=True)
        else:
            self.server.boto3().create_bucket(Bucket=unique)
        return unique

    def moto_env(self, **values):
        """environ() with the moto endpoint and credentials, plus values."""
        return environ(**{**self.server.env(), **values})
