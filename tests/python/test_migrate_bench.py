"""bench/migrate_bench.py's own measuring: the per-tool request counts it reads from the
server's access log (a real moto_server, and a Ceph RGW beast access line as RGW writes
it), and how the rounds of a large run add up. No figure is asserted on: only that the
counting and the arithmetic are right.
"""
import os
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE = os.environ.get("WORM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "bench"))

import migrate_bench as mb  # noqa: E402


class RequestKinds(unittest.TestCase):
    def kind(self, line):
        m = mb.REQUEST_LINE.search(line)
        self.assertIsNotNone(m, line)
        return mb.request_kind(m.group(1), m.group(2))

    def test_rgw_beast_access_lines(self):
        # As radosgw 16.2 logs them at debug_rgw 1.
        prefix = "2026-11-26T19:50:01.123+0000 7f1c2a7fc700  1 beast: 0x7f1c2a7f5650: 127.0.0.1 - tester " \
                 "[26/Nov/2026:19:50:01.119 +0000] "
        self.assertEqual(self.kind(prefix + '"GET /small-src/obj-000001 HTTP/1.1" 200 4096 - "worm" - latency=0.002s'),
                         "GET object")
        self.assertEqual(self.kind(prefix + '"GET /small-src?list-type=2&prefix= HTTP/1.1" 200 9 - - -'),
                         "list objects")
        self.assertEqual(self.kind(prefix + '"PUT /l/big?partNumber=3&uploadId=2~x HTTP/1.1" 200 0 - - -'),
                         "upload part")
        self.assertEqual(self.kind(prefix + '"PUT /l/big?retention&versionId=abc HTTP/1.1" 200 0 - - -'),
                         "PUT object ?retention")
        self.assertEqual(self.kind(prefix + '"POST /l/big?uploadId=2~x HTTP/1.1" 200 0 - - -'),
                         "POST multipart upload (complete/abort/list parts)")
        self.assertEqual(self.kind(prefix + '"GET /l?object-lock HTTP/1.1" 200 0 - - -'), "GET bucket ?object-lock")


class CountsOnMoto(unittest.TestCase):
    def test_counts_what_the_client_sent_between_start_and_stop(self):
        with tempfile.TemporaryDirectory(prefix="worm-migrate-bench-test-") as tmp:
            server = mb.Moto(tmp)
            try:
                s3 = mb.boto(server)
                s3.create_bucket(Bucket="counted")
                s3.put_object(Bucket="counted", Key="before", Body=b"not counted")
                counter = mb.RequestCounter(server)
                counter.start()
                for i in range(3):
                    s3.put_object(Bucket="counted", Key=f"k{i}", Body=b"x" * i)
                s3.get_object(Bucket="counted", Key="k1")["Body"].read()
                s3.head_object(Bucket="counted", Key="k2")
                s3.list_objects_v2(Bucket="counted")
                s3.list_object_versions(Bucket="counted")
                upload = s3.create_multipart_upload(Bucket="counted", Key="big")["UploadId"]
                part = s3.upload_part(Bucket="counted", Key="big", UploadId=upload, PartNumber=1, Body=b"p")
                s3.complete_multipart_upload(Bucket="counted", Key="big", UploadId=upload, MultipartUpload={
                    "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
                try:
                    s3.head_object(Bucket="counted", Key="absent")
                except s3.exceptions.ClientError:
                    pass
                counts = counter.stop()
            finally:
                server.stop()
        self.assertEqual(counts, {
            "GET object": 1, "HEAD object": 1, "HEAD object -> 404": 1, "PUT object": 3, "list objects": 1,
            "list object versions": 1, "create multipart upload": 1, "upload part": 1,
            "POST multipart upload (complete/abort/list parts)": 1})


class Rounds(unittest.TestCase):
    def test_rounds_add_times_cpu_and_requests_and_keep_the_peak_rss(self):
        first = {"seconds": 2.0, "peak_rss_mib": 30.0, "client_cpu_s": 1.0, "server_cpu_s": 3.0,
                 "requests": {"GET object": 2, "PUT object": 2}}
        second = {"seconds": 1.0, "peak_rss_mib": 20.0, "client_cpu_s": 0.5, "server_cpu_s": 1.0,
                  "requests": {"GET object": 1, "HEAD object": 1}}
        total = mb.added(mb.added({}, first), second)
        self.assertEqual(total, {"seconds": 3.0, "peak_rss_mib": 30.0, "client_cpu_s": 1.5, "server_cpu_s": 4.0,
                                 "requests": {"GET object": 3, "HEAD object": 1, "PUT object": 2}})

    def test_a_run_on_one_peer_keeps_the_other_peers_results(self):
        def report(peer, date):
            return {"date": date, "cpus": 2, "load_avg": [1.0, 1.0, 1.0], "results": [{"peer": peer, "scenario": "small"}],
                    "floors": [{"peer": peer}], "runs": [mb.run_info({"date": date, "cpus": 2, "load_avg": [1.0]}, peer)]}

        merged = mb.with_other_peers(report("moto", "d2"), report("rgw", "d1"))
        self.assertEqual([r["peer"] for r in merged["results"]], ["moto", "rgw"])
        self.assertEqual([f["peer"] for f in merged["floors"]], ["moto", "rgw"])
        self.assertEqual([(r["peer"], r["date"]) for r in merged["runs"]], [("moto", "d2"), ("rgw", "d1")])
        again = mb.with_other_peers(report("moto", "d3"), merged)  # the same peer again replaces its own
        self.assertEqual([(r["peer"], r["date"]) for r in again["runs"]], [("moto", "d3"), ("rgw", "d1")])
        self.assertEqual(len(again["results"]), 2)

    def test_hash_floor_is_measured_per_digest_and_written_beside_a_large_result(self):
        floor = mb.hash_floor_ms(1 << 20, repeats=1)
        self.assertEqual(sorted(floor), ["md5", "sha256"])
        self.assertTrue(all(v >= 0 for v in floor.values()))
        side = {"seconds": 1.0, "peak_rss_mib": 20.0, "client_cpu_s": 0.2, "server_cpu_s": 0.1,
                "objects_per_s": 2.0, "mb_per_s": 134.0, "requests": {}}
        report = {"date": "d", "cpus": 2, "load_avg": [0.5], "floors": [], "results": [
            {"scenario": "large", "peer": "rgw", "objects": 2, "object_bytes": 64 << 20, "mode": "server-side",
             "worm_migrate": side, "aws_s3_sync": side, "ratio_objects_per_s": 1.0,
             "hash_floor_ms": {"sha256": 42.5, "md5": 100.25}}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "results.md"
            mb.update_results_md(report, path)
            text = path.read_text()
        self.assertIn("SHA-256 42.5 ms, MD5 100.2 ms", text)
        self.assertIn("their sum, 142.8 ms", text)


if __name__ == "__main__":
    unittest.main()
