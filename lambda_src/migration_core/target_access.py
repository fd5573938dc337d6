"""How a part reaches the target table when the target lives in another AWS account or region.

A target in another region (Terraform's ``target_region``, ``TARGET_REGION``): every client of the target is made
for that region, whatever the function's own region is. DynamoDB serves a table only from its own region's
endpoint, by name or by ARN alike, so the region is a property of the client, not of the table's name.

A target in another account, two ways, both configured by the Terraform module (variable ``target_account``):

- **assume a role** in the target's account (``TARGET_ROLE_ARN``, optional ``TARGET_ROLE_EXTERNAL_ID``): every
  call on the target goes through a session whose credentials come from ``sts:AssumeRole`` and are refreshed
  before they expire, so a long invocation never fails on an expired token;
- **the target table's resource-based policy**: ``TARGET_TABLE`` is the table's ARN, which DynamoDB accepts as a
  ``TableName`` from another account when the table's policy allows the caller. The default session serves.

Everything on the source side (source table, state table, queues) keeps the Lambda's own credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, CredentialProvider, DeferredRefreshableCredentials

from migration_core.environment import Environment
from migration_core.errors import ConfigurationError

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
# STS: 2-1224 characters of letters, digits and +=,.@:/- (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
# RoleSessionName: 2-64 characters of letters, digits and +=,.@-.
SESSION_NAME_LIMIT = 64
SESSION_NAME_DISALLOWED = re.compile(r"[^\w+=,.@-]")
# us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1: the shape of every region name.
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


@dataclass(frozen=True)
class TargetAccess:
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "ddb-migrate"
    # None: the function's own region (the SDK's default), where the source is.
    region: str | None = None

    def __post_init__(self) -> None:
        if self.region is not None and not REGION.fullmatch(self.region):
            raise ConfigurationError(f"TARGET_REGION must be an AWS region name such as eu-west-1, got {self.region!r}")
        if not 2 <= len(self.session_name) <= SESSION_NAME_LIMIT or SESSION_NAME_DISALLOWED.search(self.session_name):
            raise ConfigurationError(
                f"role session name must be 2-{SESSION_NAME_LIMIT} letters, digits or +=,.@-, got {self.session_name!r}"
            )
        if self.role_arn is not None and not ROLE_ARN.fullmatch(self.role_arn):
            raise ConfigurationError(f"TARGET_ROLE_ARN must be an IAM role ARN, got {self.role_arn!r}")
        if self.external_id is not None:
            if self.role_arn is None:
                raise ConfigurationError("TARGET_ROLE_EXTERNAL_ID needs TARGET_ROLE_ARN")
            if not EXTERNAL_ID.fullmatch(self.external_id):
                raise ConfigurationError(
                    "TARGET_ROLE_EXTERNAL_ID must be 2-1224 characters of letters, digits, +=,.@:/-"
                )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> TargetAccess:
        env = Environment(environ)
        # Named after the function, so CloudTrail in the target's account shows which part made a call.
        function = SESSION_NAME_DISALLOWED.sub("-", env.optional("AWS_LAMBDA_FUNCTION_NAME") or "")
        return cls(
            role_arn=env.optional("TARGET_ROLE_ARN"),
            external_id=env.optional("TARGET_ROLE_EXTERNAL_ID"),
            session_name=function[:SESSION_NAME_LIMIT] if len(function) >= 2 else "ddb-migrate",
            region=env.optional("TARGET_REGION"),
        )

    def client(self, service_name: str, *, config: Config | None = None) -> Any:
        """A client for calls on the target, in the target's region: boto3's default credentials unless a role is
        to be assumed."""
        if self.role_arn is None:
            return boto3.client(service_name, config=config, region_name=self.region)  # type: ignore[call-overload]
        return self._assumed_role_session.client(  # type: ignore[call-overload]
            service_name, config=config, region_name=self.region
        )

    @cached_property
    def _assumed_role_session(self) -> boto3.Session:
        # One session for every client of the target, so they share one set of assumed-role credentials.
        assert self.role_arn is not None  # noqa: S101 - client() only comes here with a role
        base = boto3.Session()
        extra_args: dict[str, Any] = {"RoleSessionName": self.session_name}
        if self.external_id is not None:
            extra_args["ExternalId"] = self.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=base.client,
            source_credentials=base.get_credentials(),
            role_arn=self.role_arn,
            extra_args=extra_args,
        )
        assumed = botocore.session.Session()
        assumed.get_component("credential_provider").insert_before("env", _AssumedRoleProvider(fetcher))
        return boto3.Session(botocore_session=assumed, region_name=base.region_name)


class _AssumedRoleProvider(CredentialProvider):
    """Ahead of every other provider in the target session: its credentials are the assumed role's."""

    METHOD = "assume-role-target"
    CANONICAL_NAME = "ddb-migrate-target-role"

    def __init__(self, fetcher: AssumeRoleCredentialFetcher) -> None:
        super().__init__()
        self._fetcher = fetcher

    def load(self) -> DeferredRefreshableCredentials:
        # Deferred: the role is assumed on the first call on the target, not when the container starts.
        return DeferredRefreshableCredentials(refresh_using=self._fetcher.fetch_credentials, method=self.METHOD)
