"""Patch Manager and State Manager reads that moto 5.2 lacks or answers short, for the
end-to-end suite of ``ssm-doctor patch``.

Like :mod:`ssm_extension`, every operation is a method of moto's own
``SimpleSystemManagerResponse``, so that moto parses the request, authorizes it under its IAM
enforcement (``/moto-api/reset-auth``: the caller's policies decide, an explicit ``Deny`` of e.g.
``ssm:DescribeInstancePatchStates`` refuses it) and renders the result from botocore's SSM model
(timestamps as epoch seconds, unknown fields dropped). One difference from moto's own SSM
operations: a call to one of the operations this module answers (:data:`ANSWERED`) that IAM
refuses is answered as AWS answers it, HTTP 403 with ``{"__type": "AccessDeniedException",
"message": …}``; moto answers the other refused SSM calls (``DescribeParameters``,
``DescribeInstanceInformation`` …) with an XML body (the README notes it), which the tool must
read as a denial all the same.

Added (after the SSM API reference):

* ``GetPatchBaseline``: the baselines moto stores (``CreatePatchBaseline``: name, operating system,
  global filters, approval rules, approved/rejected patches, sources, the patch groups registered
  with it), and AWS's own default baselines, by their ARN (as ``GetDefaultPatchBaseline`` and
  moto's ``GetPatchBaselineForPatchGroup`` name them) or their ``pb-`` id: the ids of moto's
  ``ssm/resources/default_baselines.json`` for the region, the names AWS gives them
  (``AWS-AmazonLinux2023DefaultPatchBaseline``, ``AWS-DefaultPatchBaseline`` for Windows …) and
  approval rules modelled on AWS's published defaults. Unknown ids are ``DoesNotExistException``.
* ``GetDefaultPatchBaseline`` (``OperatingSystem`` defaults to ``WINDOWS``, as documented): AWS's
  default baseline of the OS, unless ``RegisterDefaultPatchBaseline`` (also added) made one of the
  account's baselines the default.
* ``DescribeInstancePatchStates``: from :func:`set_patch_state` (on AWS the agent reports them after
  a Scan or Install); ``InstanceIds`` 1..50, ``MaxResults`` 10..100, instances without a state are
  left out.
* ``ListAssociations`` / ``CreateAssociation``: a State Manager association store
  (:func:`add_association` seeds one with a ``LastExecutionDate``); ``AssociationFilterList`` keys
  ``Name``, ``InstanceId`` (the association's ``InstanceId`` or an ``InstanceIds`` target),
  ``AssociationId``, ``AssociationName``; other keys match nothing.
* ``UpdateMaintenanceWindow``: moto cannot disable a window (``CreateMaintenanceWindow`` has no
  ``Enabled`` on AWS either): ``Enabled``, ``Schedule``, ``StartDate``, ``EndDate``, ``Duration``,
  ``Cutoff``, ``Name``, ``Description`` are updated on moto's window.

Completed (moto's answer, amended):

* ``DescribeMaintenanceWindows`` / ``GetMaintenanceWindow``: ``Enabled`` as set (moto always says
  ``true``), and ``NextExecutionTime`` for enabled windows, which moto never returns. It is an
  *approximation*, computed at the time of the request (the emulator does not keep a scheduler):
  ``rate(N minutes|hours|days)`` → now + N; ``cron(…)`` → now + 1 day (the expression is not
  evaluated); ``at(yyyy-mm-ddThh:mm:ss)`` → that time when it is still ahead, else none. It is
  never earlier than ``StartDate`` and left out when it would be after ``EndDate`` (so a window
  whose ``EndDate`` has passed has none), and left out for a disabled window, as AWS does. The
  string is ISO 8601 like AWS's: ``2026-02-25T00:08:15.099Z`` for a rate, ``2026-02-25T02:00Z``
  otherwise. ``Filters`` ``Name`` and ``Enabled``; ``MaxResults`` (10..100) / ``NextToken`` page.
* ``DescribeMaintenanceWindowTasks``: moto names the task type ``TaskType``, which the model
  drops; it is answered as ``Type``. Moto answers any ``Filters`` with nothing: ``WindowTaskId``,
  ``TaskArn``, ``Priority`` and ``TaskType`` filter here (``DescribeMaintenanceWindowTargets``:
  ``WindowTargetId``, ``Type``, ``OwnerInformation``).
* ``GetPatchBaselineForPatchGroup``: moto fails with HTTP 500 without ``OperatingSystem``; it
  defaults to ``WINDOWS`` as on AWS, and an OS outside the model's enum is a
  ``ValidationException``. A group with no baseline registered for the OS answers AWS's default
  baseline of the OS (moto's behaviour, kept).

State is kept per account and region in this module (``/moto-api/reset`` does not clear it).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ssm.responses import SimpleSystemManagerResponse

from ssm_extension import (
    InvalidFilterKey,
    ValidationException,
    _decode_token,
    _encode_token,
)

DEFAULT_ACCOUNT = "123456789012"
#: The account AWS's own patch baselines belong to (the ARNs of moto's default_baselines.json).
AWS_BASELINE_ACCOUNT = "075727635805"

OPERATING_SYSTEMS = {
    "WINDOWS", "AMAZON_LINUX", "AMAZON_LINUX_2", "AMAZON_LINUX_2022", "AMAZON_LINUX_2023",
    "UBUNTU", "REDHAT_ENTERPRISE_LINUX", "SUSE", "CENTOS", "ORACLE_LINUX", "DEBIAN", "MACOS",
    "RASPBIAN", "ROCKY_LINUX", "ALMA_LINUX",
}

_STARTED = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# --------------------------------------------------------------------------------------------
# Errors, as named in the SSM API reference
# --------------------------------------------------------------------------------------------


class DoesNotExistException(ServiceException):
    code = "DoesNotExistException"


class InvalidResourceId(ServiceException):
    code = "InvalidResourceId"


# --------------------------------------------------------------------------------------------
# AWS's own default patch baselines
# --------------------------------------------------------------------------------------------


def _filters(**values: list[str]) -> dict[str, Any]:
    return {"PatchFilters": [{"Key": k, "Values": v} for k, v in values.items()]}


def _rule(days: int, **values: list[str]) -> dict[str, Any]:
    return {"PatchFilterGroup": _filters(**values), "ComplianceLevel": "UNSPECIFIED",
            "ApproveAfterDays": days, "EnableNonSecurity": False}


_LINUX_SECURITY_AND_BUGFIX = [
    _rule(7, PRODUCT=["*"], CLASSIFICATION=["Security"], SEVERITY=["Critical", "Important"]),
    _rule(7, PRODUCT=["*"], CLASSIFICATION=["Bugfix"]),
]

#: Name, description and approval rules of AWS's default baseline per operating system, after
#: the defaults AWS documents ("Predefined and custom patch baselines"); the others get a
#: generic "AWS-<Os>DefaultPatchBaseline" with the Linux rules.
AWS_DEFAULT_BASELINES: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "WINDOWS": (
        "AWS-DefaultPatchBaseline",
        "Default Patch Baseline Provided by AWS.",
        [_rule(7, PRODUCT=["*"], CLASSIFICATION=["CriticalUpdates", "SecurityUpdates"],
               MSRC_SEVERITY=["Critical", "Important"])],
    ),
    "AMAZON_LINUX": ("AWS-AmazonLinuxDefaultPatchBaseline",
                     "Default Patch Baseline for Amazon Linux Provided by AWS.",
                     _LINUX_SECURITY_AND_BUGFIX),
    "AMAZON_LINUX_2": ("AWS-AmazonLinux2DefaultPatchBaseline",
                       "Default Patch Baseline for Amazon Linux 2 Provided by AWS.",
                       _LINUX_SECURITY_AND_BUGFIX),
    "AMAZON_LINUX_2023": ("AWS-AmazonLinux2023DefaultPatchBaseline",
                          "Default Patch Baseline for Amazon Linux 2023 Provided by AWS.",
                          _LINUX_SECURITY_AND_BUGFIX),
    "REDHAT_ENTERPRISE_LINUX": ("AWS-RedHatDefaultPatchBaseline",
                                "Default Patch Baseline for Redhat Enterprise Linux Provided by "
                                "AWS.", _LINUX_SECURITY_AND_BUGFIX),
    "UBUNTU": (
        "AWS-UbuntuDefaultPatchBaseline",
        "Default Patch Baseline for Ubuntu Provided by AWS.",
        [_rule(7, PRODUCT=["*"], SECTION=["*"],
               PRIORITY=["Required", "Important", "Standard", "Optional", "Extra"])],
    ),
}

_default_ids: dict[str, dict[str, str]] | None = None


def aws_default_baselines(region: str) -> dict[str, str]:
    """Operating system → ARN of AWS's default baseline in ``region`` (moto's own table, so that
    its GetPatchBaselineForPatchGroup and this module name the same baselines)."""
    global _default_ids
    if _default_ids is None:
        raw = (resources.files("moto") / "ssm/resources/default_baselines.json.gz").read_bytes()
        _default_ids = json.loads(gzip.decompress(raw))
    return dict(_default_ids.get(region) or _default_ids["us-east-1"])


def _aws_baseline(region: str, baseline_id: str) -> dict[str, Any] | None:
    for os_name, arn in aws_default_baselines(region).items():
        if baseline_id in (arn, arn.rsplit("/", 1)[-1]):
            generic = "".join(w.capitalize() for w in os_name.split("_"))
            name, description, rules = AWS_DEFAULT_BASELINES.get(os_name, (
                f"AWS-{generic}DefaultPatchBaseline",
                f"Default Patch Baseline for {generic} Provided by AWS.",
                _LINUX_SECURITY_AND_BUGFIX))
            return {
                "BaselineId": baseline_id, "Name": name, "OperatingSystem": os_name,
                "GlobalFilters": {"PatchFilters": []}, "ApprovalRules": {"PatchRules": rules},
                "ApprovedPatches": [], "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
                "ApprovedPatchesEnableNonSecurity": False, "RejectedPatches": [],
                "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY", "PatchGroups": [],
                "CreatedDate": dt.datetime(2018, 11, 1, tzinfo=dt.timezone.utc),
                "ModifiedDate": dt.datetime(2023, 3, 1, tzinfo=dt.timezone.utc),
                "Description": description, "Sources": [],
            }
    return None


# --------------------------------------------------------------------------------------------
# State and the control API
# --------------------------------------------------------------------------------------------


@dataclass
class PatchState:
    instance_id: str
    operation: str
    start_time: dt.datetime
    end_time: dt.datetime
    baseline_id: str
    patch_group: str
    installed: int
    installed_other: int
    installed_pending_reboot: int
    installed_rejected: int
    missing: int
    failed: int
    not_applicable: int
    critical_non_compliant: int
    security_non_compliant: int
    snapshot_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Association:
    association_id: str
    name: str
    targets: list[dict[str, Any]]
    schedule: str | None
    association_name: str | None
    instance_id: str | None
    last_execution: dt.datetime | None
    status: str
    created: dt.datetime
    parameters: dict[str, list[str]] = field(default_factory=dict)


_lock = threading.Lock()
_patch_states: dict[tuple[str, str], dict[str, PatchState]] = {}
_associations: dict[tuple[str, str], list[Association]] = {}
_default_baselines: dict[tuple[str, str], dict[str, str]] = {}  # registered: OS → id
_windows: dict[tuple[str, str], dict[str, bool]] = {}  # window id → Enabled


def _when(value: dt.datetime | float | str | None, default: dt.datetime) -> dt.datetime:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def set_patch_state(instance_id: str, region: str, *, account: str = DEFAULT_ACCOUNT,
                    operation: str = "Install",
                    end_time: dt.datetime | float | str | None = None,
                    failed: int = 0, missing: int = 0, installed: int = 42,
                    installed_other: int = 0, installed_pending_reboot: int = 0,
                    installed_rejected: int = 0, not_applicable: int = 0,
                    baseline_id: str = "", patch_group: str = "") -> PatchState:
    """What the agent reports after running AWS-RunPatchBaseline on ``instance_id``: the
    operation (``Scan`` or ``Install``) and when it ended (default: an hour ago; it started
    15 minutes before), the counts, the baseline and patch group it ran with."""
    if operation not in ("Scan", "Install"):
        raise ValueError("operation must be Scan or Install")
    now = dt.datetime.now(dt.timezone.utc)
    end = _when(end_time, now - dt.timedelta(hours=1))
    state = PatchState(
        instance_id=instance_id, operation=operation, start_time=end - dt.timedelta(minutes=15),
        end_time=end, baseline_id=baseline_id, patch_group=patch_group, installed=installed,
        installed_other=installed_other, installed_pending_reboot=installed_pending_reboot,
        installed_rejected=installed_rejected, missing=missing, failed=failed,
        not_applicable=not_applicable, critical_non_compliant=0,
        security_non_compliant=missing,
    )
    with _lock:
        _patch_states.setdefault((account, region), {})[instance_id] = state
    return state


def clear_patch_state(instance_id: str, region: str, *, account: str = DEFAULT_ACCOUNT) -> None:
    with _lock:
        _patch_states.get((account, region), {}).pop(instance_id, None)


def add_association(region: str, name: str, *, account: str = DEFAULT_ACCOUNT,
                    targets: list[dict[str, Any]] | None = None, instance_id: str | None = None,
                    schedule: str | None = "rate(1 day)", association_name: str | None = None,
                    last_execution: dt.datetime | float | str | None = None,
                    status: str = "Success",
                    parameters: dict[str, list[str]] | None = None) -> str:
    """A State Manager association of document ``name`` (e.g. ``AWS-RunPatchBaseline``) with
    ``targets`` (``[{"Key": "tag:Patch Group", "Values": ["web"]}]``) or one ``instance_id``; its
    last run at ``last_execution`` (None: never ran). Returns the AssociationId."""
    association = Association(
        association_id=str(uuid.uuid4()), name=name, targets=list(targets or []),
        schedule=schedule, association_name=association_name, instance_id=instance_id,
        last_execution=None if last_execution is None else _when(last_execution, _STARTED),
        status=status if last_execution is not None else "Pending",
        created=dt.datetime.now(dt.timezone.utc), parameters=dict(parameters or {}),
    )
    with _lock:
        _associations.setdefault((account, region), []).append(association)
    return association.association_id


def reset() -> None:
    with _lock:
        _patch_states.clear()
        _associations.clear()
        _default_baselines.clear()
        _windows.clear()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _page(items: list[Any], token: str | None, max_results: Any, low: int, high: int,
          default: int | None) -> tuple[list[Any], str | None]:
    if max_results is None:
        size = default if default is not None else max(len(items), 1)
    else:
        size = int(max_results)
        if not low <= size <= high:
            raise ValidationException(
                f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value between {low} and {high}")
    offset = _decode_token(token)
    page = items[offset:offset + size]
    more = _encode_token(offset + size) if offset + size < len(items) else None
    return page, more


def _operating_system(value: str | None) -> str:
    value = value or "WINDOWS"
    if value not in OPERATING_SYSTEMS:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'operatingSystem' failed to "
            f"satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(sorted(OPERATING_SYSTEMS))}]")
    return value


def _parse_date(value: str | None) -> dt.datetime | None:
    """StartDate / EndDate: ISO 8601 ("2026-01-01T00:00:00Z", with an offset, or without a zone:
    UTC)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


