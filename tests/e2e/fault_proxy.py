"""A fault-injecting HTTP proxy between the binary and the emulator, for tests/e2e/test_faults.py.

``FaultProxy(upstream, seed=7, rate=0.3)`` listens on 127.0.0.1 and a free port (``proxy.url``) and
forwards every request to ``upstream`` (the emulator's ``http://127.0.0.1:PORT``), except that a
seeded share ``rate`` of the AWS requests meets one fault, chosen uniformly among ``KINDS``:

``throttling``
    the service's own throttling error: IAM/STS/Auto Scaling (query protocol) HTTP 400
    ``<ErrorResponse>`` ``Throttling``; EC2 HTTP 503 ``<Response><Errors>``
    ``RequestLimitExceeded``; SSM (JSON) HTTP 400 ``{"__type": "ThrottlingException"}``
``unavailable``
    HTTP 503 ``ServiceUnavailable`` in the service's format
``internal``
    HTTP 500 ``InternalFailure`` (query), ``InternalError`` (EC2), ``InternalServerError`` (SSM)
``reset``
    the request is read, then the socket is closed with SO_LINGER 0 (a TCP RST), no answer
``truncated``
    the real answer with its body cut to half, and a Content-Length that matches the cut body
``truncated-close``
    the real answer's status, headers and Content-Length, half its body, then the connection closes
``slow``
    nothing for ``slow_seconds`` (longer than the binary's ``--timeout``), then the real answer

The service is told by the SigV4 credential scope of the Authorization header, or X-Amz-Target.
Requests under ``/moto-api/`` and ``/_ssm_doctor/`` (and anything unsigned) pass untouched.

Reproducible mixes: the binary sends its requests concurrently, so their arrival order varies
from run to run. The decision for a request is therefore a hash of (seed, access key, service,
operation, request body without resource ids and pagination tokens, how many times this same
request was seen before): the same seed gives the same faults to the same questions, whatever
order they arrive in and whatever ids the emulator handed out this time, and a retried request
(its next occurrence) draws again. (Two questions that differ only by resource ids, asked at
once, may swap their draws; and an answer that happens to come later than ``--timeout`` is retried
and draws again.)

Every AWS request is recorded in ``proxy.decisions`` (:class:`Decision`: request number, service,
operation, access key, fault kind or None); ``proxy.counts()`` gives the number per kind.
``proxy.decisions_for(access_key)`` filters them. ``start()``/``stop()`` or a ``with`` block;
``stop()`` never waits for a sleeping (slow) handler: handler threads are daemons, and their sleep
ends at once when the proxy stops.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import io
import json
import re
import socket
import socketserver
import struct
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import emulator

KINDS = ("throttling", "unavailable", "internal", "reset", "truncated", "truncated-close", "slow")

_PASS_THROUGH = ("/moto-api/", "/_ssm_doctor/")
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "expect", "content-length",
}


@dataclass
class Decision:
    number: int  # the proxy's request number, from 1, in arrival order
    service: str | None
    operation: str | None
    access_key: str | None
    kind: str | None  # one of KINDS, None: forwarded untouched
    occurrence: int = 1  # how many times this same request (key, operation, body) was seen
    note: str = ""  # what happened while answering, e.g. "client gone" after a slow answer

    def __str__(self) -> str:
        again = f" (#{self.occurrence})" if self.occurrence > 1 else ""
        note = f" [{self.note}]" if self.note else ""
        return (f"{self.number:>4} {self.service}:{self.operation}{again} -> "
                f"{self.kind or 'forwarded'}{note}")


def identify(headers: Any, method: str, path: str,
             body: bytes) -> tuple[str | None, str | None, str | None]:
    """(service, operation, access key) of a request, told as the emulator tells it."""
    environ = {
        "HTTP_AUTHORIZATION": headers.get("Authorization", "") or "",
        "HTTP_X_AMZ_TARGET": headers.get("X-Amz-Target"),
        "QUERY_STRING": urlsplit(path).query,
        "PATH_INFO": urlsplit(path).path,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": headers.get("Content-Type") or "",
    }
    return emulator.identify(environ, body)


_UNAVAILABLE = "The service is unavailable (e2e fault proxy)"
# (never "internal error": the tests look for that phrase on stderr, where the binary's own
# internal errors go)
_FAILED = "The server failed to answer (e2e fault proxy)"


def error_answer(service: str | None, kind: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of an injected error in ``service``'s own format."""
    request_id = str(uuid.uuid4())
    if service in emulator.JSON_SERVICES:  # JSON protocol
        status, code, message = {
            "throttling": (400, "ThrottlingException", "Rate exceeded"),
            "unavailable": (503, "ServiceUnavailable", _UNAVAILABLE),
            "internal": (500, "InternalServerError", _FAILED),
        }[kind]
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, "application/x-amz-json-1.1", body
    if service == "ec2":  # EC2 query protocol
        status, code, message = {
            "throttling": (503, "RequestLimitExceeded", "Request limit exceeded."),
            "unavailable": (503, "ServiceUnavailable", _UNAVAILABLE),
            "internal": (500, "InternalError", _FAILED),
        }[kind]
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID>"
            "</Response>"
        ).encode()
        return status, "text/xml;charset=UTF-8", body
    if service == "s3":  # REST-XML: a bare <Error>
        status, code, message = {
            "throttling": (503, "SlowDown", "Please reduce your request rate."),
            "unavailable": (503, "ServiceUnavailable", _UNAVAILABLE),
            "internal": (500, "InternalError", _FAILED),
        }[kind]
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return status, "application/xml", body
    # IAM, STS, Auto Scaling: the query protocol
    status, error_type, code, message = {
        "throttling": (400, "Sender", "Throttling", "Rate exceeded"),
        "unavailable": (503, "Receiver", "ServiceUnavailable", _UNAVAILABLE),
        "internal": (500, "Receiver", "InternalFailure", _FAILED),
    }[kind]
    body = (
        f"<ErrorResponse><Error><Type>{error_type}</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, "text/xml", body


# Resource ids are random in every emulator session; pagination tokens may embed them.
_RESOURCE_ID = re.compile(
    rb"\b(i|vpc|subnet|rtb|sg|acl|nat|igw|vpce|pl|eni|eipalloc|eipassoc|tgw|ami|mi|rtbassoc|"
    rb"aclassoc|subnet-cidr-assoc)-[0-9a-f]{8,17}\b"
)
_TOKEN = re.compile(rb"((?:NextToken|Marker)(?:=|\":\s*\"))[^&\"]*")


def normalise(body: bytes) -> bytes:
    """A request body without what differs from one emulator session to the next (resource ids,
    pagination tokens), so that a seed draws the same faults for the same questions."""
    return _TOKEN.sub(rb"\1*", _RESOURCE_ID.sub(rb"\1-*", body))


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() never joins a sleeping handler
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy):
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import traceback

        self.proxy._note_error(traceback.format_exc())


