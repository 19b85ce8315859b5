"""A latency-injecting HTTP reverse proxy for the ssm-doctor benchmark.

Every request waits ``--delay`` seconds (or, for a service named with ``--service-delay
SERVICE=SECONDS``, that service's delay), then is forwarded to ``--upstream`` (the emulator) over a
keep-alive connection of its own thread, and the answer is relayed unchanged.  One thread per client
connection (HTTP/1.1 keep-alive on both sides), so the tool's concurrent requests are delayed
concurrently, as a network round trip would be.

A request's service is the one its SigV4 ``Authorization`` header signs for (the credential scope
``<key>/<date>/<region>/<service>/aws4_request``: ``iam`` for IAM), else the first label of its
``Host`` header (``iam.amazonaws.com``), else the ``X-Amz-Target`` prefix of the JSON protocol
(``AmazonSSM.…``: ``ssm``).  The benchmark's ``iam150`` latency model is ``--delay 0.02
--service-delay iam=0.15``: IAM is global, answered from us-east-1 (far from an operator in Tokyo),
every other service regional.

Each request is appended to ``--log`` as one JSON line:

* ``start``    when the proxy had read the request (headers and body), epoch seconds;
* ``up_start`` / ``up_end``  the forwarded part: the emulator's own time to answer;
* ``end``      when the answer had been written back to the client;
* ``cached``   whether the answer was replayed from ``--cache`` instead of asked of the emulator;
* ``service``, ``operation`` (``Action=`` of the query protocol or ``X-Amz-Target``), ``access_key``
  (from the SigV4 ``Authorization`` header: the benchmark gives every run its own dummy key),
  ``status``, ``bytes`` (response body), ``conn`` (client connection number), ``delay`` (seconds
  waited).

With ``--cache DIR --cache-mode record`` every answer (but throttling and server errors) is also
stored in DIR, keyed by the request's method, path, ``X-Amz-Target`` and body (not its signature:
runs signing with other keys, or another binary asking the same, share answers); with
``--cache-mode replay`` a request whose answer is stored gets that answer (after the same delay)
without the emulator being asked: the benchmark's way of taking the emulator's own time out of a
measurement of the tool.  A request whose answer is not stored is forwarded as usual and logged with
``"cached": false``.

Runs as its own process (so that the emulator's Python work does not hold this proxy's GIL) and
prints ``listening <port>`` on stdout once it accepts connections.

    python bench/proxy.py --upstream http://127.0.0.1:5000 --delay 0.05 --log requests.jsonl
    python bench/proxy.py --upstream http://127.0.0.1:5000 --delay 0.02 --service-delay iam=0.15 \
        --log requests.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import json
import os
import pickle
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}


#: ``X-Amz-Target`` prefixes of the JSON-protocol services the tool calls.
JSON_TARGETS = {"AmazonSSM": "ssm", "Logs_20140328": "logs", "TrentService": "kms"}


def identify(headers, body: bytes, path: str) -> tuple[str | None, str | None, str | None]:
    """(service, operation, access key) of a SigV4-signed AWS request."""
    auth = headers.get("Authorization", "") or ""
    service = access_key = None
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        access_key = scope[0]
        service = scope[3] if len(scope) > 3 else None
    target = headers.get("X-Amz-Target")
    if not service:
        host = (headers.get("Host") or "").split(":", 1)[0].lower()
        if host.endswith(".amazonaws.com") or host.endswith(".api.aws"):
            service = host.split(".", 1)[0]
        elif target and "." in target:
            service = JSON_TARGETS.get(target.split(".", 1)[0])
    if target and "." in target:
        return service, target.rsplit(".", 1)[1], access_key
    params = parse_qs(urlsplit(path).query)
    if body and "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        params.update(parse_qs(body.decode("utf-8", "replace")))
    operation = params["Action"][0] if "Action" in params else None
    return service, operation, access_key


def recordable(status: int, payload: bytes) -> bool:
    """Whether an answer is the world's (to be replayed): successes and client errors (a role
    that does not exist is a 404 every time), not throttling or server errors."""
    if status >= 500 or status == 429:
        return False
    return status < 400 or not any(code in payload for code in (
        b"Throttl", b"RequestLimitExceeded", b"TooManyRequests", b"SlowDown"))


class Proxy(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, upstream: str, delay: float, log_path: str, cache: str | None = None,
                 cache_mode: str = "off", service_delays: dict[str, float] | None = None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cache = cache
        self.cache_mode = cache_mode if cache else "off"
        if cache:
            os.makedirs(cache, exist_ok=True)
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.delay = delay
        self.service_delays = dict(service_delays or {})
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the server
        self.connections = itertools.count(1)

    def cache_path(self, method: str, path: str, target: str, body: bytes) -> str:
        h = hashlib.sha256()
        for part in (method.encode(), path.encode(), target.encode(), body):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return os.path.join(self.cache, h.hexdigest() + ".pickle")

    def log(self, entry: dict) -> None:
        line = json.dumps(entry)
        with self.log_lock:
            self.log_file.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the tool
    server: Proxy

    def setup(self) -> None:
        super().setup()
        # Answers go out in one write with Nagle off: a header write followed by a body write
        # would otherwise wait for the client's delayed ACK (40 ms on Linux) on a kept-alive
        # connection, a stall no real AWS endpoint adds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_no = next(self.server.connections)
        self.upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        super().finish()
        if self.upstream is not None:
            self.upstream.close()

    def log_message(self, *args) -> None:  # no line per request on stderr
        pass

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed meanwhile
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(
                    self.server.upstream_host, self.server.upstream_port, timeout=300
                )
                self.upstream.connect()
                self.upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.upstream.request(self.command, self.path, body=body, headers=headers)
                resp = self.upstream.getresponse()
                payload = resp.read()
                if resp.will_close:
                    self.upstream.close()
                    self.upstream = None
                return resp.status, resp.reason, resp.getheaders(), payload
            except (ConnectionError, http.client.HTTPException, OSError):
                self.upstream.close()
                self.upstream = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handle(self) -> None:
        body = self._read_body()
        start = time.time()
        service, operation, access_key = identify(self.headers, body, self.path)
        delay = self.server.service_delays.get(service or "", self.server.delay)
        if delay:
            time.sleep(delay)
        up_start = time.time()
        cache_file = None
        answer = None
        if self.server.cache_mode != "off":
            cache_file = self.server.cache_path(self.command, self.path,
                                                self.headers.get("X-Amz-Target") or "", body)
            if self.server.cache_mode == "replay" and os.path.exists(cache_file):
                with open(cache_file, "rb") as f:
                    answer = pickle.load(f)
        cached = answer is not None
        if answer is None:
            try:
                answer = self._forward(body)
                if self.server.cache_mode == "record" and recordable(answer[0], answer[3]):
                    tmp = f"{cache_file}.{threading.get_ident()}.tmp"
                    with open(tmp, "wb") as f:
                        pickle.dump(answer, f)
                    os.replace(tmp, cache_file)
            except Exception as e:  # noqa: BLE001 - answered as a gateway error, and logged
                answer = (502, "Bad Gateway", [("Content-Type", "text/plain")],
                          f"bench proxy: upstream failed: {e}".encode())
        status, reason, headers, payload = answer
        up_end = time.time()
        self.send_response_only(status, reason)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self._headers_buffer.append(b"\r\n")
        response = b"".join(self._headers_buffer) + payload
        self._headers_buffer = []
        self.wfile.write(response)
        self.wfile.flush()
        end = time.time()
        self.server.log({
            "start": start, "up_start": up_start, "up_end": up_end, "end": end,
            "service": service, "operation": operation, "access_key": access_key,
            "status": status, "bytes": len(payload), "conn": self.conn_no, "cached": cached,
            "method": self.command, "path": self.path[:200], "delay": delay,
        })

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000")
    parser.add_argument("--delay", type=float, default=0.05,
                        help="seconds per request (of a service without --service-delay)")
    parser.add_argument("--service-delay", action="append", default=[], metavar="SERVICE=SECONDS",
                        help="seconds per request to SERVICE (SigV4 scope name, e.g. iam=0.15); "
                             "repeatable")
    parser.add_argument("--log", required=True, help="JSON-lines request log (appended)")
    parser.add_argument("--cache", help="directory of stored answers")
    parser.add_argument("--cache-mode", choices=["off", "record", "replay"], default="off")
    args = parser.parse_args()
    service_delays = {}
    for spec in args.service_delay:
        name, sep, seconds = spec.partition("=")
        try:
            service_delays[name.strip().lower()] = float(seconds)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            parser.error(f"--service-delay: expected SERVICE=SECONDS, got {spec!r}")
    server = Proxy(args.upstream, args.delay, args.log, args.cache, args.cache_mode,
                   service_delays)
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
