"""What the operator's network probe (operator.network) talks to in the suite, on loopback: a DNS
server answering every AWS endpoint name with 127.0.0.1, and a TLS endpoint presenting the test
certificate for ``*.REGION.amazonaws.com`` (tests/fixtures/tls, signed by the test CA that
``SSL_CERT_FILE`` makes the run's only trusted one). Started once per process; nothing leaves the
machine."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from pathlib import Path

TLS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tls"
CA_FILE = TLS_DIR / "ca.pem"

_started: dict[str, str] = {}
_lock = threading.Lock()


def _dns_answer(query: bytes, address: bytes) -> bytes | None:
    """An answer to a query: ``address`` for an A question under amazonaws.com, no record for
    other types, NXDOMAIN for other names."""
    if len(query) < 12:
        return None
    at, labels = 12, []
    while True:
        if at >= len(query):
            return None
        n = query[at]
        at += 1
        if n == 0:
            break
        labels.append(query[at:at + n].decode("ascii", "replace").lower())
        at += n
    if at + 4 > len(query):
        return None
    qtype = struct.unpack("!H", query[at:at + 2])[0]
    question = query[12:at + 4]
    known = ".".join(labels).endswith("amazonaws.com")
    answer = known and qtype == 1
    flags = 0x8180 | (0 if known else 3)
    out = query[:2] + struct.pack("!HHHHH", flags, 1, 1 if answer else 0, 0, 0) + question
    if answer:
        out += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + address
    return out


def _serve_dns(sock: socket.socket) -> None:
    address = socket.inet_aton("127.0.0.1")
    while True:
        try:
            query, peer = sock.recvfrom(1500)
        except OSError:
            return
        answer = _dns_answer(query, address)
        if answer:
            sock.sendto(answer, peer)


def _serve_tls(listener: socket.socket, context: ssl.SSLContext) -> None:
    def handshake(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # until the probe closes
        except (OSError, ssl.SSLError):
            pass

    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=handshake, args=(conn,), daemon=True).start()


def environment() -> dict[str, str]:
    """The variables that point a run's network probe at the stubs (started on first use)."""
    with _lock:
        if not _started:
            dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dns.bind(("127.0.0.1", 0))
            threading.Thread(target=_serve_dns, args=(dns,), daemon=True).start()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS_DIR / "endpoints.pem", TLS_DIR / "endpoints.key")
            tls = socket.socket()
            tls.bind(("127.0.0.1", 0))
            tls.listen(64)
            threading.Thread(target=_serve_tls, args=(tls, context), daemon=True).start()
            _started.update(
                SSM_DOCTOR_RESOLVER=f"127.0.0.1:{dns.getsockname()[1]}",
                SSM_DOCTOR_HTTPS_PORT=str(tls.getsockname()[1]),
                SSL_CERT_FILE=str(CA_FILE),
            )
        return dict(_started)