def next_execution_time(schedule: str | None, *, enabled: bool = True,
                        start_date: str | None = None, end_date: str | None = None,
                        now: dt.datetime | None = None) -> str | None:
    """The emulator's NextExecutionTime (module docstring): None when the window never runs
    again."""
    if not enabled or not schedule:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    schedule = schedule.strip()
    precise = False
    if m := _RATE.match(schedule):
        amount, unit = int(m.group(1)), m.group(2).rstrip("s")
        nxt = now + dt.timedelta(**{f"{unit}s": amount})
        precise = True
    elif m := _AT.match(schedule):
        nxt = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.timezone.utc)
        if nxt <= now:
            return None
    elif schedule.startswith("cron("):
        nxt = (now + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    else:
        return None
    start, end = _parse_date(start_date), _parse_date(end_date)
    if start is not None and nxt < start:
        nxt = start
    if end is not None and nxt > end:
        return None
    if precise:
        return nxt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nxt.microsecond // 1000:03d}Z"
    return nxt.strftime("%Y-%m-%dT%H:%MZ")


def _enabled(self: SimpleSystemManagerResponse, window_id: str) -> bool:
    with _lock:
        return _windows.get((self.current_account, self.region), {}).get(window_id, True)


def _window_json(self: SimpleSystemManagerResponse, window: Any) -> dict[str, Any]:
    item = window.to_json()
    item["Enabled"] = _enabled(self, window.id)
    nxt = next_execution_time(window.schedule, enabled=item["Enabled"],
                              start_date=window.start_date, end_date=window.end_date)
    if nxt:
        item["NextExecutionTime"] = nxt
    return {k: v for k, v in item.items() if v is not None}


# --------------------------------------------------------------------------------------------
# The operations
# --------------------------------------------------------------------------------------------


def describe_maintenance_windows(self: SimpleSystemManagerResponse) -> ActionResult:
    filters = self._get_param("Filters") or []
    windows = [_window_json(self, w) for w in self.ssm_backend.windows.values()]
    for f in filters:
        key, values = f.get("Key"), f.get("Values") or []
        if key == "Name":
            windows = [w for w in windows if w.get("Name") in values]
        elif key == "Enabled":
            wanted = {v.lower() for v in values}
            windows = [w for w in windows if str(w["Enabled"]).lower() in wanted]
        else:
            raise ValidationException(f"Filter key {key} is not valid. Valid keys: Name, Enabled")
    page, token = _page(windows, self._get_param("NextToken"), self._get_param("MaxResults"),
                        10, 100, None)
    result: dict[str, Any] = {"WindowIdentities": page}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def get_maintenance_window(self: SimpleSystemManagerResponse) -> ActionResult:
    window = self.ssm_backend.get_maintenance_window(self._get_param("WindowId"))
    item = _window_json(self, window)
    item.update(AllowUnassociatedTargets=False, CreatedDate=_STARTED, ModifiedDate=_STARTED)
    return ActionResult(item)


def update_maintenance_window(self: SimpleSystemManagerResponse) -> ActionResult:
    window = self.ssm_backend.get_maintenance_window(self._get_param("WindowId"))
    for param, attribute in (("Name", "name"), ("Description", "description"),
                             ("Schedule", "schedule"), ("ScheduleTimezone", "schedule_timezone"),
                             ("ScheduleOffset", "schedule_offset"), ("StartDate", "start_date"),
                             ("EndDate", "end_date"), ("Duration", "duration"),
                             ("Cutoff", "cutoff")):
        value = self._get_param(param)
        if value is not None:
            setattr(window, attribute, value)
    enabled = self._get_param("Enabled")
    if enabled is not None:
        with _lock:
            _windows.setdefault((self.current_account, self.region), {})[window.id] = \
                bool(enabled)
    item = _window_json(self, window)
    item.pop("NextExecutionTime", None)
    item["AllowUnassociatedTargets"] = bool(self._get_param("AllowUnassociatedTargets"))
    return ActionResult(item)


def _match_any(value: Any, values: list[str]) -> bool:
    return str(value) in values


def describe_maintenance_window_tasks(self: SimpleSystemManagerResponse) -> ActionResult:
    window = self.ssm_backend.get_maintenance_window(self._get_param("WindowId"))
    tasks = []
    for task in window.tasks.values():
        item = task.to_json()
        item["Type"] = item.pop("TaskType", None)
        item["CutoffBehavior"] = task.cutoff_behavior
        item["TaskInvocationParameters"] = None  # not part of this answer on AWS
        tasks.append({k: v for k, v in item.items() if v is not None})
    for f in self._get_param("Filters") or []:
        key, values = f.get("Key"), f.get("Values") or []
        field_name = {"WindowTaskId": "WindowTaskId", "TaskArn": "TaskArn",
                      "Priority": "Priority", "TaskType": "Type"}.get(key)
        if field_name is None:
            raise InvalidFilterKey(f"The filter key {key} is not valid")
        tasks = [t for t in tasks if _match_any(t.get(field_name), values)]
    page, token = _page(tasks, self._get_param("NextToken"), self._get_param("MaxResults"),
                        10, 100, None)
    result: dict[str, Any] = {"Tasks": page}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def describe_maintenance_window_targets(self: SimpleSystemManagerResponse) -> ActionResult:
    window = self.ssm_backend.get_maintenance_window(self._get_param("WindowId"))
    targets = [{k: v for k, v in t.to_json().items() if v is not None}
               for t in window.targets.values()]
    for f in self._get_param("Filters") or []:
        key, values = f.get("Key"), f.get("Values") or []
        field_name = {"WindowTargetId": "WindowTargetId", "Type": "ResourceType",
                      "OwnerInformation": "OwnerInformation"}.get(key)
        if field_name is None:
            raise InvalidFilterKey(f"The filter key {key} is not valid")
        targets = [t for t in targets if _match_any(t.get(field_name), values)]
    page, token = _page(targets, self._get_param("NextToken"), self._get_param("MaxResults"),
                        10, 100, None)
    result: dict[str, Any] = {"Targets": page}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def _registered_default(self: SimpleSystemManagerResponse, os_name: str) -> str | None:
    with _lock:
        return _default_baselines.get((self.current_account, self.region), {}).get(os_name)


def get_default_patch_baseline(self: SimpleSystemManagerResponse) -> ActionResult:
    os_name = _operating_system(self._get_param("OperatingSystem"))
    baseline_id = _registered_default(self, os_name) or \
        aws_default_baselines(self.region)[os_name]
    return ActionResult({"BaselineId": baseline_id, "OperatingSystem": os_name})


def register_default_patch_baseline(self: SimpleSystemManagerResponse) -> ActionResult:
    baseline_id = self._get_param("BaselineId")
    stored = self.ssm_backend.baselines.get(baseline_id)
    if stored is not None:
        os_name = stored.operating_system
    else:
        aws = _aws_baseline(self.region, baseline_id or "")
        if aws is None:
            raise DoesNotExistException(f"Patch Baseline {baseline_id} does not exist.")
        os_name = aws["OperatingSystem"]
    with _lock:
        _default_baselines.setdefault((self.current_account, self.region), {})[os_name] = \
            baseline_id
    for baseline in self.ssm_backend.baselines.values():
        if baseline.operating_system == os_name:
            baseline.default_baseline = baseline.id == baseline_id
    return ActionResult({"BaselineId": baseline_id})


def get_patch_baseline(self: SimpleSystemManagerResponse) -> ActionResult:
    baseline_id = self._get_param("BaselineId") or ""
    if not re.match(r"^[a-zA-Z0-9_\-:/]{20,128}$", baseline_id):
        raise InvalidResourceId(f"Invalid baseline id {baseline_id}")
    stored = self.ssm_backend.baselines.get(baseline_id)
    if stored is None:
        aws = _aws_baseline(self.region, baseline_id)
        if aws is None:
            raise DoesNotExistException(f"Patch Baseline {baseline_id} does not exist.")
        aws["PatchGroups"] = sorted(
            name for name, group in self.ssm_backend.patch_groups.items()
            if group.associations.get(aws["OperatingSystem"]) == baseline_id)
        return ActionResult(aws)
    groups = sorted(name for name, group in self.ssm_backend.patch_groups.items()
                    if group.associations.get(stored.operating_system) == baseline_id)
    result = {
        "BaselineId": stored.id,
        "Name": stored.name,
        "OperatingSystem": stored.operating_system,
        "GlobalFilters": stored.global_filters or {"PatchFilters": []},
        "ApprovalRules": stored.approval_rules or {"PatchRules": []},
        "ApprovedPatches": stored.approved_patches or [],
        "ApprovedPatchesComplianceLevel": stored.approved_patches_compliance_level
        or "UNSPECIFIED",
        "ApprovedPatchesEnableNonSecurity": bool(stored.approved_patches_enable_non_security),
        "RejectedPatches": stored.rejected_patches or [],
        "RejectedPatchesAction": stored.rejected_patches_action or "ALLOW_AS_DEPENDENCY",
        "PatchGroups": groups,
        "CreatedDate": _STARTED,
        "ModifiedDate": _STARTED,
        "Description": stored.description,
        "Sources": stored.sources or [],
    }
    return ActionResult({k: v for k, v in result.items() if v is not None})


def get_patch_baseline_for_patch_group(self: SimpleSystemManagerResponse) -> Any:
    os_name = _operating_system(self._get_param("OperatingSystem"))
    patch_group = self._get_param("PatchGroup")
    if not patch_group:
        raise ValidationException("PatchGroup must not be empty")
    baseline_id, group, _ = self.ssm_backend.get_patch_baseline_for_patch_group(
        patch_group=patch_group, operating_system=os_name)
    return ActionResult({"BaselineId": baseline_id, "PatchGroup": group,
                         "OperatingSystem": os_name})


def describe_instance_patch_states(self: SimpleSystemManagerResponse) -> ActionResult:
    ids = self._get_param("InstanceIds") or []
    if not 1 <= len(ids) <= 50:
        raise ValidationException(
            "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: "
            "Member must have length less than or equal to 50 and greater than or equal to 1")
    with _lock:
        known = dict(_patch_states.get((self.current_account, self.region), {}))
    items = []
    for iid in ids:
        state = known.get(iid)
        if state is None:
            continue
        items.append({
            "InstanceId": state.instance_id,
            "PatchGroup": state.patch_group,
            "BaselineId": state.baseline_id,
            "SnapshotId": state.snapshot_id,
            "InstalledCount": state.installed,
            "InstalledOtherCount": state.installed_other,
            "InstalledPendingRebootCount": state.installed_pending_reboot,
            "InstalledRejectedCount": state.installed_rejected,
            "MissingCount": state.missing,
            "FailedCount": state.failed,
            "UnreportedNotApplicableCount": 0,
            "NotApplicableCount": state.not_applicable,
            "OperationStartTime": state.start_time,
            "OperationEndTime": state.end_time,
            "Operation": state.operation,
            "RebootOption": "RebootIfNeeded",
            "CriticalNonCompliantCount": state.critical_non_compliant,
            "SecurityNonCompliantCount": state.security_non_compliant,
            "OtherNonCompliantCount": 0,
        })
    page, token = _page(items, self._get_param("NextToken"), self._get_param("MaxResults"),
                        10, 100, None)
    result: dict[str, Any] = {"InstancePatchStates": page}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def _association_matches(a: Association, key: str, value: str) -> bool:
    if key == "Name":
        return a.name == value
    if key == "AssociationId":
        return a.association_id == value
    if key == "AssociationName":
        return a.association_name == value
    if key == "InstanceId":
        return a.instance_id == value or any(
            t.get("Key") == "InstanceIds" and value in (t.get("Values") or [])
            for t in a.targets)
    return False


_ASSOCIATION_FILTER_KEYS = {"InstanceId", "Name", "AssociationId", "AssociationStatusName",
                            "LastExecutedBefore", "LastExecutedAfter", "AssociationName",
                            "ResourceGroupName", "CloudConnectorId"}


def _association_item(a: Association) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Name": a.name,
        "AssociationId": a.association_id,
        "AssociationVersion": "1",
        "DocumentVersion": "$DEFAULT",
        "Targets": a.targets or None,
        "InstanceId": a.instance_id,
        "LastExecutionDate": a.last_execution,
        "Overview": {"Status": a.status, "DetailedStatus": a.status,
                     "AssociationStatusAggregatedCount": {a.status: 1}},
        "ScheduleExpression": a.schedule,
        "AssociationName": a.association_name,
    }
    return {k: v for k, v in item.items() if v is not None}


