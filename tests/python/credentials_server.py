#!/usr/bin/env python3
"""Plays the ECS container-credentials endpoint and EC2 IMDSv2, for tests/cpp/test_it_credentials.cpp.

    python3 credentials_server.py PORT ECS_AUTH_TOKEN

IMDSv2 (enforced like EC2 does):
  PUT  /latest/api/token                       needs X-aws-ec2-metadata-token-ttl-seconds (1..21600),
                                               else 400; answers a new session token
  GET  /latest/meta-data/iam/security-credentials/        needs a valid X-aws-ec2-metadata-token,
  GET  /latest/meta-data/iam/security-credentials/ROLE    else 401; role name / credentials JSON
ECS:
  GET  /ecs/creds      needs Authorization: ECS_AUTH_TOKEN, else 403; credentials JSON
  GET  /ecs/garbage    200 with a body that is not JSON (and holds a fake secret)
  GET  /ecs/partial    200 with JSON lacking SecretAccessKey (but holding a Token)
Control:
  POST /__control?expires_in=N   later credentials expire N seconds after they are served
  GET  /__stats                  JSON request counters
Credentials are numbered: AccessKeyId ASIA{IMDS,ECS}000n, so a test sees each refetch.
"""
import datetime
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ROLE = "worm-test-role"
_lock = threading.Lock()
_state = {"expires_in": 3600, "imds_tokens": set()}
_stats = {"token": 0, "roles": 0, "role": 0, "ecs": 0, "unauthorized": 0}
_serial = {"imds": 0, "ecs": 0}


def _credentials(kind):
    with _lock:
        _serial[kind] += 1
        n = _serial[kind]
        expires_in = _state["expires_in"]
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    tag = kind.upper()
    return {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": f"ASIA{tag}{n:04d}",
        "SecretAccessKey": f"{kind}-secret-{n}-DO-NOT-LEAK",
        "Token": f"{kind}-session-token-{n}-DO-NOT-LEAK",
        "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ecs_token = ""

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, content_type="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj), "application/json")

    def _count(self, key):
        with _lock:
            _stats[key] += 1

    def _imds_token_ok(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        with _lock:
            ok = token in _state["imds_tokens"]
        if not ok:
            self._count("unauthorized")
        return ok

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if urlsplit(self.path).path != "/latest/api/token":
            return self._send(404, "")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        token = "imds-" + secrets.token_hex(16)
        with _lock:
            _state["imds_tokens"].add(token)
        self._count("token")
        self._send(200, token)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        if parts.path == "/__control":
            query = parse_qs(parts.query)
            with _lock:
                if "expires_in" in query:
                    _state["expires_in"] = int(query["expires_in"][0])
            return self._json(200, {"ok": True})
        self._send(404, "")

    def do_GET(self):
        path = urlsplit(self.path).path
        prefix = "/latest/meta-data/iam/security-credentials/"
        if path == "/__stats":
            with _lock:
                return self._json(200, dict(_stats))
        if path == prefix:
            if not self._imds_token_ok():
                return self._send(401, "")
            self._count("roles")
            return self._send(200, ROLE)
        if path == prefix + ROLE:
            if not self._imds_token_ok():
                return self._send(401, "")
            self._count("role")
            return self._json(200, _credentials("imds"))
        if path == "/ecs/creds":
            if self.headers.get("Authorization", "") != self.ecs_token:
                self._count("unauthorized")
                return self._json(403, {"message": "bad token"})
            self._count("ecs")
            return self._json(200, _credentials("ecs"))
        if path == "/ecs/garbage":
            return self._send(200, "<html>SecretAccessKey=garbage-secret-DO-NOT-LEAK</html>")
        if path == "/ecs/partial":
            return self._json(200, {"AccessKeyId": "ASIAPARTIAL", "Token": "partial-token-DO-NOT-LEAK"})
        self._send(404, "")


def main():
    port = int(sys.argv[1])
    Handler.ecs_token = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
