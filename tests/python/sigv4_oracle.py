#!/usr/bin/env python3
"""botocore as the SigV4 oracle for tests/cpp/test_sigv4.cpp.

Generates COUNT random S3 requests (seeded, so a failure reproduces), signs each one with
botocore's S3SigV4Auth (Authorization header) or S3SigV4QueryAuth (presigned URL) at a
fixed time per case, and prints one JSON document: the raw inputs (unencoded path, raw
query pairs, extra headers, payload) and what botocore produced. The C++ test signs the
same inputs with libworm and compares.

Usage: sigv4_oracle.py COUNT SEED
"""
import datetime
import hashlib
import json
import random
import sys
import types
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY_PIECES = [
    "evidence", "my key", "a b  c", "plus+sign", "eq=ual", "amp&ersand", "tilde~",
    "per%cent", "%2F", "ünïcödé", "日本語", "ሴ", "emoji-\U0001F600", "dots..", ".", "..",
    "x/y", "", "(paren)", "star*", "quote'", "comma,semi;", "colon:at@", "dollar$",
    "hash#", "question?", "bang!", "back\\slash", "caret^", "pipe|", "brace{}", "tab\tx",
    "EB-20260301-0001.json", "2026/03/01",
]
QUERY_NAMES = ["uploads", "versionId", "prefix", "delimiter", "list-type", "partNumber",
               "uploadId", "retention", "legal-hold", "max-keys", "continuation-token",
               "weird name", "ünï", "a+b", "k=v", "amp&", "tilde~", "per%"]
QUERY_VALUES = ["", "", "1", "2", "evidence/", "/", "a b", "+", "=", "&", "~", "%", "%20",
                "ünïcödé", "日本", "x y+z=w&v", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"]
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"]
REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-2", "us-west-2"]
HOSTS = ["127.0.0.1:9000", "localhost:4566", "bucket.s3.amazonaws.com",
         "my.dotted.bucket.s3.eu-central-1.amazonaws.com", "s3.us-west-2.amazonaws.com", "[::1]:9000"]
TOKENS = ["", "", "FQoGZXIvYXdzEJr//////////wEaDKd+Tok/en=+", "IQoJb3JpZ2luX2VjEOz//session"]


def random_key(rng):
    parts = [rng.choice(KEY_PIECES) for _ in range(rng.randint(1, 4))]
    return "/".join(parts)


def random_headers(rng, presign):
    headers = []
    if rng.random() < 0.4:
        headers.append(("Content-Type", rng.choice(["application/json", "text/plain; charset=utf-8",
                                                    "application/octet-stream"])))
    if rng.random() < 0.3:
        headers.append(("x-amz-object-lock-mode", rng.choice(["COMPLIANCE", "GOVERNANCE"])))
        headers.append(("x-amz-object-lock-retain-until-date", "2026-06-01T00:00:00.000Z"))
    if rng.random() < 0.3:
        headers.append(("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="))
    if rng.random() < 0.3:
        headers.append(("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="))
    if rng.random() < 0.2:
        headers.append(("x-amz-meta-Client-Id", "  acme   corp  "))  # trimmed and folded
    if rng.random() < 0.15:
        headers.append(("x-amz-object-lock-legal-hold", "ON"))
    if rng.random() < 0.15:
        headers.append(("Range", "bytes=0-9"))
    if not presign and rng.random() < 0.15:
        # Repeated header: values joined with ',' in request order.
        headers.append(("X-Amz-Meta-Tag", "b"))
        headers.append(("x-amz-meta-tag", "a"))
    return headers


def random_query(rng, presign):
    query = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4])):
        query.append((rng.choice(QUERY_NAMES), rng.choice(QUERY_VALUES)))
    if presign:
        # botocore's presigner keeps only the first value of a repeated name (parse_qs + dict),
        # so repeated names are compared in header mode only.
        seen, unique = set(), []
        for name, value in query:
            if name not in seen:
                seen.add(name)
                unique.append((name, value))
        query = unique
    elif query and rng.random() < 0.3:
        query.append((query[0][0], rng.choice(QUERY_VALUES)))  # repeated name
    return query


def encoded_url(scheme, host, path, query):
    # An independent encoding (Python's quote), so botocore signs what a correct client sends.
    url = f"{scheme}://{host}{quote(path, safe='/~')}"
    if query:
        url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    return url


def sign_case(rng, index):
    presign = index % 4 == 3
    method = rng.choice(METHODS)
    host = rng.choice(HOSTS)
    path = "/" + ("bucket/" if rng.random() < 0.6 else "") + random_key(rng)
    query = random_query(rng, presign)
    headers = random_headers(rng, presign)
    token = rng.choice(TOKENS)
    region = rng.choice(REGIONS)
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=rng.randint(0, 365 * 86400))
    body = rng.choice([b"", b"hello", "Welcome to Amazon S3.".encode(), "ünï".encode()])
    if presign:
        body = b""  # a presigned URL knows no body (botocore would move a body into the query)
    unsigned = (not presign) and rng.random() < 0.25
    expires = rng.choice([1, 60, 3600, 86400, 604800])
    access_key = rng.choice(["AKIAIOSFODNN7EXAMPLE", "AKIDEXAMPLE", "minioadmin"])
    secret = rng.choice(["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "minio+admin/secret=", "s"])

    creds = Credentials(access_key, secret, token or None)
    scheme = "http"  # botocore signs the payload on http (on https it may skip it)
    req = AWSRequest(method=method, url=encoded_url(scheme, host, path, query), data=body)
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    req.headers["Host"] = host
    if unsigned:
        req.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})

    if presign:
        auth = botocore.auth.S3SigV4QueryAuth(creds, "s3", region, expires=expires)
    else:
        auth = botocore.auth.S3SigV4Auth(creds, "s3", region)
    naive = when.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        auth.add_auth(req)

    case = {
        "mode": "query" if presign else "header",
        "method": method, "host": host, "path": path,
        "query": [list(p) for p in query], "headers": [list(h) for h in headers],
        "session_token": token, "access_key_id": access_key, "secret_access_key": secret,
        "region": region, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "payload_sha256_hex": "UNSIGNED-PAYLOAD" if (unsigned or presign) else hashlib.sha256(body).hexdigest(),
        "expires": expires,
    }
    if presign:
        case["url"] = req.url
    else:
        case["authorization"] = req.headers["Authorization"]
        case["x_amz_content_sha256"] = req.headers["X-Amz-Content-SHA256"]
        case["x_amz_date"] = req.headers["X-Amz-Date"]
        case["x_amz_security_token"] = req.headers.get("X-Amz-Security-Token", "")
    return case


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    cases = [sign_case(rng, i) for i in range(count)]
    json.dump({"botocore": botocore.__version__, "seed": seed, "cases": cases}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
