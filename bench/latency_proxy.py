"""A latency-injecting TCP front for an S3 endpoint (moto or bench/sink.py's nginx).

Every HTTP request is held for `delay_ms` before it is passed on, as a real S3 answering
in tens of milliseconds would hold it: the first bytes a client sends after the previous
answer started (a new request on a kept-alive connection) wait, the rest of that request's
body does not. Bytes are passed through unchanged, so signatures and checksums still hold.

    python3 bench/latency_proxy.py --upstream 127.0.0.1:9000 --delay-ms 30 [--port N]

prints "listening 127.0.0.1:PORT" when ready; stopped by its PID (SIGTERM). In Python:
    with LatencyProxy("127.0.0.1", upstream_port, 30) as proxy: ... proxy.endpoint ...
"""
import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sink import stop_by_pid  # noqa: E402


async def _pipe_client_to_server(reader, writer, state, delay):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        if state["new_request"]:
            state["new_request"] = False
            await asyncio.sleep(delay)
        writer.write(data)
        await writer.drain()
    writer.close()


async def _pipe_server_to_client(reader, writer, state):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        state["new_request"] = True  # the answer began: the client's next bytes are a new request
        writer.write(data)
        await writer.drain()
    writer.close()


async def _serve(listen_port, upstream_host, upstream_port, delay_ms, ready):
    delay = delay_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError:
            client_writer.close()
            return
        state = {"new_request": True}
        await asyncio.gather(_pipe_client_to_server(client_reader, server_writer, state, delay),
                             _pipe_server_to_client(server_reader, client_writer, state),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    ready(port)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the S3 endpoint")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")

    def ready(p):
        print(f"listening 127.0.0.1:{p}", flush=True)

    try:
        asyncio.run(_serve(args.port, host, int(port), args.delay_ms, ready))
    except KeyboardInterrupt:
        pass


class LatencyProxy:
    """The proxy in a child process, stopped by its PID."""

    def __init__(self, upstream_host, upstream_port, delay_ms):
        self.argv = [sys.executable, os.path.abspath(__file__), "--upstream", f"{upstream_host}:{upstream_port}",
                     "--delay-ms", str(delay_ms)]
        self.proc = None
        self.port = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30.0):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        if not line.startswith("listening ") or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError("latency proxy did not start: " + line)
        self.port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", self.port), timeout=5):
            pass
        return self

    def stop(self):
        stop_by_pid(self.proc)
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    main()
