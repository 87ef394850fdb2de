#!/usr/bin/env python3
"""A small HTTP/1.1 server that misbehaves on purpose, for transport and retry tests.

    python3 fault_server.py PORT [CERT.pem KEY.pem]   (with a cert: HTTPS)
    python3 fault_server.py PORT --upstream http://127.0.0.1:P
        a faulty forwarder in front of a real S3 server (see "Upstream mode" below)

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

Upstream mode (--upstream URL): every path except /__* is forwarded to the upstream server
as it came (method, path, query, body and every header, Host included, so SigV4 signatures
still verify), and the answer is relayed back, unless a fault rule matches. Rules:
  /__rule  (POST)    query: action, [method], [match], [skip], [count], [status], [code]
                     the first rule whose method (PUT, GET, HEAD, ...) and `match` fit
                     the request (every '*'-separated part of match occurs in the path,
                     in order), after letting `skip` matching requests through,
                     applies to the next `count` matching requests (-1: until cleared):
      status             answer status/code (S3 XML error) without forwarding
      reset-request      read half the request body, then a TCP reset (nothing forwarded)
      reset-response     forward (the upstream acts on it), then headers promising a body,
                         part of it, and a TCP reset: the client never learns the outcome
      stall              read the request, then silence (up to 60 s; nothing forwarded)
      stall-response     forward, then silence (the upstream acted on it)
      bad-checksum       forward, then answer with a different x-amz-checksum-sha256
    Hostile answers (a server that lies or attacks the client):
      wrong-length       forward, then a Content-Length one byte shorter than the body sent
                         (the client must not take the short body for the object)
      truncate           forward, then the real Content-Length, half the body and a close
      endless            a 200 without Content-Length whose body never ends (nothing forwarded)
      big-error          `status` (default 503) with a 10 MB XML error document
      laughs             `status` with an XML document holding a billion-laughs entity
                         expansion (an <Error> for an error status, a listing for a 2xx)
      redirect           307 to `location` + the request path, with an S3 redirect error body
      non-utf8           forward, then the first <Key> of the answer gets the bytes FF FE
      error-200          200 with an S3 <Error> document (InternalError) as the body
      trickle            forward, then the answer one byte every 0.5 s
  /__rules_clear (POST)  drop every rule
  /__stats               JSON {"forwarded": N, "faults": {action: N}}
"""
import base64
import hashlib
import http.client
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
_upstream = None  # (host, port) in upstream mode
_rules = []       # fault rules, first match wins
_stats = {"forwarded": 0, "faults": {}}
# Request headers not passed on: hop-by-hop, and Expect (this server already said 100 Continue).
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"}


def _matches(pattern, path):
    """Whether the '*'-separated parts of pattern all occur in path, in that order."""
    at = 0
    for part in pattern.split("*"):
        found = path.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def _take_rule(method, path):
    """The action of the first rule that applies to this request (consuming one use), or None."""
    with _lock:
        for rule in _rules:
            if rule["method"] and rule["method"] != method:
                continue
            if rule["match"] and not _matches(rule["match"], path):
                continue
            if rule["skip"] > 0:
                rule["skip"] -= 1
                return None
            if rule["count"] == 0:
                continue
            if rule["count"] > 0:
                rule["count"] -= 1
            _stats["faults"][rule["action"]] = _stats["faults"].get(rule["action"], 0) + 1
            return rule
    return None


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
        """Reads the body: (bytes read, SHA-256 hex, MD5 hex)."""
        length = int(self.headers.get("Content-Length") or 0)
        h, md5 = hashlib.sha256(), hashlib.md5()
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            md5.update(chunk)
            remaining -= len(chunk)
        return length - remaining, h.hexdigest(), md5.hexdigest()

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

    def _reset(self):
        # SO_LINGER 0: close sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body):
        """Sends the request upstream as it came; returns (status, headers, body)."""
        conn = http.client.HTTPConnection(_upstream[0], _upstream[1], timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in _HOP and k.lower() != "content-length":
                    conn.putheader(k, v)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP], data
        finally:
            conn.close()

    def _relay(self, status, headers, data):
        self.send_response_only(status)
        has_length = False
        for k, v in headers:
            if k.lower() == "content-length":
                if self.command != "HEAD":
                    continue  # set from the body below
                has_length = True
            self.send_header(k, v)
        if self.command != "HEAD" or not has_length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle_upstream(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        rule = _take_rule(self.command, path)
        action = rule["action"] if rule else None
        with _lock:
            _log.append({"method": self.command, "path": self.path, "fault": action or "",
                         "headers": {k.lower(): v for k, v in self.headers.items()}, "body_length": length})
        if action == "reset-request":
            self.rfile.read(length // 2)
            return self._reset()
        body = self.rfile.read(length) if length else b""
        if action == "status":
            return self._error(rule["status"], rule["code"], rule["retry_after"])
        if action == "stall":
            time.sleep(60)
            self.close_connection = True
            return
        if action in _HOSTILE_UNFORWARDED:
            return _HOSTILE_UNFORWARDED[action](self, rule)
        status, headers, data = self._forward(body)
        with _lock:
            _stats["forwarded"] += 1
        if action == "reset-response":
            self.send_response_only(status)
            for k, v in headers:
                if k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data) + 1000))
            self.end_headers()
            self.wfile.write(data + b"z" * 10)
            self.wfile.flush()
            return self._reset()
        if action == "stall-response":
            time.sleep(60)
            self.close_connection = True
            return
        if action in _HOSTILE_FORWARDED:
            return _HOSTILE_FORWARDED[action](self, status, headers, data)
        if action == "bad-checksum":
            wrong = base64.b64encode(hashlib.sha256(b"not what was sent").digest()).decode()
            headers = [(k, v) for k, v in headers if k.lower() != "x-amz-checksum-sha256"]
            headers.append(("x-amz-checksum-sha256", wrong))
        return self._relay(status, headers, data)

    def _control(self, path, query):
        """Upstream-mode control paths; returns True when handled."""
        if path == "/__rule":
            rule = {"action": query.get("action", ["status"])[0],
                    "method": query.get("method", [""])[0],
                    "match": query.get("match", [""])[0],
                    "skip": int(query.get("skip", ["0"])[0]),
                    "count": int(query.get("count", ["1"])[0]),
                    "status": int(query.get("status", ["503"])[0]),
                    "code": query.get("code", ["SlowDown"])[0],
                    "retry_after": query.get("retry_after", [None])[0],
                    "location": query.get("location", [""])[0]}
            with _lock:
                _rules.append(rule)
            self._send(200, b"{}")
            return True
        if path == "/__rules_clear":
            with _lock:
                _rules.clear()
            self._send(200, b"{}")
            return True
        if path == "/__stats":
            with _lock:
                body = json.dumps(_stats).encode()
            self._send(200, body, {"Content-Type": "application/json"})
            return True
        return False

    def _handle(self):
        if _upstream is not None:
            url = urlsplit(self.path)
            if url.path.startswith("/__"):
                self._body()
                query = parse_qs(url.query, keep_blank_values=True)
                if self._control(url.path, query):
                    return
                if url.path == "/__log":
                    with _lock:
                        body = json.dumps(_log).encode()
                    return self._send(200, body, {"Content-Type": "application/json"})
                if url.path == "/__clear":
                    with _lock:
                        _log.clear()
                    return self._send(200, b"{}")
                return self._send(404, b"")
            return self._handle_upstream()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        length, digest, md5 = self._body()
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
        # The ETag of a single PUT is the body's MD5, as S3 answers (libworm compares them).
        return self._send(200, b"", {"ETag": "\"%s\"" % md5, "x-amz-request-id": "fault-ok"})

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


