"""AWS managed KMS keys as AWS shows them, for the end-to-end suite.

moto creates the key behind a reserved alias (``alias/aws/ssm``, ``alias/aws/s3`` …) the first
time it is named, but as a *customer* key with moto's default key policy (the account root,
delegating to IAM). On AWS it is an AWS managed key: ``DescribeKey`` answers ``KeyManager``
``AWS`` and the description AWS gives it, and its key policy lets every principal of the account
use it *through the service* (``kms:ViaService`` ``<service>.<region>.amazonaws.com`` and
``kms:CallerAccount``) and lets the account read its metadata. That is what a SecureString
parameter encrypted with the default key ``alias/aws/ssm`` relies on: no grant of the role's is
needed. This module makes moto's reserved-alias keys so; customer keys are untouched.
"""

from __future__ import annotations

import json
from typing import Any

from moto.kms.models import KmsBackend

_DESCRIPTIONS = {
    "ssm": "Default key that protects my SSM parameters when no other key is defined",
    "s3": "Default key that protects my S3 objects when no other key is defined",
    "ebs": "Default key that protects my EBS volumes when no other key is defined",
}


def aws_managed_key_policy(service: str, account: str, region: str) -> dict[str, Any]:
    """The key policy AWS gives the AWS managed key of ``service`` (e.g. ``aws/ssm``)."""
    return {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-1",
        "Statement": [
            {
                "Sid": f"Allow access through {service.upper()} for all principals in the "
                       f"account that are authorized to use {service.upper()}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                           "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": f"{service}.{region}.amazonaws.com"}},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }


_moto_generate_default_keys = KmsBackend._generate_default_keys


def _generate_default_keys(self: KmsBackend, alias_name: str) -> str | None:
    key_id = _moto_generate_default_keys(self, alias_name)
    if key_id is not None:
        service = alias_name.split("/", 2)[-1]
        key = self.keys[key_id]
        key.key_manager = "AWS"
        key.description = _DESCRIPTIONS.get(
            service, f"Default key that protects my {service} data when no other key is defined")
        key.policy = json.dumps(aws_managed_key_policy(service, self.account_id,
                                                       self.region_name))
    return key_id


def install() -> None:
    """Make moto's reserved-alias keys AWS managed (idempotent)."""
    KmsBackend._generate_default_keys = _generate_default_keys  # type: ignore[method-assign]
