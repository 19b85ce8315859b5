"""Route 53 under moto 5.2's IAM enforcement, fixed in-process for the end-to-end suite.

With enforcement on, moto refuses every Route 53 request with ``SignatureDoesNotMatch``: it
recomputes the signature of a REST request over a path and query string other than the ones the
client signed (the SDKs sign ``/2013-04-01/hostedzonesbyvpc?vpcid=…&vpcregion=…``). The denial
matrix needs Route 53's reads authorized like any other: this module skips moto's signature check
for Route 53 only (the caller is still looked up by its access key, and its policies still decide
the action), leaving every other service's check as it is.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import IAMRequest

_SERVICES = {"route53"}


def install() -> None:
    original = IAMRequest.check_signature
    if getattr(original, "_e2e_route53", False):
        return

    def check_signature(self: IAMRequest) -> Any:
        if self._service in _SERVICES:
            return None
        return original(self)

    check_signature._e2e_route53 = True  # type: ignore[attr-defined]
    IAMRequest.check_signature = check_signature  # type: ignore[method-assign]