# ---- hostile answers (rule actions; see the module docstring) ----------------------------

_LAUGHS_DTD = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
               + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % ("" if i == 1 else i - 1)) * 10)
                         for i in range(1, 10))
               + "]>\n")


def _send_raw(handler, status, headers, body):
    """Status line and headers exactly as given (no Content-Length added), then body."""
    handler.send_response_only(status)
    for k, v in headers:
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


def _endless(handler, rule):
    handler.close_connection = True
    handler.send_response_only(200)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"<Contents><Key>x</Key></Contents>" * 2000
    try:
        while True:
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client gave up, as it must


def _big_error(handler, rule):
    status = rule["status"]
    body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>"
            + b"x" * (10 * 1024 * 1024) + b"</Message></Error>")
    handler._send(status, body, {"Content-Type": "application/xml"})


def _laughs(handler, rule):
    status = rule["status"]
    if status < 300:
        body = (_LAUGHS_DTD + '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>&lol9;</Name>'
                "<KeyCount>1</KeyCount><IsTruncated>false</IsTruncated><Contents><Key>&lol9;</Key>"
                "<Size>1</Size><ETag>&quot;x&quot;</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                "</Contents></ListBucketResult>")
    else:
        body = _LAUGHS_DTD + "<Error><Code>&lol9;</Code><Message>&lol9;</Message></Error>"
    handler._send(status, body.encode(), {"Content-Type": "application/xml"})


def _redirect(handler, rule):
    body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>TemporaryRedirect</Code>"
            b"<Message>Please re-send this request to the specified temporary endpoint.</Message></Error>")
    handler._send(307, body, {"Location": rule["location"] + handler.path, "Content-Type": "application/xml"})


def _error_200(handler, rule):
    body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
            b"<Message>We encountered an internal error. Please try again.</Message>"
            b"<RequestId>hostile-200</RequestId></Error>")
    handler._send(200, body, {"Content-Type": "application/xml"})


def _wrong_length(handler, status, headers, data):
    handler.close_connection = True
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    _send_raw(handler, status, kept + [("Content-Length", str(max(len(data) - 1, 0))), ("Connection", "close")], data)


def _truncate(handler, status, headers, data):
    handler.close_connection = True
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    _send_raw(handler, status, kept + [("Content-Length", str(len(data))), ("Connection", "close")],
              data[: len(data) // 2])


def _non_utf8(handler, status, headers, data):
    handler._relay(status, headers, data.replace(b"<Key>", b"<Key>\xff\xfe", 1))


def _trickle(handler, status, headers, data):
    handler.close_connection = True
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    _send_raw(handler, status, kept + [("Content-Length", str(len(data))), ("Connection", "close")], b"")
    try:
        for i in range(len(data)):
            handler.wfile.write(data[i:i + 1])
            handler.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass  # the client gave up, as it must


_HOSTILE_UNFORWARDED = {"endless": _endless, "big-error": _big_error, "laughs": _laughs,
                        "redirect": _redirect, "error-200": _error_200}
_HOSTILE_FORWARDED = {"wrong-length": _wrong_length, "truncate": _truncate, "non-utf8": _non_utf8,
                      "trickle": _trickle}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--upstream" in args:
        i = args.index("--upstream")
        upstream = urlsplit(args[i + 1])
        _upstream = (upstream.hostname, upstream.port or 80)
        del args[i:i + 2]
    port = int(args[0])
    server = Server(("127.0.0.1", port), Handler)
    if len(args) >= 3:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args[1], args[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
