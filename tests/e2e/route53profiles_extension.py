"""Route 53 Profiles, which moto 5.2 lacks, for the end-to-end suite.

The suite seeds Profiles with :func:`associate` (a Profile with a VPC) and :func:`add_resource`
(a hosted zone, Resolver rule or interface endpoint to a Profile); the emulator's middleware hands
every ``route53profiles`` request to :func:`handle`, which answers the two reads ssm-doctor makes,
``ListProfileAssociations`` and ``ListProfileResourceAssociations``, in the service's REST-JSON
form. Under IAM enforcement the caller is authorized by moto's own machinery (the access key's
account and policies decide, as for any moto service); the signature is not rechecked, as for
Route 53 (:mod:`route53_extension`).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import IAMRequest
from moto.iam.models import get_account_id_from
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException

DEFAULT_ACCOUNT = "123456789012"

#: The reads ssm-doctor makes, by method and path.
OPERATIONS = [
    ("GET", re.compile(r"^/profileassociations$"), "ListProfileAssociations"),
    ("GET", re.compile(r"^/profileresourceassociations/profileid/(?P<profile>[^/]+)$"),
     "ListProfileResourceAssociations"),
]


@dataclass
class _Region:
    #: (profile id, VPC id, status)
    associations: list[tuple[str, str, str]] = field(default_factory=list)
    #: profile id → [(resource ARN, owner account, status)]
    resources: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)


_LOCK = threading.Lock()
_STORE: dict[tuple[str, str], _Region] = {}


def _region(account: str, region: str) -> _Region:
    return _STORE.setdefault((account, region), _Region())


def associate(vpc_id: str, profile_id: str, *, region: str, account: str = DEFAULT_ACCOUNT,
              status: str = "COMPLETE") -> None:
    """Associates a Profile with a VPC of ``account`` (a Profile another account shares is
    associated by the VPC's account all the same)."""
    with _LOCK:
        _region(account, region).associations.append((profile_id, vpc_id, status))


def add_resource(profile_id: str, arn: str, *, region: str, account: str = DEFAULT_ACCOUNT,
                 owner: str | None = None, status: str = "COMPLETE") -> None:
    """Adds a resource to a Profile, as seen from ``account`` (``owner``: the Profile's account,
    ``account`` unless another one shares it)."""
    with _LOCK:
        listed = _region(account, region).resources.setdefault(profile_id, [])
        listed.append((arn, owner or account, status))


def operation(method: str, path: str) -> str | None:
    return next((op for verb, pattern, op in OPERATIONS
                 if verb == method and pattern.match(path)), None)


def _authorize(environ: dict[str, Any], body: bytes, action: str, account: str) -> None:
    """moto's check for its own services, as ``BaseResponse`` makes it: off until enforcement is
    turned on, then the caller's policies decide."""
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    path = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        path += "?" + environ["QUERY_STRING"]
    request = IAMRequest(account_id=account, method=environ.get("REQUEST_METHOD", "GET"),
                         path=path, data={}, body=body, headers=EnvironHeaders(environ),
                         action=action)
    request.check_action_permitted("*")


def _error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
    return status, code, json.dumps({"__type": code, "message": message}).encode()


def handle(environ: dict[str, Any], body: bytes, access_key: str | None,
           region: str) -> tuple[int, str | None, bytes]:
    """(status, error code or None, JSON body) of one ``route53profiles`` request."""
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
    op = operation(method, path)
    if op is None:
        return _error(400, "ValidationException", f"{method} {path}: not emulated")
    account = get_account_id_from(access_key) if access_key else DEFAULT_ACCOUNT
    try:
        _authorize(environ, body, op, account)
    except HTTPException as denied:
        message = getattr(denied, "message", None) or str(denied.description)
        return _error(denied.code or 403, "AccessDeniedException", message)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    with _LOCK:
        seen = _region(account, region)
        if op == "ListProfileAssociations":
            wanted = query.get("resourceId", [None])[0]
            listed = [{"Id": f"rpassoc-{uuid.uuid5(uuid.NAMESPACE_URL, p + v).hex[:17]}",
                       "Name": f"{p}-{v}", "OwnerId": account, "ProfileId": p,
                       "ResourceId": v, "Status": s}
                      for p, v, s in seen.associations if wanted in (None, v)]
            return 200, None, json.dumps({"ProfileAssociations": listed}).encode()
        profile = re.match(OPERATIONS[1][1], path).group("profile")  # type: ignore[union-attr]
        listed = [{"Id": f"rpr-{uuid.uuid5(uuid.NAMESPACE_URL, arn).hex[:17]}",
                   "Name": arn.rsplit("/", 1)[-1], "OwnerId": owner, "ProfileId": profile,
                   "ResourceArn": arn, "ResourceType": _kind(arn), "Status": s}
                  for arn, owner, s in seen.resources.get(profile, [])]
        return 200, None, json.dumps({"ProfileResourceAssociations": listed}).encode()


def _kind(arn: str) -> str:
    resource = arn.split(":", 5)[-1].split("/", 1)[0]
    return {"hostedzone": "HOSTED_ZONE", "resolver-rule": "RESOLVER_RULE",
            "vpc-endpoint": "INTERFACE_ENDPOINT"}.get(resource, "FIREWALL_RULE_GROUP")
