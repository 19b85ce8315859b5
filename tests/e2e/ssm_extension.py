"""SSM operations that moto 5.2 lacks, added in-process for the end-to-end suite.

moto answers ``DescribeInstanceInformation``, ``GetServiceSetting`` and ``GetConnectionStatus`` with
HTTP 500 (not implemented).  This module adds them, plus ``UpdateServiceSetting`` and
``ResetServiceSetting`` (the real API a scenario uses to turn Default Host Management Configuration on),
as methods of moto's own ``SimpleSystemManagerResponse``.  Going through moto's dispatch keeps moto's
request parsing, its IAM enforcement (``/moto-api/reset-auth``) and its serializer, which renders the
results from botocore's SSM service model: timestamps come out as epoch seconds (JSON protocol),
unknown fields are dropped, errors are ``{"__type": ..., "message": ...}``.

What is modelled, after the SSM API reference (not after what ssm-doctor expects):

* A *managed node* exists only when a scenario registers an agent for it (:func:`register_agent`,
  or ``POST /_ssm_doctor/agent`` on the emulator): on AWS that is the agent calling
  ``UpdateInstanceInformation``, which nothing in an emulator does.
* ``DescribeInstanceInformation``
  - "does not return information for nodes that are either Stopped or Terminated": a registered EC2
    instance whose moto state is ``stopped`` or ``terminated`` is left out;
  - ``InstanceInformationFilterList`` (legacy ``key``/``valueSet``) or ``Filters`` (``Key``/``Values``),
    not both; unknown keys are ``InvalidFilterKey``; a malformed instance id is ``InvalidInstanceId``;
    a well-formed id that SSM does not manage simply matches nothing; ``PingStatus``,
    ``PlatformTypes``, ``ResourceType`` (one value only) values are validated
    (``InvalidInstanceInformationFilterValue``); ``tag:K`` / ``tag-key`` read the EC2 instance's tags;
  - pagination: ``MaxResults`` 5..50 (``ValidationException`` otherwise), default 10 as documented,
    an opaque ``NextToken`` (``InvalidNextToken`` when it is not one of ours);
  - items carry ``InstanceId``, ``PingStatus``, ``LastPingDateTime``, ``AgentVersion``,
    ``IsLatestVersion``, ``PlatformType``, ``PlatformName``, ``PlatformVersion``,
    ``RegistrationDate``, ``ResourceType`` (``EC2Instance``), ``IPAddress`` and ``ComputerName``
    (from the EC2 instance when moto knows it), ``SourceId``, ``SourceType`` (``AWS::EC2::Instance``).
    ``IamRole`` is left out: the reference says it is only filled for Quick Setup host management
    and on-premises nodes.
* ``GetServiceSetting`` / ``UpdateServiceSetting`` / ``ResetServiceSetting`` for the documented setting
  ids (path or ``arn:aws:ssm:<region>:<account>:servicesetting/<path>`` form).  An unset
  ``/ssm/managed-instance/default-ec2-instance-management-role`` is ``SettingValue`` ``$None`` with
  ``Status`` ``Default``, as AWS answers; after an update it is ``Customized``.  Unknown ids are
  ``ServiceSettingNotFound``.
* ``GetDocument`` of AWS's own Session documents (``AWS-StartSSHSession``,
  ``AWS-StartPortForwardingSession``, ``AWS-StartPortForwardingSessionToRemoteHost``,
  ``AWS-StartInteractiveCommand``), which exist in every region of AWS but not in moto: their
  ``sessionType`` and parameters as AWS publishes them. Any other name goes to moto's own
  ``GetDocument`` (documents a scenario creates).
* ``DescribeParameters``: moto's, with each parameter's ``ARN``, which moto leaves out. (moto's
  ``Name`` filter adds a leading ``/`` to the name and to the values alike, so ``Equals a/b``
  matches ``/a/b``: kept, it is moto's reading of AWS.)
* ``GetConnectionStatus``: ``connected`` when the target is a registered node that is ``Online`` and
  (for an EC2 instance) running, else ``notconnected``; a node registered with ``connected`` set
  answers that instead (an agent that pings ``ssm`` but holds no ``ssmmessages`` control channel
  is ``Online`` and ``notconnected``).

State is kept per account and region, like moto's backends, in this module (not reset by
``/moto-api/reset``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ssm.responses import SimpleSystemManagerResponse

DHMC_SETTING_ID = "/ssm/managed-instance/default-ec2-instance-management-role"

#: Documented setting ids whose AWS default value is known.
SETTING_DEFAULTS = {
    DHMC_SETTING_ID: "$None",
    "/ssm/parameter-store/default-parameter-tier": "Standard",
    "/ssm/parameter-store/high-throughput-enabled": "false",
    "/ssm/managed-instance/activation-tier": "standard",
    "/ssm/opsinsights/opscenter": "Disabled",
    "/ssm/documents/console/public-sharing-permission": "Enable",
}

_STARTED = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

_INSTANCE_ID = re.compile(r"^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$")
_FILTER_KEYS = {
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
}
_STRING_FILTER_KEYS = _FILTER_KEYS | {"SourceIds", "SourceTypes"}
_PING_STATUSES = {"Online", "ConnectionLost", "Inactive"}
_PLATFORM_TYPES = {"Windows", "Linux", "MacOS"}
_RESOURCE_TYPES = {"EC2Instance", "ManagedInstance"}


# --------------------------------------------------------------------------------------------
# Errors, as named in the SSM API reference
# --------------------------------------------------------------------------------------------


class InvalidFilterKey(ServiceException):
    code = "InvalidFilterKey"


class InvalidInstanceId(ServiceException):
    code = "InvalidInstanceId"


class InvalidInstanceInformationFilterValue(ServiceException):
    code = "InvalidInstanceInformationFilterValue"


class InvalidNextToken(ServiceException):
    code = "InvalidNextToken"


class ValidationException(ServiceException):
    code = "ValidationException"


class ServiceSettingNotFound(ServiceException):
    code = "ServiceSettingNotFound"


# --------------------------------------------------------------------------------------------
# State and the control API
# --------------------------------------------------------------------------------------------


@dataclass
class ManagedNode:
    instance_id: str
    ping_status: str = "Online"
    agent_version: str | None = "3.3.1142.0"
    is_latest_version: bool | None = True
    last_ping: dt.datetime | None = None
    platform_type: str = "Linux"
    platform_name: str = "Amazon Linux"
    platform_version: str = "2023"
    registration_date: dt.datetime = field(default_factory=lambda: _STARTED)
    #: What GetConnectionStatus answers; None: derived from the ping status and instance state.
    connected: bool | None = None


@dataclass
class Setting:
    value: str
    modified: dt.datetime
    user: str
    status: str


_lock = threading.Lock()
_nodes: dict[tuple[str, str], dict[str, ManagedNode]] = {}
_settings: dict[tuple[str, str], dict[str, Setting]] = {}


def register_agent(
    instance_id: str,
    *,
    region: str,
    account: str = "123456789012",
    ping_status: str = "Online",
    agent_version: str | None = "3.3.1142.0",
    is_latest_version: bool | None = True,
    last_ping: dt.datetime | float | str | None = None,
    platform_type: str = "Linux",
    platform_name: str = "Amazon Linux",
    platform_version: str = "2023",
    connected: bool | None = None,
) -> ManagedNode:
    """Make SSM know ``instance_id`` as a managed node, as its agent would by registering.

    ``last_ping`` is a datetime, epoch seconds or an ISO 8601 string; ``None`` means "now" for an
    ``Online`` node and ten minutes ago otherwise. ``connected`` pins what GetConnectionStatus
    answers (None: connected when Online and running).
    """
    if ping_status not in _PING_STATUSES:
        raise ValueError(f"PingStatus must be one of {sorted(_PING_STATUSES)}")
    now = dt.datetime.now(dt.timezone.utc)
    if last_ping is None:
        last_ping = now if ping_status == "Online" else now - dt.timedelta(minutes=10)
    elif isinstance(last_ping, (int, float)):
        last_ping = dt.datetime.fromtimestamp(last_ping, dt.timezone.utc)
    elif isinstance(last_ping, str):
        last_ping = dt.datetime.fromisoformat(last_ping.replace("Z", "+00:00"))
    node = ManagedNode(
        instance_id=instance_id,
        ping_status=ping_status,
        agent_version=agent_version,
        is_latest_version=is_latest_version,
        last_ping=last_ping,
        platform_type=platform_type,
        platform_name=platform_name,
        platform_version=platform_version,
        registration_date=min(last_ping, now) - dt.timedelta(days=1),
        connected=connected,
    )
    with _lock:
        _nodes.setdefault((account, region), {})[instance_id] = node
    return node


def deregister_agent(instance_id: str, *, region: str, account: str = "123456789012") -> None:
    with _lock:
        _nodes.get((account, region), {}).pop(instance_id, None)


def registered_nodes(region: str, account: str = "123456789012") -> list[ManagedNode]:
    with _lock:
        return list(_nodes.get((account, region), {}).values())


def reset() -> None:
    with _lock:
        _nodes.clear()
        _settings.clear()


# --------------------------------------------------------------------------------------------
# The operations
# --------------------------------------------------------------------------------------------


def _ec2_instance(account: str, region: str, instance_id: str) -> Any:
    from moto.ec2.models import ec2_backends

    try:
        return ec2_backends[account][region].get_instance_by_id(instance_id)
    except Exception:  # an account/region moto has not seen
        return None


def _node_item(node: ManagedNode, instance: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "InstanceId": node.instance_id,
        "PingStatus": node.ping_status,
        "LastPingDateTime": node.last_ping,
        "AgentVersion": node.agent_version,
        "IsLatestVersion": node.is_latest_version,
        "PlatformType": node.platform_type,
        "PlatformName": node.platform_name,
        "PlatformVersion": node.platform_version,
        "RegistrationDate": node.registration_date,
        "ResourceType": "EC2Instance" if node.instance_id.startswith("i-") else "ManagedInstance",
        "SourceId": node.instance_id,
        "SourceType": "AWS::EC2::Instance"
        if node.instance_id.startswith("i-")
        else "AWS::SSM::ManagedInstance",
    }
    if instance is not None:
        item["IPAddress"] = instance.private_ip
        item["ComputerName"] = instance.private_dns_name
    return {k: v for k, v in item.items() if v is not None}


def _normalise_filters(legacy: list | None, filters: list | None) -> list[tuple[str, list[str]]]:
    if legacy and filters:
        raise ValidationException(
            "InstanceInformationFilterList and Filters cannot be used in the same request"
        )
    out: list[tuple[str, list[str]]] = []
    for f in legacy or []:
        key, values = f.get("key"), f.get("valueSet") or []
        if key not in _FILTER_KEYS:
            raise InvalidFilterKey(f"The filter key {key} is not valid")
        out.append((key, list(values)))
    for f in filters or []:
        key, values = f.get("Key"), f.get("Values") or []
        if not (key in _STRING_FILTER_KEYS or key == "tag-key" or str(key).startswith("tag:")):
            raise InvalidFilterKey(f"The filter key {key} is not valid")
        out.append((key, list(values)))
    for key, values in out:
        if not values:
            raise InvalidInstanceInformationFilterValue(f"{key} filter requires a value")
        if key in ("InstanceIds", "SourceIds"):
            bad = [v for v in values if not _INSTANCE_ID.match(v)]
            if bad:
                raise InvalidInstanceId(f"Instance ids {bad} are not valid")
        if key == "PingStatus" and not set(values) <= _PING_STATUSES:
            raise InvalidInstanceInformationFilterValue(f"Invalid PingStatus value {values}")
        if key == "PlatformTypes" and not set(values) <= _PLATFORM_TYPES:
            raise InvalidInstanceInformationFilterValue(f"Invalid PlatformTypes value {values}")
        if key == "ResourceType":
            if len(values) != 1:
                raise InvalidInstanceInformationFilterValue(
                    "ResourceType filter may contain only one value."
                )
            if values[0] not in _RESOURCE_TYPES:
                raise InvalidInstanceInformationFilterValue(f"Invalid ResourceType {values[0]}")
    return out


def _matches(item: dict[str, Any], instance: Any, key: str, values: list[str]) -> bool:
    if key in ("InstanceIds", "SourceIds"):
        return item["InstanceId"] in values
    if key == "AgentVersion":
        return item.get("AgentVersion") in values
    if key == "PingStatus":
        return item["PingStatus"] in values
    if key == "PlatformTypes":
        return item.get("PlatformType") in values
    if key == "ResourceType":
        return item["ResourceType"] in values
    if key == "SourceTypes":
        return item["SourceType"] in values
    if key in ("ActivationIds", "IamRole", "AssociationStatus"):
        return False  # not set on EC2 nodes registered through an instance profile
    tags = {t["key"]: t["value"] for t in (instance.get_tags() if instance is not None else [])}
    if key == "tag-key":
        return any(v in tags for v in values)
    if key.startswith("tag:"):
        return tags.get(key[4:]) in values
    return False


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except Exception:
        raise InvalidNextToken("The specified token isn't valid.") from None


def describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
    account, region = self.current_account, self.region
    filters = _normalise_filters(
        self._get_param("InstanceInformationFilterList"), self._get_param("Filters")
    )
    max_results = self._get_param("MaxResults")
    if max_results is None:
        max_results = 10
    elif not 5 <= int(max_results) <= 50:
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            "satisfy constraint: Member must have value between 5 and 50"
        )
    token = self._get_param("NextToken")
    offset = _decode_token(token) if token else 0

    items = []
    for node in sorted(registered_nodes(region, account), key=lambda n: n.instance_id):
        instance = _ec2_instance(account, region, node.instance_id)
        if instance is not None and instance.state in ("stopped", "terminated"):
            continue
        item = _node_item(node, instance)
        if all(_matches(item, instance, k, v) for k, v in filters):
            items.append(item)
    page = items[offset : offset + int(max_results)]
    result: dict[str, Any] = {"InstanceInformationList": page}
    if offset + int(max_results) < len(items):
        result["NextToken"] = _encode_token(offset + int(max_results))
    return ActionResult(result)


def _setting_path(self: SimpleSystemManagerResponse) -> str:
    setting_id = self._get_param("SettingId") or ""
    m = re.match(r"^arn:aws[a-z-]*:ssm:([^:]*):(\d{12}):servicesetting(/.*)$", setting_id)
    path = m.group(3) if m else setting_id
    if path not in SETTING_DEFAULTS:
        raise ServiceSettingNotFound(f"The service setting {setting_id} was not found.")
    return path


def _setting_result(self: SimpleSystemManagerResponse, path: str) -> dict[str, Any]:
    account, region = self.current_account, self.region
    with _lock:
        setting = _settings.get((account, region), {}).get(path)
    if setting is None:
        setting = Setting(SETTING_DEFAULTS[path], _STARTED, "System", "Default")
    return {
        "SettingId": path,
        "SettingValue": setting.value,
        "LastModifiedDate": setting.modified,
        "LastModifiedUser": setting.user,
        "ARN": f"arn:aws:ssm:{region}:{account}:servicesetting{path}",
        "Status": setting.status,
    }


def get_service_setting(self: SimpleSystemManagerResponse) -> ActionResult:
    return ActionResult({"ServiceSetting": _setting_result(self, _setting_path(self))})


def update_service_setting(self: SimpleSystemManagerResponse) -> ActionResult:
    path = _setting_path(self)
    value = self._get_param("SettingValue")
    if not value:
        raise ValidationException("SettingValue must not be empty")
    with _lock:
        _settings.setdefault((self.current_account, self.region), {})[path] = Setting(
            value,
            dt.datetime.now(dt.timezone.utc),
            f"arn:aws:iam::{self.current_account}:root",
            "Customized",
        )
    return ActionResult({})


def reset_service_setting(self: SimpleSystemManagerResponse) -> ActionResult:
    path = _setting_path(self)
    with _lock:
        _settings.get((self.current_account, self.region), {}).pop(path, None)
    return ActionResult({"ServiceSetting": _setting_result(self, path)})


def get_connection_status(self: SimpleSystemManagerResponse) -> ActionResult:
    target = self._get_param("Target")
    account, region = self.current_account, self.region
    with _lock:
        node = _nodes.get((account, region), {}).get(target)
    instance = _ec2_instance(account, region, target) if node else None
    if node is not None and node.connected is not None:
        connected = node.connected
    else:
        connected = (
            node is not None
            and node.ping_status == "Online"
            and (instance is None or instance.state == "running")
        )
    return ActionResult({"Target": target, "Status": "connected" if connected else "notconnected"})


def _port_document(description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": "1.0",
        "description": description,
        "sessionType": "Port",
        "parameters": {
            name: {"type": "String", "description": name, "default": default}
            for name, default in parameters.items()
        },
        "properties": {name: "{{ %s }}" % name for name in parameters},
    }


#: AWS-owned Session documents, by name: what ``GetDocument`` shows of them on AWS.
AWS_SESSION_DOCUMENTS = {
    "AWS-StartSSHSession": _port_document(
        "Document to start SSH session", {"portNumber": "22"}
    ),
    "AWS-StartPortForwardingSession": _port_document(
        "Document to start port forwarding session over Session Manager",
        {"portNumber": "80", "localPortNumber": "0"},
    ),
    "AWS-StartPortForwardingSessionToRemoteHost": _port_document(
        "Document to start port forwarding session over Session Manager to a remote host",
        {"host": "", "portNumber": "80", "localPortNumber": "0"},
    ),
    "AWS-StartInteractiveCommand": {
        "schemaVersion": "1.0",
        "description": "Document to run single interactive command on an instance",
        "sessionType": "InteractiveCommands",
        "parameters": {"command": {"type": "String", "description": "The command to run."}},
        "properties": {"linux": {"commands": "{{ command }}", "runAsElevated": False}},
    },
}

_moto_get_document = SimpleSystemManagerResponse.get_document


def get_document(self: SimpleSystemManagerResponse) -> Any:
    name = self._get_param("Name")
    content = AWS_SESSION_DOCUMENTS.get(name)
    if content is None:
        return _moto_get_document(self)
    return ActionResult({
        "Name": name,
        "CreatedDate": _STARTED,
        "DocumentVersion": "1",
        "Status": "Active",
        "Content": json.dumps(content),
        "DocumentType": "Session",
        "DocumentFormat": "JSON",
    })


_moto_describe_parameters = SimpleSystemManagerResponse.describe_parameters


def describe_parameters(self: SimpleSystemManagerResponse) -> Any:
    """moto's answer, with each parameter's ``ARN`` (``ParameterMetadata.ARN``), which moto leaves
    out."""
    answer = _moto_describe_parameters(self)
    if isinstance(answer, ActionResult) and isinstance(answer.result, dict):
        for item in answer.result.get("Parameters", []):
            if isinstance(item, dict) and item.get("Name") and "ARN" not in item:
                name = item["Name"].lstrip("/")
                item["ARN"] = f"arn:aws:ssm:{self.region}:{self.current_account}:parameter/{name}"
    return answer


#: moto's own operations that ours wrap, falling back to them.
_WRAPPED = {"get_document", "describe_parameters"}

_OPERATIONS = {
    "get_document": get_document,
    "describe_parameters": describe_parameters,
    "describe_instance_information": describe_instance_information,
    "get_service_setting": get_service_setting,
    "update_service_setting": update_service_setting,
    "reset_service_setting": reset_service_setting,
    "get_connection_status": get_connection_status,
}


def install() -> None:
    """Add the operations to moto's SSM response class (idempotent)."""
    for name, fn in _OPERATIONS.items():
        existing = getattr(SimpleSystemManagerResponse, name, None)
        if existing is not None and existing is not fn and name not in _WRAPPED:
            # moto grew its own implementation: keep ours so scenarios keep their agent state,
            # but say so loudly in the suite's output.
            print(f"ssm_extension: moto already implements {name}; overriding it")  # noqa: T201
        setattr(SimpleSystemManagerResponse, name, fn)
