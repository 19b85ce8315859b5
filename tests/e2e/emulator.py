"""A local AWS for the ssm-doctor end-to-end suite: moto, in-process, on 127.0.0.1.

``Emulator`` runs moto's ``ThreadedMotoServer`` application on a free loopback port, with these
additions wrapped around moto's WSGI application:

* the SSM operations moto lacks (:mod:`ssm_extension`), Patch Manager's and State Manager's
  reads moto lacks or answers short (:mod:`patch_extension`), AWS managed KMS keys
  (:mod:`kms_extension`), IAM's policy simulator
  (:mod:`iam_extension`), a serial console output per instance (:mod:`ec2_extension`), Route 53
  under IAM enforcement (:mod:`route53_extension`), and Route 53 Profiles' reads
  (:mod:`route53profiles_extension`);
* IAM fidelity: policy documents come back URL-encoded in every IAM answer, as AWS sends them
  (moto leaves some plain);
* a *request log*: every AWS request (service, operation, access key, HTTP status, user agent) is
  appended as one JSON line to ``log_path``.  Requests made by the suite's own boto3 clients carry
  the user-agent marker ``ssm-doctor-e2e-seeder`` and are logged with ``"client": "seeder"``;
  everything else (the binary under test) is ``"client": "tool"``;
* *fault injection*: :meth:`Emulator.set_fault` makes one operation slow and/or answer an HTTP error
  (in the service's own error format), for all callers or only for one access key, so that one
  scenario's binary can see a failing API while the others run normally at the same time;
* a small control API under ``/_ssm_doctor/`` for use from outside the process (the suite itself calls
  the Python functions): ``POST /_ssm_doctor/agent`` registers an SSM agent
  (``{"instance_id", "region", "account"?, "ping_status"?, "agent_version"?, "is_latest_version"?,
  "last_ping"?}``), ``POST /_ssm_doctor/agent/deregister``, ``POST /_ssm_doctor/fault``
  (``{"operation": "ec2:DescribeNetworkAcls", "access_key"?, "status"?, "delay"?}``),
  ``POST /_ssm_doctor/faults/clear``, ``GET /_ssm_doctor/requests``.

IAM enforcement is moto's own: ``POST /moto-api/reset-auth`` with body ``0`` turns it on (every
request must then be signed by an access key moto's IAM knows, and is checked against that user's
policies), ``inf`` turns it off again (:meth:`Emulator.enable_iam_auth` / :meth:`disable_iam_auth`).

Run standalone for manual debugging: ``.venv-e2e/bin/python tests/e2e/emulator.py [--log FILE]``.
"""

from __future__ import annotations

import html
import io
import re
import json
import os
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

# Must be set before moto is imported: moto reads it when its IAM backend is first built.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
# The suite talks to moto only; never let a developer's real profile or keys leak into it.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
import botocore.config  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

import ec2_extension  # noqa: E402
import iam_extension  # noqa: E402
import kms_extension  # noqa: E402
import patch_extension  # noqa: E402
import route53_extension  # noqa: E402
import route53profiles_extension  # noqa: E402
import ssm_extension  # noqa: E402

SEEDER_MARKER = "ssm-doctor-e2e-seeder"

_JSON_TARGET_PREFIXES = {"AmazonSSM": "ssm", "Logs_20140328": "logs", "TrentService": "kms",
                         "Route53Resolver": "route53resolver"}
#: Services of the JSON protocol: their errors are ``{"__type": …, "message": …}``.
JSON_SERVICES = {"ssm", "logs", "kms", "route53resolver", "route53profiles"}
#: moto's IAM enforcement knows some operations under another action than IAM does: a policy
#: meant for it must name both (keyed by the IAM action). Its S3 action map has no entry for
#: ``GET ?encryption``, which it therefore authorizes as the bucket GET's default, ListBucket.
MOTO_ACTION_ALIASES = {"s3:GetEncryptionConfiguration": ["s3:ListBucket"]}


def as_moto_enforces(actions: list[str] | str) -> list[str]:
    """``actions`` plus the names moto's enforcement knows them by."""
    listed = [actions] if isinstance(actions, str) else list(actions)
    return listed + [alias for a in listed for alias in MOTO_ACTION_ALIASES.get(a, [])]


