"""worm.sigv4_sign and worm.presign_url against botocore, the reference signer.

A few hundred generated requests (methods, keys with spaces, unicode, + = & ~ %, empty
and repeated query parameters, lock and checksum headers, session tokens,
UNSIGNED-PAYLOAD) are signed by both at the same fixed time; every header must match.
"""

import datetime
import random
import unittest
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import botocore.config
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from worm_test_support import load_tests_unless_missing as load_tests, worm


WHEN = datetime.datetime(2026, 11, 22, 18, 14, 37, tzinfo=datetime.timezone.utc)
KEY_CHARS = ["a", "b", "Z", "0", " ", "+", "=", "&", "~", "%", "é", "日本", "-", "_", ".", "!",
             "*", "'", "(", ")", "@", "$", ",", ";", ":", "/", "?", "#", "[", "]"]
QUERY_NAMES = ["uploads", "versionId", "prefix", "list-type", "a b", "x+y", "k=v", "~t", "é", "max-keys"]
ENDPOINTS = ["http://127.0.0.1:9000", "https://b.s3.amazonaws.com", "https://s3.eu-west-1.amazonaws.com",
             "http://localhost:4566", "https://127.0.0.1:8443"]


def random_request(rng):
    method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
    key = "".join(rng.choice(KEY_CHARS) for _ in range(rng.randint(1, 12)))
    url = rng.choice(ENDPOINTS) + quote("/bucket/" + key, safe="/~")
    pairs = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(QUERY_NAMES)
        value = rng.choice(["", "1", "a b", "x+y=z&w", "~ok", "日本", "%", name])
        pairs.append((name, value))
    if pairs:
        url += "?" + "&".join(quote(n, safe="-_.~") + ("=" + quote(v, safe="-_.~") if v or rng.random() < 0.5 else "")
                              for n, v in pairs)
    headers = {}
    if rng.random() < 0.6:
        headers["Content-Type"] = rng.choice(["application/json", "text/plain; charset=utf-8"])
    if rng.random() < 0.4:
        headers["x-amz-object-lock-mode"] = rng.choice(["COMPLIANCE", "GOVERNANCE"])
        headers["x-amz-object-lock-retain-until-date"] = "2027-02-20T00:00:00.000Z"
    if rng.random() < 0.4:
        headers["x-amz-checksum-sha256"] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    if rng.random() < 0.3:
        headers["X-Amz-Meta-Note"] = "  several   spaces  inside  "
    if rng.random() < 0.2:
        headers["User-Agent"] = "agent/1.0"  # never signed, by either
    payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    token = rng.choice([None, None, "FQoGZXIvYXdzEJr//////////token+/="])
    unsigned = rng.random() < 0.25
    region = rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"])
    return method, url, headers, payload, token, unsigned, region


