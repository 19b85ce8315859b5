"""EC2's serial console output per instance, which moto answers with one fixed sample for every
instance, and the IPv6 subnet attributes moto 5.2 gets wrong, for the end-to-end suite.

``GetConsoleOutput`` of an instance a scenario gave an output (:func:`set_console_output`) answers
that text (base64-encoded, with ``Timestamp`` the time it was set), ``Latest`` or not; any other
instance gets moto's generic boot log (which shows no SSM agent), captured at the first call: as
on AWS, the output and its ``Timestamp`` stay what they were until the console writes more (moto
stamps its own answer anew on every call).

Subnets (DescribeSubnets, ModifySubnetAttribute), after the EC2 API reference:

* ``ModifySubnetAttribute`` ``EnableDns64`` is stored (moto accepts and drops it) and every subnet
  says ``enableDns64`` (``false`` until turned on);
* ``availableIpAddressCount`` counts IPv4 addresses only: an IPv6-only subnet has none (moto
  answers 2^64 - 5, which no SDK reads as an integer, failing the whole DescribeSubnets);
* ``ipv6CidrBlockState`` is ``{"state": "associated"}`` (moto nests the state in itself and
  renders a Python dict as its text).

An IPv6-only instance can be launched in a VPC with DNS hostnames on: moto names every interface
after its private address read as IPv4 (``ip-a-b-c-d``) and fails on an IPv6 one; it gets a name
of its address's groups instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2 import utils as ec2_utils
from moto.ec2.models import elastic_network_interfaces
from moto.ec2.models.subnets import Subnet
from moto.ec2.responses.general import SAMPLE_CONSOLE_OUTPUT, General
from moto.ec2.responses.subnets import Subnets

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


_moto_modify_subnet_attribute = Subnets.modify_subnet_attribute
_moto_available_ip_address_count = Subnet.available_ip_address_count


def modify_subnet_attribute(self: Any) -> Any:
    """moto's ModifySubnetAttribute, plus ``EnableDns64`` (which moto accepts and drops)."""
    dns64 = self._get_param("EnableDns64.Value")
    if dns64 is not None:
        subnet = self.ec2_backend.get_subnet(self._get_param("SubnetId"))
        subnet.enable_dns64 = dns64 is True or str(dns64).lower() == "true"
    return _moto_modify_subnet_attribute(self)


def available_ip_address_count(self: Subnet) -> int:
    """Free IPv4 addresses: none in an IPv6-only subnet (moto counts its /64)."""
    if self.cidr.version == 6:
        return 0
    return max(0, _moto_available_ip_address_count.fget(self))


def ipv6_cidr_block_association_set(self: Subnet) -> list[dict[str, Any]]:
    """The subnet's associated IPv6 blocks, each with its state as AWS renders it."""
    return [
        {
            "ipv6CidrBlock": association["ipv6CidrBlock"],
            "associationId": association["associationId"],
            "ipv6CidrBlockState": {"state": association["ipv6CidrBlockState"]["State"]},
        }
        for association in self.ipv6_cidr_block_associations.values()
        if association["ipv6CidrBlockState"]["State"] == "associated"
    ]


_moto_generate_dns_from_ip = ec2_utils.generate_dns_from_ip


def generate_dns_from_ip(ip: Any, dns_type: str = "internal") -> str:
    """moto's ``ip-a-b-c-d.ec2.internal``, and for an IPv6 address its groups joined by dashes."""
    address = str(ip).split("/")[0]
    if ":" in address:
        return f"ip-{address.replace(':', '-')}.ec2.{dns_type}"
    return _moto_generate_dns_from_ip(ip, dns_type)


def install() -> None:
    """Answer GetConsoleOutput and the subnet attributes as above (idempotent)."""
    General.get_console_output = get_console_output
    Subnets.modify_subnet_attribute = modify_subnet_attribute
    Subnet.enable_dns64 = False  # what every subnet says until ModifySubnetAttribute turns it on
    Subnet.available_ip_address_count = property(available_ip_address_count)
    Subnet.ipv6_cidr_block_association_set = property(ipv6_cidr_block_association_set)
    elastic_network_interfaces.generate_dns_from_ip = generate_dns_from_ip
