"""The emulator's IAM gate: calls made with an IAM role's session are held to that role's policies.

On AWS every deployed function, every event source mapping poller and the state machine call AWS with the
credentials of their execution role, so a permission missing from the Terraform surfaces as AccessDenied. The
emulator does the same:

- **Sessions.** :class:`RoleSessions` issues moto STS sessions of a role (session name: the function's name, or
  ``StepFunctions``) for the worker processes, the pollers and the Step Functions interpreter, each valid for
  12 hours; a worker is replaced before its session expires (see the executor). moto maps such keys to the
  role's account, which the cross-account support relies on.
- **Who is held to a policy.** A request signed with a session the gate issued, or with a session that such a
  session assumed in turn (role chaining: the worker's session of the target account's role), is evaluated.
  Everything else is unrestricted, as the emulator always was: the operator's, Terraform's and the tests' dummy
  or 12-digit keys, and every session they assume themselves (an admin role in another account, or even a
  deployed role: the operator is trusted to assume what it likes).
- **Evaluation** (:mod:`.iam_policy`, :mod:`.iam_requests`): the role's inline and attached managed policies,
  bounded by its permissions boundary; an explicit Deny wins. A DynamoDB table's or stream's resource-based
  policy grants on its own in the same account when it names the role or session, and is required on top of
  the identity policy for another account's resource; ``sts:AssumeRole`` also needs the role's trust policy
  (with ``sts:ExternalId``), and the role must exist. Other services' resource-based policies are not read, so
  such a call into another account is refused.
- **Refusals** look like AWS's: ``User: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is not authorized to
  perform: ACTION on resource: ARN because no identity-based policy allows the ACTION action``, as HTTP 400
  ``AccessDeniedException`` for JSON protocols, 403 ``AccessDenied`` for SQS (action in lower case, as SQS writes
  it) and query protocols, 403 ``AccessDeniedException`` for Lambda.

Not enforced: service control policies, session policies, same-account grants by resource-based policies other
than DynamoDB's, ``iam:PassRole``, KMS key policies and the KMS permissions DynamoDB, SQS and Lambda need on
customer managed keys, S3 (moto authorizes S3 on its own path), the expiry of sessions, the trust policies of
service roles, and what the interpreter does without an API call (Distributed Map children, log delivery).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import iam_requests, moto_access
from .executor import FunctionSpec
from .iam_policy import Caller, ContextValue, Decision, Evaluation, PolicyDocument, PrincipalMatch, evaluate
from .moto_access import MappingView
from .role_credentials import RoleCredentials

LOGGER = logging.getLogger("devtools.emulator.iam")

SESSION_SECONDS = 12 * 3600
"""AWS's longest role session."""
REISSUE_BEFORE_SECONDS = 3 * 3600
"""A cached session with less left than this is replaced, so a new worker always gets hours of validity."""
STATES_SESSION_NAME = "StepFunctions"
_ACCESS_KEY_IN_RESPONSE = re.compile(r'<AccessKeyId>\s*([^<\s]+)\s*</AccessKeyId>|"AccessKeyId"\s*:\s*"([^"]+)"')
_ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_SESSION_NAME_DISALLOWED = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True)
class Principal:
    """A role session the gate holds to its role's policies."""

    account_id: str
    partition: str
    role_arn: str
    session_name: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session_name}"

    def caller(self) -> Caller:
        return Caller(self.account_id, frozenset({self.role_arn, self.arn}), self.partition)


@dataclass(frozen=True)
class Denial:
    principal: Principal
    action: str
    resource: str
    reason: str
    """What AWS appends: ``because no identity-based policy allows the ... action``, ``with an explicit ...``."""

    def message(self, *, lower_case_action: bool = False) -> str:
        action = self.action.lower() if lower_case_action else self.action
        reason = self.reason.replace(self.action, action)
        text = f"User: {self.principal.arn} is not authorized to perform: {action} on resource: {self.resource}"
        return f"{text} {reason}" if reason else text


