#!/usr/bin/env python3
"""A small HTTP/1.1 server that misbehaves on purpose, for transport and retry tests.

    python3 fault_server.py PORT [CERT.pem KEY.pem]   (with a cert: HTTPS)

Paths (any method):
  /echo[...]         200; JSON with method, path, query, headers, body length and sha256,
                     and the client's TCP port (so tests can see keep-alive reuse)
  /blob?size=N       200 with N deterministic bytes (byte i is i*7 % 251)
  /status/CODE       CODE with an S3-style XML error body; ?retry_after=S adds Retry-After
  /reset             headers promising 1000 bytes, 100 bytes, then a TCP reset
  /stall             headers promising 1000 bytes, 10 bytes, then silence (up to 60 s)
  /stall-headers     silence before any response (up to 60 s)
  /__fail  (POST)    JSON {"count": N, "status": 503, "retry_after": "0", "code": "SlowDown"}:
                     the next N requests to any other path get that error first
  /__log             JSON list of the requests seen (method, path, headers), oldest first
  /__clear (POST)    forget the log
Any other path answers 200 with an empty body and an ETag, like an S3 PUT would.
"""
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_lock = threading.Lock()
_fail = {"count": 0, "status": 503, "retry_after": None, "code": "ServiceUnavailable"}
_log = []


def _blob(size):
    pattern = bytes((i * 7) % 251 for i in range(251 * 64))
    out = bytearray()
    while len(out) < size:
        out += pattern
    return bytes(out[:size])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        h = hashlib.sha256()
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            remaining -= len(chunk)
        return length - remaining, h.hexdigest()

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status, code, retry_after=None):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>fault server says %d</Message><RequestId>fault-%d</RequestId></Error>"
                % (code, status, status)).encode()
        headers = {"Content-Type": "application/xml", "x-amz-request-id": "fault-%d" % status}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        self._send(status, body, headers)

    def _handle(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        length, digest = self._body()
        path = url.path

        if path == "/__fail":
            # the body was consumed above for hashing; settings come in the query instead
            with _lock:
                _fail["count"] = int(query.get("count", ["0"])[0])
                _fail["status"] = int(query.get("status", ["503"])[0])
                _fail["retry_after"] = query.get("retry_after", [None])[0]
                _fail["code"] = query.get("code", ["ServiceUnavailable"])[0]
            return self._send(200, b"{}")
        if path == "/__log":
            with _lock:
                body = json.dumps(_log).encode()
            return self._send(200, body, {"Content-Type": "application/json"})
        if path == "/__clear":
            with _lock:
                _log.clear()
            return self._send(200, b"{}")

        with _lock:
            _log.append({"method": self.command, "path": self.path,
                         "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body_length": length, "body_sha256": digest})
            failing = _fail["count"] > 0
            if failing:
                _fail["count"] -= 1
                status, code, retry_after = _fail["status"], _fail["code"], _fail["retry_after"]
        if failing:
            return self._error(status, code, retry_after)

        if path.startswith("/echo"):
            body = json.dumps({
                "method": self.command, "path": url.path, "query": url.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_length": length, "body_sha256": digest,
                "peer_port": self.client_address[1],
            }).encode()
            return self._send(200, body, {"Content-Type": "application/json",
                                          "X-Peer-Port": str(self.client_address[1]),
                                          "X-Mixed-Case": "Value Kept"})
        if path == "/blob":
            size = int(query.get("size", ["0"])[0])
            return self._send(200, _blob(size), {"Content-Type": "application/octet-stream"})
        if path.startswith("/status/"):
            status = int(path.split("/")[2])
            return self._error(status, {500: "InternalError", 503: "SlowDown"}.get(status, "Fault"),
                               query.get("retry_after", [None])[0])
        if path == "/reset":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            # SO_LINGER 0: close sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"y" * 10)
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
            return
        if path == "/stall-headers":
            time.sleep(60)
            self.close_connection = True
            return
        return self._send(200, b"", {"ETag": "\"%s\"" % digest[:32], "x-amz-request-id": "fault-ok"})

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) >= 4:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