#: S3's REST operations the tool makes, by method and sub-resource, under their IAM action names
#: (what the least-privilege policy and the denial matrix speak of).
_S3_OPERATIONS = {("GET", "encryption"): "GetEncryptionConfiguration"}
#: Route 53's REST operations the tool makes, by method and path.
_ROUTE53_OPERATIONS = [
    ("GET", re.compile(r"^/2013-04-01/hostedzonesbyvpc$"), "ListHostedZonesByVPC"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/[^/]+/rrset/?$"), "ListResourceRecordSets"),
    ("GET", re.compile(r"^/2013-04-01/hostedzone/[^/]+$"), "GetHostedZone"),
]


@dataclass
class Fault:
    status: int | None = 500
    delay: float = 0.0


def _service_from_auth(auth: str) -> str | None:
    # "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, ..."
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3]
    except IndexError:
        return None


def _access_key_from_auth(auth: str) -> str | None:
    try:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    except IndexError:
        return None


def identify(environ: dict[str, Any], body: bytes) -> tuple[str | None, str | None, str | None]:
    """(service, operation, access key) of an AWS request, as far as it can be told."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = _service_from_auth(auth)
    access_key = _access_key_from_auth(auth)
    operation = None
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, operation = target.rsplit(".", 1)
        service = service or _JSON_TARGET_PREFIXES.get(prefix)
    else:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        ctype = environ.get("CONTENT_TYPE", "")
        if body and "x-www-form-urlencoded" in ctype:
            params.update(parse_qs(body.decode("utf-8", "replace")))
        if "Action" in params:
            operation = params["Action"][0]
        elif service == "s3":
            method = environ.get("REQUEST_METHOD", "GET")
            operation = next((op for (verb, sub), op in _S3_OPERATIONS.items()
                              if verb == method and sub in params_with_blank(environ)), None)
        elif service == "route53":
            method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
            operation = next((op for verb, pattern, op in _ROUTE53_OPERATIONS
                              if verb == method and pattern.match(path)), None)
        elif service == "route53profiles":
            operation = route53profiles_extension.operation(
                environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))
    return service, operation, access_key


def params_with_blank(environ: dict[str, Any]) -> dict[str, list[str]]:
    """The query's keys, valueless ones (``?encryption``) included."""
    return parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def _error_body(service: str | None, status: int, operation: str) -> tuple[str, bytes]:
    message = f"injected fault for {operation} (e2e emulator)"
    request_id = str(uuid.uuid4())
    if service in JSON_SERVICES:
        code = "InternalServerError" if status >= 500 else "ThrottlingException"
        return "application/x-amz-json-1.1", json.dumps(
            {"__type": code, "message": message}
        ).encode()
    if service == "ec2":
        code = {500: "InternalError", 503: "Unavailable", 403: "UnauthorizedOperation"}.get(
            status, "RequestLimitExceeded")
        return "text/xml", (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID>"
            "</Response>"
        ).encode()
    if service == "s3":
        code = {500: "InternalError", 503: "ServiceUnavailable"}.get(status, "SlowDown")
        return "application/xml", (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
    code = {500: "ServiceFailure", 503: "ServiceUnavailable"}.get(status, "Throttling")
    kind = "Receiver" if status >= 500 else "Sender"
    return "text/xml", (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


_URL_ENCODE_DOCUMENTS = {
    "iam:GetPolicyVersion",
    "iam:GetInstanceProfile",
    "iam:ListInstanceProfiles",
    "iam:ListInstanceProfilesForRole",
    "iam:GetAccountAuthorizationDetails",
}
_DOCUMENT_ELEMENT = re.compile(
    r"<(Document|AssumeRolePolicyDocument|PolicyDocument)>(.*?)</\1>", re.DOTALL
)


def _url_encode_element(m: re.Match) -> str:
    raw = html.unescape(m.group(2))
    if not raw.lstrip().startswith("{"):
        return m.group(0)  # already encoded
    return f"<{m.group(1)}>{quote(raw, safe='')}</{m.group(1)}>"


class E2EMiddleware:
    """Request log, fault injection and the ``/_ssm_doctor/`` control API around moto's app."""

    def __init__(self, app: Any, log_path: Path):
        self.app = app
        self.log_path = log_path
        self.lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []
        self.faults: dict[tuple[str, str], Fault] = {}
        self.seq = 0
        self.inflight = 0  # AWS requests being answered (a delayed one may outlive its client)

    # ---- faults -------------------------------------------------------------------------
    def set_fault(self, operation: str, access_key: str = "*", status: int | None = 500,
                  delay: float = 0.0) -> None:
        with self.lock:
            self.faults[(access_key, operation)] = Fault(status, delay)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault_for(self, access_key: str | None, operation: str) -> Fault | None:
        with self.lock:
            return self.faults.get((access_key or "", operation)) or self.faults.get(
                ("*", operation)
            )

    # ---- log ----------------------------------------------------------------------------
    def _log(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            with self.log_path.open("a") as f:
                f.write(json.dumps(entry) + "\n")

    # ---- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ssm_doctor/"):
            return self._control(environ, start_response, path)

        body = self._read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        service, operation, access_key = identify(environ, body)
        if path.startswith("/moto-api/"):
            return self.app(environ, start_response)
        if not operation:
            # not a query or JSON-protocol call: logged under its method and path, so that the
            # request-log tests see (and reject) anything the binary sends that is not a known read
            operation = f"{environ.get('REQUEST_METHOD')} {path}"
        with self.lock:
            self.inflight += 1
        try:
            return self._aws_request(environ, start_response, service, operation, access_key)
        finally:
            with self.lock:
                self.inflight -= 1

    def _aws_request(self, environ: dict[str, Any], start_response: Any, service: str | None,
                     operation: str, access_key: str | None) -> Any:
        user_agent = environ.get("HTTP_USER_AGENT", "")
        entry: dict[str, Any] = {
            "time": time.time(),
            "service": service,
            "operation": operation,
            "action": f"{service}:{operation}",
            "access_key": access_key,
            "client": "seeder" if SEEDER_MARKER in user_agent else "tool",
            "user_agent": user_agent[:200],
        }
        fault = self._fault_for(access_key, entry["action"])
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status:
                ctype, payload = _error_body(service, fault.status, entry["action"])
                entry.update(status=fault.status, injected=True)
                self._log(entry)
                start_response(
                    f"{fault.status} Injected",
                    [("Content-Type", ctype), ("Content-Length", str(len(payload)))],
                )
                return [payload]

        if entry["action"] in _URL_ENCODE_DOCUMENTS:
            return self._url_encoding_documents(environ, start_response, entry)
        if service == "route53profiles":
            return self._profiles(environ, start_response, entry)

        status_box: dict[str, int] = {}

        def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_box["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.app(environ, _start_response)
        entry["status"] = status_box.get("status")
        entry["ms"] = round((time.time() - entry["time"]) * 1000, 1)
        self._log(entry)
        return result

    def _profiles(self, environ: dict[str, Any], start_response: Any,
                  entry: dict[str, Any]) -> Any:
        """Route 53 Profiles, which moto lacks: answered here (:mod:`route53profiles_extension`)."""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        region = auth.split("Credential=", 1)[-1].split("/")[2] if "Credential=" in auth \
            else "us-east-1"
        status, code, payload = route53profiles_extension.handle(
            environ, environ["wsgi.input"].getvalue(), entry["access_key"], region)
        entry["status"] = status
        self._log(entry)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        if code:
            headers.append(("x-amzn-ErrorType", code))
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
        return [payload]

    def _url_encoding_documents(self, environ: dict[str, Any], start_response: Any,
                                entry: dict[str, Any]) -> Any:
        """IAM returns policy documents URL-encoded (RFC 3986) in every response; moto does so in
        GetRole and GetRolePolicy but not in the operations of ``_URL_ENCODE_DOCUMENTS``."""
        captured: dict[str, Any] = {}

        def _capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: None

        result = self.app(environ, _capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        text = _DOCUMENT_ELEMENT.sub(_url_encode_element, body.decode("utf-8"))
        payload = text.encode("utf-8")
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        entry["status"] = int(captured["status"].split(" ", 1)[0])
        self._log(entry)
        start_response(captured["status"], headers)
        return [payload]

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            return stream.read(int(length))
        if environ.get("wsgi.input_terminated"):
            return stream.read()
        return b""

    def _control(self, environ: dict[str, Any], start_response: Any, path: str) -> Any:
        body = self._read_body(environ)
        try:
            data = json.loads(body or b"{}")
            method = environ.get("REQUEST_METHOD")
            if path == "/_ssm_doctor/agent" and method == "POST":
                iid = data.pop("instance_id")
                node = ssm_extension.register_agent(iid, **data)
                answer: Any = {"registered": node.instance_id}
            elif path == "/_ssm_doctor/agent/deregister" and method == "POST":
                ssm_extension.deregister_agent(
                    data["instance_id"], region=data["region"],
                    account=data.get("account", "123456789012"),
                )
                answer = {"deregistered": data["instance_id"]}
            elif path == "/_ssm_doctor/fault" and method == "POST":
                self.set_fault(
                    data["operation"], data.get("access_key", "*"), data.get("status", 500),
                    float(data.get("delay", 0.0)),
                )
                answer = {"ok": True}
            elif path == "/_ssm_doctor/faults/clear" and method == "POST":
                self.clear_faults()
                answer = {"ok": True}
            elif path == "/_ssm_doctor/requests" and method == "GET":
                with self.lock:
                    answer = list(self.entries)
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error": "unknown control path"}']
        except (KeyError, TypeError, ValueError) as e:
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps({"error": str(e)}).encode()]
        payload = json.dumps(answer, default=str).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [payload]


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request on stderr."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Server(ThreadedMotoServer):
    def __init__(self, middleware_factory: Any):
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._middleware_factory = middleware_factory
        self.middleware: E2EMiddleware | None = None

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self.middleware = self._middleware_factory(app)
        self._server = make_server(
            self._ip_address, self._port, self.middleware, True,
            request_handler=_QuietHandler,
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class Emulator:
    """moto + the suite's additions, on 127.0.0.1 and a free port."""

    def __init__(self, log_path: Path):
        self.log_path = Path(log_path)
        self._server: _Server | None = None
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str, str, str, str], Any] = {}

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> Emulator:
        ssm_extension.install()
        patch_extension.install()
        kms_extension.install()
        iam_extension.install()
        route53_extension.install()
        ec2_extension.install()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("")
        self._server = _Server(lambda app: E2EMiddleware(app, self.log_path))
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            try:
                self.disable_iam_auth()
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def middleware(self) -> E2EMiddleware:
        assert self._server is not None and self._server.middleware is not None
        return self._server.middleware

    # ---- clients ------------------------------------------------------------------------
    def client(self, service: str, region: str = "us-east-1", *,
               access_key: str = "testing", secret_key: str = "testing") -> Any:
        """A boto3 client for the emulator, marked as the suite's own in the request log
        (cached: creating a boto3 client costs more than most emulated calls)."""
        key = (service, region, access_key, secret_key)
        if key not in self._clients:
            self._clients[key] = self._new_client(service, region, access_key, secret_key)
        return self._clients[key]

    def _new_client(self, service: str, region: str, access_key: str, secret_key: str) -> Any:
        return self._session.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=botocore.config.Config(
                user_agent_extra=SEEDER_MARKER,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )

    # ---- control ------------------------------------------------------------------------
    register_agent = staticmethod(ssm_extension.register_agent)
    set_scp = staticmethod(iam_extension.set_scp)
    set_console_output = staticmethod(ec2_extension.set_console_output)
    deregister_agent = staticmethod(ssm_extension.deregister_agent)
    associate_profile = staticmethod(route53profiles_extension.associate)
    add_profile_resource = staticmethod(route53profiles_extension.add_resource)
    set_patch_state = staticmethod(patch_extension.set_patch_state)
    add_association = staticmethod(patch_extension.add_association)

    def set_fault(self, operation: str, *, access_key: str = "*", status: int | None = 500,
                  delay: float = 0.0) -> None:
        """Make ``operation`` (e.g. ``ec2:DescribeNetworkAcls``) slow by ``delay`` seconds and/or
        answer HTTP ``status`` (``None``: answer normally after the delay), for ``access_key`` only
        or for everyone (``*``)."""
        self.middleware.set_fault(operation, access_key, status, delay)

    def clear_faults(self) -> None:
        self.middleware.clear_faults()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no AWS request is being answered (delayed answers are logged when sent)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.middleware.lock:
                if self.middleware.inflight == 0:
                    return True
            time.sleep(0.05)
        return False

    def requests(self, *, access_key: str | None = None, client: str | None = None) -> list[dict]:
        with self.middleware.lock:
            entries = list(self.middleware.entries)
        return [
            e for e in entries
            if (access_key is None or e["access_key"] == access_key)
            and (client is None or e["client"] == client)
        ]

    def _reset_auth(self, value: str) -> dict:
        req = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth", data=value.encode(), method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return json.loads(resp.read())

    def enable_iam_auth(self) -> dict:
        """From now on moto authenticates every request and applies the caller's IAM policies."""
        return self._reset_auth("0")

    def disable_iam_auth(self) -> dict:
        return self._reset_auth("inf")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", default="tests/e2e/out/requests-manual.jsonl")
    args = parser.parse_args()
    emu = Emulator(Path(args.log)).start()
    print(f"emulator listening on {emu.url}; request log {args.log}; Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