def _parse_role_arn(role_arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of a role ARN."""
    match = _ROLE_ARN.fullmatch(role_arn)
    return None if match is None else (match.group(1), match.group(2), match.group(3))


def _session_name(name: str) -> str:
    cleaned = _SESSION_NAME_DISALLOWED.sub("-", name)[:64]
    return cleaned if len(cleaned) >= 2 else "ddb-migrate"


class RoleSessions:
    """Role sessions from moto's STS, one per (role, session name), re-issued before they expire or when moto
    forgot them (a reset); remembers every key it issued, so the gate knows them even without moto's STS."""

    def __init__(self, duration_seconds: int = SESSION_SECONDS) -> None:
        self._duration = duration_seconds
        self._lock = threading.Lock()
        self._current: dict[tuple[str, str], RoleCredentials] = {}
        self._issued: dict[str, Principal] = {}

    def credentials(self, role_arn: str, session_name: str, region: str) -> RoleCredentials | None:
        """Credentials of a session of ``role_arn``; None when it is not a role ARN."""
        parsed = _parse_role_arn(role_arn)
        if parsed is None:
            return None
        partition, account, _ = parsed
        name = _session_name(session_name)
        with self._lock:
            current = self._current.get((role_arn, name))
            if (
                current is not None
                and not current.expires_within(min(REISSUE_BEFORE_SECONDS, self._duration / 2))
                and _key_known(account, partition, current.access_key_id)
            ):
                return current
            issued = self._issue(role_arn, name, region, account, partition)
            self._current[(role_arn, name)] = issued
            self._issued[issued.access_key_id] = Principal(account, partition, role_arn, name)
            return issued

    def principal(self, access_key_id: str) -> Principal | None:
        with self._lock:
            return self._issued.get(access_key_id)

    def _issue(self, role_arn: str, name: str, region: str, account: str, partition: str) -> RoleCredentials:
        from moto.sts.models import sts_backends  # noqa: PLC0415 - only the running emulator needs moto's STS

        assumed = sts_backends[account][partition].assume_role(
            region_name=region,
            role_session_name=name,
            role_arn=role_arn,
            policy="",
            duration=self._duration,
            external_id="",
        )
        return RoleCredentials(
            access_key_id=str(assumed.access_key_id),
            secret_access_key=str(assumed.secret_access_key),
            session_token=str(assumed.session_token),
            expires_at=time.time() + self._duration,
        )


def _key_known(account: str, partition: str, access_key_id: str) -> bool:
    from moto.iam.models import iam_backends  # noqa: PLC0415

    return access_key_id in iam_backends[account][partition].access_keys


class IamGate:
    """Decides whether a role session may make a request; see the module docstring."""

    def __init__(self, *, enabled: bool = True, sessions: RoleSessions | None = None) -> None:
        self.enabled = enabled
        self.sessions = sessions or RoleSessions()
        self._lock = threading.Lock()
        self._chained: dict[str, Principal] = {}

    # -- who --------------------------------------------------------------------------------------

    def principal(self, access_key_id: str) -> Principal | None:
        """The role session behind an access key, or None for credentials the gate does not restrict."""
        # Sessions are moto STS keys, which start like AWS's: the operator's dummy keys never take a lock here.
        if not access_key_id.startswith("ASIA"):
            return None
        issued = self.sessions.principal(access_key_id)
        if issued is not None:
            return issued
        with self._lock:
            return self._chained.get(access_key_id)

    def record_chained(self, caller: Principal, role_arn: str, session_name: str, response_body: Any) -> None:
        """Hold the session an AssumeRole by ``caller`` returned to its own role's policies too."""
        text = response_body.decode("utf-8", "replace") if isinstance(response_body, bytes) else str(response_body)
        match = _ACCESS_KEY_IN_RESPONSE.search(text)
        parsed = _parse_role_arn(role_arn)
        if match is None or parsed is None:
            LOGGER.warning("%s assumed %s, but the gate cannot tell the new session's key", caller.arn, role_arn)
            return
        partition, account, _ = parsed
        with self._lock:
            self._chained[match.group(1) or match.group(2)] = Principal(account, partition, role_arn, session_name)

    # -- what -------------------------------------------------------------------------------------

    def check(self, principal: Principal, request: iam_requests.Request) -> Denial | None:
        """The first thing ``request`` needs that ``principal`` may not do, or None."""
        for needed in iam_requests.authorizations(request, _scalable_target_arn):
            denial = self.authorize(principal, needed.action, needed.resource, request.region, needed.context)
            if denial is not None:
                return denial
        return None

    def authorize(
        self,
        principal: Principal,
        action: str,
        resource: str,
        region: str,
        extra_context: Mapping[str, ContextValue] | None = None,
    ) -> Denial | None:
        role = _role(principal)
        if role is None:
            return Denial(principal, action, resource, _no_identity_allow(action))
        context = {**_context(principal, role, region, resource), **(extra_context or {})}
        identity = evaluate(_identity_policies(role), action, resource, context)
        reason = _identity_refusal(role, identity, action, resource, context)
        if reason is None:
            if action.lower() == "sts:assumerole":
                reason = _assume_role_refusal(principal, identity, resource, context)
            else:
                reason = _resource_refusal(principal, identity, action, resource, region, context)
        return None if reason is None else Denial(principal, action, resource, reason)

    # -- in-process checks and credentials ------------------------------------------------------

    def function_credentials(self, spec: FunctionSpec) -> RoleCredentials | None:
        """The execution role's session for a function's worker process."""
        if not spec.role_arn:
            return None
        return self.sessions.credentials(spec.role_arn, spec.function_name, spec.region)

    def denial_for(self, credentials: RoleCredentials, action: str, resource: str, region: str) -> Denial | None:
        """Check a call the emulator makes in-process on behalf of a session (stream reads, log delivery)."""
        if not self.enabled:
            return None
        principal = self.principal(credentials.access_key_id)
        return None if principal is None else self.authorize(principal, action, resource, region)

    def log_delivery_denial(self, spec: FunctionSpec, stream_name: str) -> Denial | None:
        """Lambda writes a function's logs with its execution role, and silently drops them when refused."""
        credentials = self.function_credentials(spec) if self.enabled else None
        if credentials is None:
            return None
        partition = _arn_partition(spec.function_arn)
        group = f"arn:{partition}:logs:{spec.region}:{spec.account_id}:log-group:{spec.log_group_name}"
        stream = f"{group}:log-stream:{stream_name}"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            denial = self.denial_for(credentials, action, stream, spec.region)
            if denial is not None:
                return denial
        return None


class MappingIdentity:
    """What the pollers act as: the mapped function's execution role (``PollerManager``'s ``identity``)."""

    def __init__(self, gate: IamGate) -> None:
        self._gate = gate

    def credentials(self, view: MappingView) -> RoleCredentials | None:
        fn = moto_access.find_function(view.account_id, view.region, view.function_arn)
        if fn is None or not isinstance(getattr(fn, "role", None), str):
            return None
        return self._gate.sessions.credentials(str(fn.role), str(fn.function_name), view.region)

    def denial(self, view: MappingView, action: str, resource: str) -> str | None:
        credentials = self.credentials(view)
        if credentials is None:
            return None
        denial = self._gate.denial_for(credentials, action, resource, view.region)
        return None if denial is None else denial.message()


# --------------------------------------------------------------------------------------------------
# Decisions: each returns None when allowed, else the reason AWS gives ("" for none)


def _no_identity_allow(action: str) -> str:
    return f"because no identity-based policy allows the {action} action"


def _identity_refusal(
    role: Any, identity: Evaluation, action: str, resource: str, context: Mapping[str, ContextValue]
) -> str | None:
    """Only an explicit deny refuses here: a resource-based policy may still grant what identity policies do not."""
    if identity.decision is Decision.EXPLICIT_DENY:
        return "with an explicit deny in an identity-based policy"
    boundary = _boundary(role)
    if boundary is None or identity.decision is not Decision.ALLOW:
        return None
    bounded = evaluate([boundary], action, resource, context).decision
    if bounded is Decision.EXPLICIT_DENY:
        return "with an explicit deny in a permissions boundary"
    if bounded is not Decision.ALLOW:
        return f"because no permissions boundary allows the {action} action"
    return None


def _resource_refusal(
    principal: Principal,
    identity: Evaluation,
    action: str,
    resource: str,
    region: str,
    context: Mapping[str, ContextValue],
) -> str | None:
    documents = _resource_policies(action, resource, region)
    granted = Evaluation(Decision.IMPLICIT_DENY)
    if documents:
        granted = evaluate(documents, action, resource, context, principal.caller())
        if granted.decision is Decision.EXPLICIT_DENY:
            return "with an explicit deny in a resource-based policy"
    if _arn_account(resource) not in ("", principal.account_id):
        # Into another account both sides must allow.
        if identity.decision is not Decision.ALLOW:
            return _no_identity_allow(action)
        if granted.decision is not Decision.ALLOW:
            return f"because no resource-based policy allows the {action} action"
        return None
    # In the same account either side allows, a resource-based policy only when it names the caller itself.
    if identity.decision is Decision.ALLOW or (
        granted.decision is Decision.ALLOW and granted.principal is PrincipalMatch.EXPLICIT
    ):
        return None
    return _no_identity_allow(action)


def _assume_role_refusal(
    principal: Principal, identity: Evaluation, role_arn: str, context: Mapping[str, ContextValue]
) -> str | None:
    """AssumeRole needs an existing role whose trust policy lets the caller in, and the caller's own policy too
    unless the trust policy names the caller itself in the caller's own account. AWS says no more than
    "not authorized" when the role is missing or does not trust the caller."""
    parsed = _parse_role_arn(role_arn)
    if parsed is None:
        return ""
    partition, account, _ = parsed
    target = _role(Principal(account, partition, role_arn, "-"))
    if target is None:
        return ""
    trust = PolicyDocument.parse(str(target.assume_role_policy_document or ""))
    granted = evaluate([trust], "sts:AssumeRole", role_arn, context, principal.caller())
    if granted.decision is not Decision.ALLOW:
        return ""
    if account == principal.account_id and granted.principal is PrincipalMatch.EXPLICIT:
        return None
    if identity.decision is not Decision.ALLOW:
        return _no_identity_allow("sts:AssumeRole")
    return None


# --------------------------------------------------------------------------------------------------
# moto lookups


def _role(principal: Principal) -> Any | None:
    from moto.iam.models import iam_backends  # noqa: PLC0415

    try:
        return iam_backends[principal.account_id][principal.partition].get_role(principal.role_name)
    except Exception:
        return None


def _identity_policies(role: Any) -> list[PolicyDocument]:
    documents = [PolicyDocument.parse(str(text)) for text in list(role.policies.values())]
    for policy in list(role.managed_policies.values()):
        text = _default_version(policy)
        if text is not None:
            documents.append(PolicyDocument.parse(text))
    return documents


def _default_version(policy: Any) -> str | None:
    for version in list(getattr(policy, "versions", [])):
        if getattr(version, "is_default", False):
            return str(version.document)
    return None


def _boundary(role: Any) -> PolicyDocument | None:
    arn = getattr(role, "permissions_boundary_arn", None)
    if not arn:
        return None
    from moto.iam.models import iam_backends  # noqa: PLC0415

    policy = iam_backends[role.account_id][role.partition].managed_policies.get(arn)
    text = _default_version(policy) if policy is not None else None
    return None if text is None else PolicyDocument.parse(text)


def _resource_policies(action: str, resource: str, region: str) -> list[PolicyDocument]:
    """The resource-based policies the gate reads: a DynamoDB table's (also for its indexes) or stream's."""
    if not action.lower().startswith("dynamodb:") or ":dynamodb:" not in resource:
        return []
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

    fields = resource.split(":", 5)
    if len(fields) != 6:
        return []
    target = resource if "/stream/" in resource else resource.split("/index/", 1)[0]
    try:
        policy = dynamodb_backends[fields[4]][fields[3] or region].resource_policies.get(target)
    except Exception:
        return []
    return [] if policy is None else [PolicyDocument.parse(str(policy.policy_doc))]


def _scalable_target_arn(account: str, region: str, namespace: str, resource_id: str, dimension: str) -> str | None:
    from moto.applicationautoscaling.models import applicationautoscaling_backends  # noqa: PLC0415

    try:
        target = applicationautoscaling_backends[account][region].targets.get(dimension, {}).get(resource_id)
    except Exception:
        return None
    if target is None or getattr(target, "service_namespace", namespace) != namespace:
        return None
    return str(target.arn)


def _arn_account(resource: str) -> str:
    fields = resource.split(":", 5)
    return fields[4] if len(fields) == 6 and fields[0] == "arn" else ""


def _arn_partition(arn: str) -> str:
    fields = arn.split(":", 2)
    return fields[1] if len(fields) == 3 and fields[0] == "arn" else "aws"


def _context(principal: Principal, role: Any, region: str, resource: str) -> dict[str, ContextValue]:
    now = dt.datetime.now(dt.UTC)
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.role_arn,
        "aws:PrincipalAccount": principal.account_id,
        "aws:PrincipalType": "AssumedRole",
        "aws:userid": f"{getattr(role, 'id', '')}:{principal.session_name}",
        "aws:RequestedRegion": region,
        # The SDKs reach AWS over TLS; the emulator's plain HTTP must not trip "deny insecure transport" policies.
        "aws:SecureTransport": "true",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
    }
    account = _arn_account(resource)
    if account:
        context["aws:ResourceAccount"] = account
    tags = getattr(role, "tags", None) or []
    pairs = tags.items() if isinstance(tags, Mapping) else ((tag.get("Key"), tag.get("Value")) for tag in tags)
    for key, value in pairs:
        if isinstance(key, str) and isinstance(value, str):
            context[f"aws:PrincipalTag/{key}"] = value
    return context


