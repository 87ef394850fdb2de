"""EvidencePipeline.process_incidents and concurrent callers from Python
(docs/pipeline-durability.md): a batch writes what one-by-one writes, a bad item names its
index and writes nothing, threads and processes sharing a directory get unique ids."""
import concurrent.futures
import json
import multiprocessing
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from worm_test_support import load_tests_unless_missing as load_tests, worm, incident_inputs  # noqa: F401

# Fields that differ between two runs of the same incidents: when and under which id.
_PER_RUN = ("generated_at", "evidence_bundle_hash", "bundle_id")


def _content(path):
    bundle = json.loads(Path(path).read_text())
    return {k: v for k, v in bundle.items() if k not in _PER_RUN}


def _child(evidence_dir, key, out):
    p = worm.EvidencePipeline("clinic-001", evidence_dir=evidence_dir, private_key=key,
                              config=worm.WormConfig(enabled=False))
    ids = [p.process_incident(**incident_inputs())[0].stem for _ in range(2)]
    ids += [b.stem for b, _ in p.process_incidents([incident_inputs()] * 3)]
    Path(out).write_text("\n".join(ids))


class PipelineBatch(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-py-batch-"))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pipeline(self, name="evidence", **kwargs):
        return worm.EvidencePipeline("clinic-001", evidence_dir=self.dir / name, private_key=self.key(),
                                     config=worm.WormConfig(enabled=False), **kwargs)

    def key(self):
        keys = self.dir / "keys"
        if not (keys / "private.pem").exists():
            worm.generate_keys(os.fspath(keys))
        return keys / "private.pem"

    def test_batch_writes_what_one_by_one_writes(self):
        names = ["backup-success", "backup-failed", "backup-success"]
        one = self.pipeline("one")
        singles = [one.process_incident(**incident_inputs(n)) for n in names]
        batch = self.pipeline("batch")
        # actions_taken is accepted for actions, as in the seed's bundles.
        items = [dict(incident_inputs(n)) for n in names]
        items[1]["actions_taken"] = items[1].pop("actions")
        batched = batch.process_incidents(items)
        self.assertEqual([b.name for b, _ in batched], [b.name for b, _ in singles])
        for (b1, s1), (b2, s2) in zip(singles, batched):
            self.assertEqual(_content(b1), _content(b2))
            self.assertTrue(batch.verify(b2, s2))
        self.assertEqual([r["bundle_id"] for r in batch.last_results], [b.stem for b, _ in batched])
        self.assertEqual(batch.process_incidents([]), [])

    def test_bad_item_names_its_index_and_writes_nothing(self):
        p = self.pipeline()
        with self.assertRaises(worm.InputError) as ctx:
            p.process_incidents([incident_inputs(), {"incident": {"event_type": "x"}}])
        self.assertTrue(str(ctx.exception).startswith("incident #1: "), str(ctx.exception))
        with self.assertRaises(worm.InputError) as ctx:
            p.process_incidents([incident_inputs(), "not a dict"])
        self.assertIn("incident #1", str(ctx.exception))
        self.assertEqual(sorted((self.dir / "evidence").glob("EB-*")), [])

    def test_threads_share_one_pipeline(self):
        p = self.pipeline(durable=True)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: p.process_incident(**incident_inputs())[0].stem, range(24)))
        self.assertEqual(len(set(ids)), 24)
        self.assertEqual(sorted(b.stem for b in (self.dir / "evidence").glob("EB-*.json")), sorted(ids))

    def test_processes_share_one_directory(self):
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_child, args=(self.dir / "evidence", self.key(), self.dir / f"ids-{i}"))
                 for i in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(120)
            self.assertEqual(proc.exitcode, 0)
        ids = [i for n in range(4) for i in (self.dir / f"ids-{n}").read_text().split()]
        self.assertEqual(len(ids), 20)
        self.assertEqual(len(set(ids)), 20)

    def test_not_durable_still_writes_valid_bundles(self):
        p = self.pipeline(durable=False)
        bundle, sig = p.process_incident(**incident_inputs())
        self.assertTrue(p.verify(bundle, sig))


if __name__ == "__main__":
    unittest.main()
