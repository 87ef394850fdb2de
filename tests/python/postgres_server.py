"""A throwaway PostgreSQL server for tests, from Debian's packages (postgresql-15): initdb in a
temporary directory, `postgres` listening on a free loopback port only (its Unix socket in the
same directory), password authentication, stopped by its PID. Run as root (the CI container),
the server runs as the `postgres` user through setpriv, which execs it, so the PID we hold is
the server's own."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path(os.environ.get("WORM_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available():
    return (BIN / "initdb").exists() and (BIN / "postgres").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    USER = "worm"
    PASSWORD = "pg-Secret-9f3"  # tests check it never shows in messages

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-pg-"))
        self.port = _free_port()
        self.process = None
        self._as = []
        if os.geteuid() == 0:  # initdb refuses root
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._as = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", "--"]

    def url(self, database="postgres", password=None):
        return (f"postgresql://{self.USER}:{password or self.PASSWORD}@127.0.0.1:{self.port}/{database}")

    def start(self):
        pwfile = self.dir / "pw"
        pwfile.write_text(self.PASSWORD + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(self._as + [str(BIN / "initdb"), "-D", str(self.dir / "data"), "-U", self.USER,
                                   "--pwfile", str(pwfile), "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        log = open(self.dir / "server.log", "wb")
        self.process = subprocess.Popen(
            self._as + [str(BIN / "postgres"), "-D", str(self.dir / "data"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-k", str(self.dir), "-c", "fsync=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("postgres exited: " + (self.dir / "server.log").read_text()[-2000:])
            ready = subprocess.run([str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if ready.returncode == 0:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("postgres did not accept connections within 60 s")

    def psql(self, sql):
        """Runs SQL with psql (the reference client); returns its output."""
        env = dict(os.environ, PGPASSWORD=self.PASSWORD)
        r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.USER, "-d", "postgres", "-c", sql], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: open sessions are ended
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
