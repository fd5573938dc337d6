"""DynamoDB calls on a table of another account, by its ARN, allowed by the table's resource-based policy.

moto keeps one backend per account and serves every call from the caller's own account, so a table named by the
ARN of another account is simply not found. On AWS such a call reaches that account's table when its
resource-based policy allows the caller. This patch does the same: a request whose table ARNs all belong to one
other account is served by that account's backend if, and only if, each table's policy has an ``Allow``
statement whose principal is in the caller's account; otherwise it answers ``AccessDeniedException``, as AWS
does. It checks principals by account, not by role (moto does not tell which role signed a request), and does
not evaluate actions or conditions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamodb_backends

TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+")


class AccessDeniedError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


def table_arns(body: Mapping[str, Any]) -> list[str]:
    """The table ARNs a DynamoDB request names (single-table calls and the batch calls)."""
    names: list[Any] = [body.get("TableName"), *body.get("RequestItems", {})]
    return [name for name in names if isinstance(name, str) and TABLE_ARN.fullmatch(name)]


def policy_allows_account(policy_document: str, account: str) -> bool:
    """Whether an ``Allow`` statement names a principal of ``account`` (its root, a role or user ARN, or ``*``)."""
    statements = json.loads(policy_document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if not isinstance(principal, Mapping):
            continue
        if any(_principal_in(value, account) for value in _as_list(principal.get("AWS"))):
            return True
    return False


def _principal_in(value: str, account: str) -> bool:
    return (
        value in ("*", account)
        or value.startswith(f"arn:aws:iam::{account}:")
        or value.startswith(f"arn:aws-cn:iam::{account}:")
    )


def _as_list(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value or [] if isinstance(item, str)]


def routed_backend_property(original: property) -> property:
    """``DynamoHandler.dynamodb_backend``, serving calls on another account's table ARN from that account."""

    def get(self: Any) -> Any:
        own = original.fget(self) if original.fget else None
        body = getattr(self, "body", None)
        if not isinstance(body, Mapping):
            return own
        arns = table_arns(body)
        accounts = {arn.split(":")[4] for arn in arns}
        accounts.discard(self.current_account)
        if not accounts:
            return own
        if len(accounts) > 1:
            raise AccessDeniedError("the emulator serves one request from at most one other account")
        (account,) = accounts
        backend = dynamodb_backends[account][self.region]
        for arn in arns:
            policy = backend.resource_policies.get(arn)
            if policy is None or not policy_allows_account(policy.policy_doc, self.current_account):
                raise AccessDeniedError(
                    f"account {self.current_account} is not authorized to access {arn}: the table's resource-based "
                    "policy does not allow it"
                )
        return backend

    return property(get)