def botocore_sign(method, url, headers, payload, token, unsigned, region, access_key, secret_key):
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=payload)
    if unsigned:
        request.context["client_config"] = botocore.config.Config(s3={"payload_signing_enabled": False})
    auth = botocore.auth.S3SigV4Auth(Credentials(access_key, secret_key, token), "s3", region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        auth.add_auth(request)
    return request.headers


class SigV4AgainstBotocore(unittest.TestCase):
    access_key = "AKIDEXAMPLE"
    secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    def test_generated_requests_match_botocore(self):
        rng = random.Random(20261122)
        for i in range(400):
            method, url, headers, payload, token, unsigned, region = random_request(rng)
            if unsigned and url.startswith("http:"):
                unsigned = False  # botocore always signs payloads over plain http
            with self.subTest(i=i, method=method, url=url):
                expected = botocore_sign(method, url, headers, payload, token, unsigned, region,
                                         self.access_key, self.secret_key)
                got = worm.sigv4_sign(method, url, headers, payload, self.access_key, self.secret_key,
                                      region, amz_date=WHEN, session_token=token,
                                      unsigned_payload=unsigned)
                want = {k: expected[k] for k in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")}
                if token:
                    want["X-Amz-Security-Token"] = expected["X-Amz-Security-Token"]
                self.assertEqual(got, want)

    def test_amz_date_string_and_naive_datetime_mean_utc(self):
        args = ("PUT", "http://127.0.0.1:9000/b/k", {}, b"x", "AK", "SK", "us-east-1")
        a = worm.sigv4_sign(*args, amz_date="20261122T181437Z")
        b = worm.sigv4_sign(*args, amz_date=WHEN.replace(tzinfo=None))
        c = worm.sigv4_sign(*args, amz_date=WHEN)
        self.assertEqual(a, b)
        self.assertEqual(a, c)
        self.assertEqual(a["X-Amz-Date"], "20261122T181437Z")

    def test_a_changed_header_or_payload_changes_the_signature(self):
        base = worm.sigv4_sign("PUT", "http://h/b/k", {"x-amz-object-lock-mode": "COMPLIANCE"}, b"x",
                               "AK", "SK", "us-east-1", amz_date=WHEN)
        other_header = worm.sigv4_sign("PUT", "http://h/b/k", {"x-amz-object-lock-mode": "GOVERNANCE"}, b"x",
                                       "AK", "SK", "us-east-1", amz_date=WHEN)
        other_payload = worm.sigv4_sign("PUT", "http://h/b/k", {"x-amz-object-lock-mode": "COMPLIANCE"}, b"y",
                                        "AK", "SK", "us-east-1", amz_date=WHEN)
        self.assertNotEqual(base["Authorization"], other_header["Authorization"])
        self.assertNotEqual(base["Authorization"], other_payload["Authorization"])

    def test_secret_is_never_in_the_result_or_errors(self):
        got = worm.sigv4_sign("GET", "http://h/b/k", None, None, "AK", "TOPSECRET", "us-east-1")
        self.assertNotIn("TOPSECRET", repr(got))
        with self.assertRaises(worm.InputError) as caught:
            worm.sigv4_sign("GET", "ftp://h/b/k", None, None, "AK", "TOPSECRET", "us-east-1")
        self.assertNotIn("TOPSECRET", str(caught.exception))
        with self.assertRaises(worm.InputError) as caught:
            worm.sigv4_sign("GET", "http://h/b/k", None, None, "", "TOPSECRET", "us-east-1")
        self.assertNotIn("TOPSECRET", str(caught.exception))

    def test_presigned_urls_match_botocore(self):
        rng = random.Random(7)
        compared = 0
        for i in range(200):
            method, url, _, _, token, _, region = random_request(rng)
            names = [n for n, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
            if len(names) != len(set(names)):
                # botocore's presigner keeps only the last value of a repeated query
                # parameter (it builds a dict); SigV4 itself signs all of them, as worm does.
                continue
            expires = rng.choice([1, 60, 3600, 604800])
            with self.subTest(i=i, url=url):
                request = AWSRequest(method=method, url=url)
                auth = botocore.auth.S3SigV4QueryAuth(Credentials(self.access_key, self.secret_key, token),
                                                      "s3", region, expires=expires)
                with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
                    auth.add_auth(request)
                got = worm.presign_url(method, url, self.access_key, self.secret_key, region, expires=expires,
                                       amz_date=WHEN, session_token=token)
                want_parts, got_parts = urlsplit(request.url), urlsplit(got)
                self.assertEqual(got_parts.netloc, want_parts.netloc)
                self.assertEqual(got_parts.path, want_parts.path)
                self.assertEqual(sorted(parse_qsl(got_parts.query, keep_blank_values=True)),
                                 sorted(parse_qsl(want_parts.query, keep_blank_values=True)))
                compared += 1
        self.assertGreater(compared, 100)

    def test_presign_keeps_repeated_query_parameters(self):
        url = worm.presign_url("GET", "https://b.s3.amazonaws.com/k?a=1&a=2", "AK", "SK", "us-east-1",
                               amz_date=WHEN)
        self.assertEqual([v for n, v in parse_qsl(urlsplit(url).query) if n == "a"], ["1", "2"])

    def test_presign_matches_the_s3_documentation_example(self):
        # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
        url = worm.presign_url("GET", "https://examplebucket.s3.amazonaws.com/test.txt", "AKIAIOSFODNN7EXAMPLE",
                               "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", expires=86400,
                               amz_date="20130524T000000Z")
        self.assertTrue(url.endswith("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))

    def test_presign_expiry_is_bounded(self):
        with self.assertRaises(worm.InputError):
            worm.presign_url("GET", "https://b.s3.amazonaws.com/k", "AK", "SK", "us-east-1", expires=604801)
        with self.assertRaises(worm.InputError):
            worm.presign_url("GET", "https://b.s3.amazonaws.com/k", "AK", "SK", "us-east-1", expires=0)


if __name__ == "__main__":
    unittest.main()