# --------------------------------------------------------------------------------------------------
# The request hook (installed by moto_patches) and AWS-shaped refusals

_active: IamGate | None = None


def activate(gate: IamGate) -> None:
    global _active  # noqa: PLW0603 - one emulator per process holds the patches
    _active = gate


def deactivate() -> None:
    global _active  # noqa: PLW0603
    _active = None


def active() -> IamGate | None:
    return _active


def checking_call_action(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``BaseResponse.call_action``: every API request passes here before moto runs it, so a role session's
    request is refused like AWS refuses it, before anything changes."""

    def call_action(self: Any) -> Any:
        gate = _active
        if gate is None or not gate.enabled:
            return original(self)
        principal = gate.principal(str(getattr(self, "access_key", "") or ""))
        if principal is None:
            return original(self)
        try:
            denial = gate.check(principal, _request_of(self))
        except Exception as exc:
            LOGGER.exception("the IAM gate could not check a %s request", getattr(self, "service_name", "?"))
            return _failure(exc)
        if denial is not None:
            LOGGER.info("IAM gate refused: %s", denial.message())
            return _refusal(self, denial)
        result = original(self)
        if self.service_name == "sts" and self._get_action() == "AssumeRole" and int(result[0]) == 200:
            gate.record_chained(
                principal, str(self._get_param("RoleArn")), str(self._get_param("RoleSessionName")), result[2]
            )
        return result

    return call_action


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _request_of(response: Any) -> iam_requests.Request:
    service = str(response.service_name)
    operation = str(response._get_action())
    path_params: dict[str, str] = {}
    params: dict[str, Any] = {}
    query = {str(key): _first(value) for key, value in dict(getattr(response, "querystring", {}) or {}).items()}
    if service == "awslambda":
        # The body of an Invoke is the function's event, not parameters.
        params = query
        path_params = {str(key): unquote(str(value)) for key, value in (response.uri_match or {}).items()}
    else:
        parsed = getattr(response, "params", None)
        body = getattr(response, "body", None)
        if isinstance(parsed, dict) and parsed:
            params = parsed
        elif isinstance(body, dict):
            params = body
        elif isinstance(body, str | bytes) and body.strip()[:1] in ("{", b"{"):
            try:
                loaded = json.loads(body)
            except ValueError:
                loaded = None
            params = loaded if isinstance(loaded, dict) else query
        else:
            params = query
    return iam_requests.Request(
        service=service,
        operation=operation,
        params=params,
        region=str(response.region),
        account_id=str(response.current_account),
        partition=str(getattr(response, "partition", "aws") or "aws"),
        path_params=path_params,
    )


def _refusal(response: Any, denial: Denial) -> tuple[int, dict[str, str], str | bytes]:
    service = str(response.service_name)
    request_id = str(uuid.uuid4())
    content_type = str(response.headers.get("Content-Type", "") or "")
    if service == "awslambda":
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "AccessDeniedException",
            "x-amzn-RequestId": request_id,
        }
        return 403, headers, json.dumps({"Type": "User", "Message": denial.message()})
    if "cbor" in content_type:
        return _serialized_refusal(response, denial)
    if "json" in content_type:
        if service == "sqs":
            error_type = "com.amazon.coral.service#AccessDeniedException"
            headers = {"x-amzn-query-error": "AccessDenied;Sender"}
            status, message = 403, denial.message(lower_case_action=True)
        else:
            error_type, headers, status, message = "AccessDeniedException", {}, 400, denial.message()
        headers.update({"Content-Type": content_type, "x-amzn-ErrorType": error_type, "x-amzn-RequestId": request_id})
        return status, headers, json.dumps({"__type": error_type, "message": message})
    message = denial.message(lower_case_action=service == "sqs")
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


def _serialized_refusal(response: Any, denial: Denial) -> tuple[int, dict[str, str], str | bytes]:
    """Protocols the gate does not write itself (CloudWatch's CBOR) go through moto's serializer."""
    from moto.core.exceptions import ServiceException  # noqa: PLC0415
    from moto.core.responses import ActionResult  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, headers, body = response.serialized(
            ActionResult(ServiceException("AccessDeniedException", denial.message()))
        )
    return int(status), {str(key): str(value) for key, value in headers.items()}, body


def _failure(exc: Exception) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"__type": "InternalFailure", "message": f"the emulator's IAM gate failed: {exc!r}"})
    return 500, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": "InternalFailure"}, body


# --------------------------------------------------------------------------------------------------
# Step Functions: the interpreter calls services with the state machine's role


def interpreter_patches() -> list[tuple[Any, str, Any]]:
    """(module, attribute, value): ``boto_client_for`` wherever moto's ASL interpreter imported it.

    The interpreter builds a boto3 client with the dummy key ``ak`` for every task; Step Functions calls with
    the state machine's role instead. Called once the interpreter is imported (all of its modules are then).
    """
    from moto.stepfunctions.parser.asl.utils import boto_client  # noqa: PLC0415

    original = boto_client.boto_client_for
    replacement = _role_client_factory(original)
    holders = [boto_client] + [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser.") and getattr(module, "boto_client_for", None) is original
    ]
    unique = {id(module): module for module in holders}
    return [(module, "boto_client_for", replacement) for module in unique.values()]


def _role_client_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    lock = threading.Lock()
    clients: dict[tuple[str, str, str], Any] = {}

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        gate = _active
        role_arn = getattr(state_credentials, "role_arn", None)
        credentials = (
            gate.sessions.credentials(role_arn, STATES_SESSION_NAME, region)
            if gate is not None and isinstance(role_arn, str)
            else None
        )
        if credentials is None:
            return original(region, service, state_credentials)
        key = (region, service, credentials.access_key_id)
        with lock:
            client = clients.get(key)
        if client is not None:
            return client
        # moto's own client knows the endpoint and the timeouts; only the credentials change.
        template = original(region, service, state_credentials)
        import boto3  # noqa: PLC0415

        client = boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=template.meta.endpoint_url,
            config=template.meta.config,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
        with lock:
            if len(clients) > 256:
                clients.clear()
            return clients.setdefault(key, client)

    return boto_client_for