def list_associations(self: SimpleSystemManagerResponse) -> ActionResult:
    filters = self._get_param("AssociationFilterList") or []
    for f in filters:
        if f.get("key") not in _ASSOCIATION_FILTER_KEYS:
            raise ValidationException(f"Invalid association filter key {f.get('key')}")
    with _lock:
        listed = list(_associations.get((self.current_account, self.region), []))
    matching = [a for a in listed
                if all(_association_matches(a, f["key"], f.get("value", "")) for f in filters)]
    page, token = _page([_association_item(a) for a in matching], self._get_param("NextToken"),
                        self._get_param("MaxResults"), 1, 50, 50)
    result: dict[str, Any] = {"Associations": page}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def create_association(self: SimpleSystemManagerResponse) -> ActionResult:
    name = self._get_param("Name")
    targets = self._get_param("Targets") or []
    instance_id = self._get_param("InstanceId")
    if not name or not (targets or instance_id):
        raise ValidationException("Name and Targets (or InstanceId) are required")
    association_id = add_association(
        self.region, name, account=self.current_account, targets=targets,
        instance_id=instance_id, schedule=self._get_param("ScheduleExpression"),
        association_name=self._get_param("AssociationName"),
        parameters=self._get_param("Parameters"))
    with _lock:
        a = next(x for x in _associations[(self.current_account, self.region)]
                 if x.association_id == association_id)
    description = _association_item(a)
    description.update(Date=a.created, LastUpdateAssociationDate=a.created,
                       Status={"Date": a.created, "Name": "Pending", "Message": "Associated"})
    description.pop("LastExecutionDate", None)
    return ActionResult({"AssociationDescription": description})


