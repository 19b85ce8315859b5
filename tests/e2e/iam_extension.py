"""IAM's ``SimulatePrincipalPolicy``, which moto 5.2 lacks, added in-process for the end-to-end suite.

What is modelled, after the IAM API reference and the policy evaluation logic (not after what
ssm-doctor expects):

* ``PolicySourceArn`` names a user or a role (with its path, as IAM does; another ARN is
  ``NoSuchEntity``). Its identity-based policies are evaluated: a user's inline and attached ones and
  its groups', a role's inline and attached ones, within its permissions boundary when it has one.
* Every action of ``ActionNames`` is evaluated on every ARN of ``ResourceArns`` (``*`` when none),
  one ``EvaluationResult`` each, with ``EvalDecision`` ``allowed``, ``explicitDeny`` or
  ``implicitDeny``: an explicit deny wins, then an allow within the boundary, else the implicit deny.
* ``Action``/``NotAction`` and ``Resource``/``NotResource`` wildcards (actions without case),
  ``${aws:username}`` in resources, and the condition operators ``String*`` (``IfExists`` too),
  ``Arn*``, ``Bool`` and ``Null`` on the keys of ``ContextEntries`` (plus ``aws:username`` for a
  user). A condition on a key the request does not carry does not hold, as in IAM; any other
  operator does not hold either and its key is listed in ``MissingContextValues``.
* Service control policies: :func:`set_scp` makes the account a member of an organization with
  that SCP (a policy document evaluated like an identity policy, on the same context: an action is
  allowed by the organization when the SCP allows it and denies it not). Its results then carry
  ``OrganizationsDecisionDetail`` (``AllowedByOrganizations``), and an action the SCP refuses is
  ``explicitDeny`` or ``implicitDeny``. Accounts outside an organization get no
  ``OrganizationsDecisionDetail``, as on AWS.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

_lock = threading.Lock()
#: account → its organization's service control policy.
_scps: dict[str, dict] = {}


class NoSuchEntity(ServiceException):
    code = "NoSuchEntity"


def set_scp(account: str, document: dict) -> None:
    """The account joins an organization whose service control policy is ``document``."""
    with _lock:
        _scps[account] = document


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _document(text: str | dict) -> dict:
    if isinstance(text, dict):
        return text
    return json.loads(text if text.lstrip().startswith("{") else unquote(text))


def _managed_document(backend: Any, arn: str) -> dict:
    policy = backend.get_policy(arn)
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    return _document(version.document)


def _principal_policies(backend: Any, source: str) -> tuple[list[dict], dict | None, str | None]:
    """(identity policies, boundary, user name) of the user or role ``source`` names."""
    m = re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(user|role)(/.*)?/([^/]+)$", source)
    if not m:
        raise NoSuchEntity(f"PolicySourceArn {source} is not a user or a role")
    kind, name = m.group(1), m.group(3)
    try:
        entity = backend.get_user(name) if kind == "user" else backend.get_role(name)
    except Exception as e:  # noqa: BLE001 - moto's own NoSuchEntity, said IAM's way
        raise NoSuchEntity(str(e)) from e
    if entity.arn != source:
        raise NoSuchEntity(f"The {kind} with ARN {source} cannot be found.")
    holders = [entity] + (backend.get_groups_for_user(name) if kind == "user" else [])
    policies = []
    for holder in holders:
        policies += [_document(doc) for doc in holder.policies.values()]
        policies += [_managed_document(backend, arn) for arn in holder.managed_policies]
    boundary_arn = getattr(entity, "permissions_boundary_arn", None)
    boundary = _managed_document(backend, boundary_arn) if boundary_arn else None
    return policies, boundary, name if kind == "user" else None


def _condition_holds(operator: str, key: str, wanted: list[str],
                     context: dict[str, list[str]], missing: set[str]) -> bool:
    values = context.get(key.lower())
    base = operator.removesuffix("IfExists")
    if values is None:
        if base == "Null":
            return [w.lower() for w in wanted] == ["true"]
        return operator.endswith("IfExists")
    if base == "Null":
        return [w.lower() for w in wanted] == ["false"]
    tests = {
        "StringEquals": lambda v, w: v == w,
        "StringEqualsIgnoreCase": lambda v, w: v.lower() == w.lower(),
        "StringLike": fnmatch.fnmatchcase,
        "ArnEquals": lambda v, w: v == w,
        "ArnLike": fnmatch.fnmatchcase,
        "Bool": lambda v, w: v.lower() == w.lower(),
    }
    negated = base.replace("Not", "", 1) if base.startswith(("StringNot", "ArnNot")) else None
    test = tests.get(negated or base)
    if test is None:
        missing.add(key)
        return False
    hit = any(test(v, w) for v in values for w in wanted)
    return not hit if negated else hit


def _applies(statement: dict, action: str, resource: str, context: dict[str, list[str]],
             user: str | None, missing: set[str]) -> bool:
    def action_matches(patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)

    def resource_matches(patterns: list[str]) -> bool:
        expanded = [p.replace("${aws:username}", user) if user else p for p in patterns]
        return any(fnmatch.fnmatchcase(resource, p) for p in expanded)

    if "Action" in statement and not action_matches(_listed(statement["Action"])):
        return False
    if "NotAction" in statement and action_matches(_listed(statement["NotAction"])):
        return False
    if "Resource" in statement and not resource_matches(_listed(statement["Resource"])):
        return False
    if "NotResource" in statement and resource_matches(_listed(statement["NotResource"])):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, _listed(wanted), context, missing):
                return False
    return True


def _decide(policies: list[dict], boundary: dict | None, action: str, resource: str,
            context: dict[str, list[str]], user: str | None, missing: set[str]) -> str:
    def effects(docs: list[dict]) -> set[str]:
        return {st.get("Effect") for doc in docs for st in _listed_statements(doc)
                if _applies(st, action, resource, context, user, missing)}

    identity = effects(policies)
    bounded = effects([boundary]) if boundary else {"Allow"}
    if "Deny" in identity or "Deny" in bounded:
        return "explicitDeny"
    return "allowed" if "Allow" in identity and "Allow" in bounded else "implicitDeny"


def _listed_statements(document: dict) -> list[dict]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else statements


def _members(query: dict[str, list[str]], prefix: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.member\.(\d+)$")
    found = sorted((int(m.group(1)), v[0]) for k, v in query.items() if (m := pattern.match(k)))
    return [v for _, v in found]


def _context(query: dict[str, list[str]]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    n = 1
    while (name := query.get(f"ContextEntries.member.{n}.ContextKeyName")) is not None:
        context[name[0].lower()] = _members(query, f"ContextEntries.member.{n}.ContextKeyValues")
        n += 1
    return context


def simulate_principal_policy(self: IamResponse) -> ActionResult:
    query = self.querystring
    source = self._get_param("PolicySourceArn")
    policies, boundary, user = _principal_policies(self.backend, source)
    context = _context(query)
    if user:
        context.setdefault("aws:username", [user])
    with _lock:
        scp = _scps.get(self.current_account)
    results = []
    for action in _members(query, "ActionNames"):
        for resource in _members(query, "ResourceArns") or ["*"]:
            missing: set[str] = set()
            decision = _decide(policies, boundary, action, resource, context, user, missing)
            result: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": decision,
                "MatchedStatements": [],
                "MissingContextValues": sorted(missing),
            }
            if scp is not None:
                by_scp = _decide([scp], None, action, resource, context, user, missing)
                allowed = by_scp == "allowed"
                result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": allowed}
                if not allowed:
                    result["EvalDecision"] = by_scp
            results.append(result)
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    """Add the operation to moto's IAM response class (idempotent)."""
    if getattr(IamResponse, "simulate_principal_policy", None) not in (None,
                                                                      simulate_principal_policy):
        print("iam_extension: moto already implements simulate_principal_policy; "  # noqa: T201
              "overriding it")
    IamResponse.simulate_principal_policy = simulate_principal_policy