class _ClientGone(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection of a dead client does not hold a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # ---- reading ------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # the chunk's CRLF
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ---- the request --------------------------------------------------------------------
    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        if self.path.startswith(_PASS_THROUGH):
            self._answer(*self._forward(body))
            return
        service, operation, access_key = identify(self.headers, self.command, self.path, body)
        if access_key is None:  # unsigned: not an AWS call of the binary
            self._answer(*self._forward(body))
            return
        decision = proxy._decide(service, operation, access_key, body, self.path)
        kind = decision.kind
        try:
            if kind is None:
                self._answer(*self._forward(body))
            elif kind in ("throttling", "unavailable", "internal"):
                status, ctype, payload = error_answer(service, kind)
                self._answer(status, [("Content-Type", ctype),
                                      ("x-amzn-RequestId", str(uuid.uuid4()))], payload)
            elif kind == "reset":
                self._reset()
            elif kind == "truncated":
                status, headers, payload = self._forward(body)
                decision.note = f"{status}, {len(payload) // 2} of {len(payload)} bytes"
                self._answer(status, headers, payload[: len(payload) // 2])
            elif kind == "truncated-close":
                status, headers, payload = self._forward(body)
                decision.note = (f"{status}, {len(payload) // 2} of {len(payload)} bytes, "
                                 "then closed")
                self._answer(status, headers, payload, send=len(payload) // 2)
            elif kind == "slow":
                if proxy._stopping.wait(proxy.slow_seconds):
                    self.close_connection = True
                    return
                self._answer(*self._forward(body))
        except _ClientGone:
            decision.note = "client gone"
            self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        up = urlsplit(self.server.proxy.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            payload = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            return resp.status, headers, payload
        finally:
            conn.close()

    # ---- answering ----------------------------------------------------------------------
    def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes,
                send: int | None = None) -> None:
        """``status``, ``headers`` and ``payload`` with its Content-Length; with ``send``, only
        the first ``send`` bytes of the payload go out, then the connection closes."""
        try:
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() not in ("date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload if send is None else payload[:send])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError) as e:
            raise _ClientGone() from e
        if send is not None:
            self.close_connection = True

    def _reset(self) -> None:
        """Close the client's socket with an RST: SO_LINGER on with a zero time-out."""
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # the file objects hold references to the socket: close them first so that close() below
        # really closes it (and the server's own SHUT_WR, a FIN, comes too late to matter)
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        sock.close()
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
        self.close_connection = True


class FaultProxy:
    """See the module's documentation."""

    def __init__(self, upstream: str, *, seed: int, rate: float = 0.3,
                 slow_seconds: float = 3.5, kinds: tuple[str, ...] | list[str] = KINDS):
        assert 0.0 <= rate <= 1.0, rate
        unknown = set(kinds) - set(KINDS)
        assert kinds and not unknown, f"unknown fault kinds {sorted(unknown)}"
        self.upstream = upstream.rstrip("/")
        self.seed = seed
        self.rate = rate
        self.slow_seconds = slow_seconds
        self.kinds = tuple(kinds)
        self.decisions: list[Decision] = []
        self.errors: list[str] = []  # tracebacks of the handlers (a proxy bug, not the binary's)
        self._lock = threading.Lock()
        self._seen: Counter = Counter()
        self._number = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"fault-proxy-{port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes every slow handler
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- decisions ----------------------------------------------------------------------
    def _decide(self, service: str | None, operation: str | None, access_key: str | None,
                body: bytes, path: str = "/") -> Decision:
        # A REST request (Route 53) is told apart by its path and query, not its (empty) body.
        where = b"" if path in ("", "/") else path.encode() + b"\n"
        digest = hashlib.sha256(where + normalise(body)).hexdigest()
        key = (access_key, service, operation, digest)
        with self._lock:
            self._number += 1
            self._seen[key] += 1
            number, occurrence = self._number, self._seen[key]
        h = hashlib.sha256(
            f"{self.seed}|{access_key}|{service}|{operation}|{digest}|{occurrence}".encode()
        ).digest()
        draw = int.from_bytes(h[:8], "big") / 2**64
        kind = None
        if draw < self.rate:
            kind = self.kinds[int.from_bytes(h[8:16], "big") % len(self.kinds)]
        decision = Decision(number, service, operation, access_key, kind, occurrence)
        with self._lock:
            self.decisions.append(decision)
        return decision

    def _note_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def decisions_for(self, access_key: str) -> list[Decision]:
        with self._lock:
            return [d for d in self.decisions if d.access_key == access_key]

    def counts(self, access_key: str | None = None) -> dict[str, int]:
        """Injected faults per kind (every kind present, 0 when none)."""
        with self._lock:
            seen = Counter(d.kind for d in self.decisions
                           if d.kind and (access_key is None or d.access_key == access_key))
        return {k: seen.get(k, 0) for k in KINDS}

    def describe(self, access_key: str | None = None) -> str:
        """The decisions, one line each (only the faults and the calls around them would be
        shorter, but the whole sequence is what explains a report)."""
        with self._lock:
            rows = [d for d in self.decisions if access_key is None or d.access_key == access_key]
        return "\n".join(str(d) for d in rows) or "(no AWS request reached the proxy)"