# --------------------------------------------------------------------------------------------
# Refusals in SSM's own error format, and installation
# --------------------------------------------------------------------------------------------

#: The operations this module adds (moto has none of them).
ADDED = {"GetPatchBaseline", "GetDefaultPatchBaseline", "RegisterDefaultPatchBaseline",
         "DescribeInstancePatchStates", "ListAssociations", "CreateAssociation",
         "UpdateMaintenanceWindow"}
#: Every operation this module answers (moto's amended ones too): refused, they answer JSON.
ANSWERED = ADDED | {"DescribeMaintenanceWindows", "GetMaintenanceWindow",
                    "DescribeMaintenanceWindowTasks", "DescribeMaintenanceWindowTargets",
                    "GetPatchBaselineForPatchGroup"}

_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)


def _json_denial(status: int, headers: dict[str, Any], body: Any) -> tuple[int, dict, str]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    if not text.lstrip().startswith("<"):
        return status, headers, body
    m = _XML_MESSAGE.search(text)
    message = m.group(1).strip() if m else "Access denied"
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type",
                                                                    "content-length")}
    headers["Content-Type"] = "application/x-amz-json-1.1"
    headers["x-amzn-ErrorType"] = "AccessDeniedException"
    return status, headers, json.dumps({"__type": "AccessDeniedException", "message": message})


