"""A fast S3-shaped sink: nginx on a loopback port that reads and discards every body.

PUT (PutObject, UploadPart) -> 200 with an ETag and a version id; POST ?uploads ->
InitiateMultipartUploadResult; POST ?uploadId=... -> CompleteMultipartUploadResult.
It checks nothing (no signature, no checksum): it exists to measure clients, and moto is
far too slow for that. The multipart complete answer carries no ETag: every part gets the
same static ETag, so no ETag nginx could send would match the parts (libworm checks that
when the server sends one). The PUT ETag is a static one in multipart form ("...-1"): nginx
cannot hash the body, and an MD5-shaped ETag that is not the body's MD5 is what a server that
stored other bytes answers (libworm refuses it). nginx runs as the current user in one process (master_process off),
with its own prefix, pid, logs and temp dirs, and is stopped by its PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  default_type application/xml;
  map $args $s3_post_reply {{
    "~(^|&)uploadId=" '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127.0.0.1:{port}$uri</Location><Bucket>bench</Bucket><Key>$uri</Key></CompleteMultipartUploadResult>';
    default '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bench</Bucket><Key>$uri</Key><UploadId>bench-upload-1</UploadId></InitiateMultipartUploadResult>';
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      add_header ETag '"5d41402abc4b2a76b9719d911017c592-1"' always;
      add_header x-amz-version-id bench-version-1 always;
      add_header x-amz-request-id bench-request always;
      if ($request_method = POST) {{ return 200 $s3_post_reply; }}
      return 200;
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_by_pid(proc):
    """SIGTERM (a fast shutdown) to a child we started, SIGKILL if it lingers; by its PID."""
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


class NginxSink:
    def __init__(self, nginx="nginx"):
        self.nginx = shutil.which(nginx) or (nginx if os.path.exists(nginx) else None)
        self.proc = None
        self.prefix = None
        self.port = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=10.0):
        if not self.nginx:
            raise RuntimeError("nginx not found (Debian package nginx-light)")
        self.prefix = tempfile.mkdtemp(prefix="worm-bench-nginx-")
        os.makedirs(os.path.join(self.prefix, "tmp"))
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(prefix=self.prefix, port=self.port))
            log = open(os.path.join(self.prefix, "stderr.log"), "wb")
            self.proc = subprocess.Popen([self.nginx, "-p", self.prefix, "-c", conf,
                                          "-e", os.path.join(self.prefix, "error.log")],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break  # e.g. the port was taken between free_port() and listen: retry
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("nginx sink did not start: " + self._logs())

    def _logs(self):
        out = []
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.prefix, name)) as f:
                    out.append(f.read()[-2000:])
            except OSError:
                pass
        return " | ".join(out)

    def stop(self):
        stop_by_pid(self.proc)
        self.proc = None

    def cleanup(self):
        self.stop()
        if self.prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
