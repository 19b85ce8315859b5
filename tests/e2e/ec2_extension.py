"""EC2's serial console output per instance, which moto answers with one fixed sample for every
instance, for the end-to-end suite.

``GetConsoleOutput`` of an instance a scenario gave an output (:func:`set_console_output`) answers
that text (base64-encoded, with ``Timestamp`` the time it was set), ``Latest`` or not; any other
instance gets moto's generic boot log (which shows no SSM agent), captured at the first call: as
on AWS, the output and its ``Timestamp`` stay what they were until the console writes more (moto
stamps its own answer anew on every call).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses.general import SAMPLE_CONSOLE_OUTPUT, General

_lock = threading.Lock()
#: instance id → (output, when it was set)
_outputs: dict[str, tuple[str, dt.datetime]] = {}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def set_console_output(instance_id: str, text: str) -> None:
    with _lock:
        _outputs[instance_id] = (text, _now())


def get_console_output(self: Any) -> Any:
    instance_id = self._get_param("InstanceId")
    self.ec2_backend.get_instance(instance_id)  # an unknown id is moto's InvalidInstanceID
    with _lock:
        # moto's sample, captured once: its own answer is stamped anew on every call
        text, when = _outputs.setdefault(instance_id, (SAMPLE_CONSOLE_OUTPUT, _now()))
    return ActionResult({
        "InstanceId": instance_id,
        "Timestamp": when,
        "Output": base64.b64encode(text.encode()).decode(),
    })


def install() -> None:
    """Answer GetConsoleOutput as above (idempotent)."""
    General.get_console_output = get_console_output
