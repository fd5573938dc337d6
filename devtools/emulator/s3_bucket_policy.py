"""S3 bucket policies evaluated as S3 does, for the object operations moto checks them on.

moto decides a bucket policy with its own evaluator, which knows one condition operator (StringEquals) and treats
every other condition as met, and which has no request context. A bucket policy of AWS's recommended shape, "deny
every request that is not over TLS" (``Bool`` ``aws:SecureTransport`` ``false``), then denies every request, and
the module's export bucket (modules/export_bucket) could not be read at all. Here the policy goes through the
emulator's own evaluator (:mod:`.iam_policy`) with the context S3 gives a request that reaches it over HTTPS, which
every AWS SDK uses and the emulator stands in for.

moto asks without naming the caller, so a statement counts only when it names every principal (``"*"``); one that
names particular principals leaves the decision to the caller's own policies, as moto does without a policy.
"""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from devtools.emulator.iam_policy import Caller, Decision, PolicyDocument, evaluate

# What S3 puts into the request context of a request over HTTPS; the emulator's own listener is plain HTTP.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}
# A caller no statement names: only statements for every principal ("*") apply to it.
_ANYONE = Caller(account_id="", identifiers=frozenset())


def _get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = PolicyDocument.parse(self.policy.decode())
    decision = evaluate([policy], action, resource, REQUEST_CONTEXT, caller=_ANYONE).decision
    if decision is Decision.EXPLICIT_DENY:
        return PermissionResult.DENIED
    if decision is Decision.ALLOW:
        return PermissionResult.PERMITTED
    return PermissionResult.NEUTRAL


def compatibility_problems() -> list[str]:
    return [] if "get_permission" in FakeBucket.__dict__ else ["FakeBucket.get_permission is missing"]


def replacements() -> list[tuple[Any, str, Any]]:
    return [(FakeBucket, "get_permission", _get_permission)]