_moto_call_action = SimpleSystemManagerResponse.call_action


def call_action(self: SimpleSystemManagerResponse) -> Any:
    status, headers, body = _moto_call_action(self)
    if int(status) == 403 and self._get_action() in ANSWERED:
        return _json_denial(int(status), dict(headers), body)
    return status, headers, body


_OPERATIONS = {
    "describe_maintenance_windows": describe_maintenance_windows,
    "get_maintenance_window": get_maintenance_window,
    "update_maintenance_window": update_maintenance_window,
    "describe_maintenance_window_tasks": describe_maintenance_window_tasks,
    "describe_maintenance_window_targets": describe_maintenance_window_targets,
    "get_default_patch_baseline": get_default_patch_baseline,
    "register_default_patch_baseline": register_default_patch_baseline,
    "get_patch_baseline": get_patch_baseline,
    "get_patch_baseline_for_patch_group": get_patch_baseline_for_patch_group,
    "describe_instance_patch_states": describe_instance_patch_states,
    "list_associations": list_associations,
    "create_association": create_association,
    "call_action": call_action,
}
#: moto's own operations that this module amends (the rest are new).
_AMENDED = {"describe_maintenance_windows", "get_maintenance_window",
            "describe_maintenance_window_tasks", "describe_maintenance_window_targets",
            "get_patch_baseline_for_patch_group", "call_action"}


def install() -> None:
    """Add the operations to moto's SSM response class (idempotent)."""
    for name, fn in _OPERATIONS.items():
        existing = getattr(SimpleSystemManagerResponse, name, None)
        if existing is not None and existing is not fn and name not in _AMENDED:
            print(f"patch_extension: moto already implements {name}; overriding it")  # noqa: T201
        setattr(SimpleSystemManagerResponse, name, fn)
