"""Every change the emulator makes to moto, in one place.

Each patch is a small function with a docstring that says why moto needs it:

- Lambda: ``LambdaFunction._invoke_lambda`` and ``LambdaFunction.invoke`` run code in our warm
  workers (moto needs Docker) and answer like Lambda (``Unhandled`` errors, asynchronous ``Event``);
  ``LambdaResponse.invoke`` honours the ``Qualifier`` parameter.
- Event source mappings: ``Table`` / ``Queue.lambda_event_source_mappings`` stay empty, which turns
  off moto's synchronous in-request delivery; :mod:`.pollers` does it like Lambda instead.
- SQS: ``Queue.attributes`` returns RedrivePolicy as compact JSON (Terraform plan drift) and the
  RedriveAllowPolicy that moto keeps but never returns (the provider waits for it).
- DynamoDB across accounts: ``DynamoHandler.dynamodb_backend`` serves a call that names another account's
  table by ARN from that account, when the table's resource-based policy allows the caller (:mod:`.cross_account`).
- Step Functions: ``ValidateStateMachineDefinition`` and ``ListStateMachineVersions`` (missing, the
  Terraform provider calls both), ``StartExecution`` without a name, and an integer
  ``ToleratedFailurePercentage`` (moto's grammar wants a float). Definitions also pass an independent
  ASL validator (:mod:`.asl_gate`) on validate, create and update, because moto's parser accepts
  machines that Step Functions refuses.
- DynamoDB behaviour our code depends on (canonical numbers, one stream record per change, atomic
  UpdateItem): in :mod:`.dynamodb_fidelity`; GetFunction's ``Code.Location`` served by the emulator itself:
  in :mod:`.lambda_code`.
- DynamoDB's export to S3 in AWS's layout (ExportTableToPointInTime, DescribeExport, ListExports): in
  :mod:`.dynamodb_export`; the per-table ``AWS/DynamoDB`` consumed-capacity metrics in CloudWatch: in
  :mod:`.dynamodb_metrics`.
- S3 bucket policies with conditions (a TLS-only policy denied every request): in :mod:`.s3_bucket_policy`.
- IAM: ``BaseResponse.call_action`` holds every request signed with a role session to the role's policies, and
  the ASL interpreter's ``boto_client_for`` calls with the state machine's role (:mod:`.iam_gate`).
- Concurrency (:mod:`.concurrency`): IAM and STS requests one at a time (moto's IAM backend is not thread-safe,
  and a spurious 500 makes the Terraform provider retry, then re-send a slow CreateRole), ``IAMBackend.get_roles``
  a snapshot for the lookups outside them, and a listen backlog that does not drop connections under load.
- DynamoDB speed and thread safety (request parsing and response serialization of items, item sizing and
  copying, key-ordered Scans and Queries, binary partition keys in segmented Scans, garbage collector
  thresholds): in :mod:`.dynamodb_speedups`, also installable on their own with
  :func:`install_dynamodb_speedups` (tests and benchmarks using ``mock_aws``).

:func:`install` checks that every attribute it replaces exists before touching anything, so an
incompatible moto fails loudly at start-up instead of misbehaving later, and :func:`uninstall`
restores moto exactly (the emulator can run in-process next to tests that use ``mock_aws``).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import importlib.metadata
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.core.responses import ActionResult, BaseResponse
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.iam.models import IAMBackend
from moto.sqs.models import Queue, SQSBackend
from moto.stepfunctions.responses import StepFunctionResponse
from werkzeug.serving import BaseWSGIServer

from . import (
    asl_gate,
    concurrency,
    cross_account,
    dynamodb_export,
    dynamodb_fidelity,
    dynamodb_metrics,
    dynamodb_speedups,
    iam_gate,
    lambda_code,
    lambda_concurrency,
    moto_access,
    s3_bucket_policy,
)
from .executor import InvocationResult

LOGGER = logging.getLogger("devtools.emulator")

TESTED_MOTO_VERSION = "5.2.5"
LOG_RESULT_TAIL_BYTES = 4096
_MISSING = object()


class MotoIncompatibleError(RuntimeError):
    """The installed moto does not have the internals the emulator patches."""


class FunctionRunner(Protocol):
    """What the patched Lambda model calls to run code (implemented by the emulator)."""

    def invoke_moto_function(self, fn: Any, payload: bytes) -> InvocationResult: ...

    def invoke_moto_function_async(self, fn: Any, payload: bytes) -> str: ...


class AppliedPatches:
    """The patches currently in place; :meth:`undo` reverts them in reverse order."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def apply(self, owner: Any, name: str, value: Any) -> None:
        """Set an attribute (class, module); undone by restoring it or, if ``owner`` had none, deleting it."""
        previous = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, value)

        def restore() -> None:
            if previous is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, previous)

        self._undo.append(restore)

    def apply_entry(self, mapping: dict[str, Any], key: str, value: Any) -> None:
        """Set an entry of one of moto's registries (a dictionary)."""
        previous = mapping.get(key, _MISSING)
        mapping[key] = value

        def restore() -> None:
            if previous is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = previous

        self._undo.append(restore)

    def apply_call(self, do: Callable[[], None], undo: Callable[[], None]) -> None:
        """Run ``do`` now and ``undo`` when the patches are undone."""
        do()
        self._undo.append(undo)

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


_runner: FunctionRunner | None = None
_install_lock = threading.Lock()
_installed: AppliedPatches | None = None
_speedups_installed: AppliedPatches | None = None


def _require_runner() -> FunctionRunner:
    if _runner is None:
        raise RuntimeError("ddbmigrate emulator patches are installed but no emulator is running")
    return _runner


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------------
# Lambda


def _patched_invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """``LambdaFunction._invoke_lambda``: moto can run function code only in Docker.

    Kept for any moto code path that calls it directly; it returns moto's ``(payload, errored, logs)``
    tuple, produced by our warm-worker executor instead of a container.
    """
    payload = json.dumps({} if event is None else event).encode("utf-8")
    result = _require_runner().invoke_moto_function(self, payload)
    return result.payload.decode("utf-8"), result.function_error is not None, result.log_tail


def _patched_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """``LambdaFunction.invoke``: make the Invoke API answer like Lambda.

    moto labels every failure ``FunctionError: Handled`` (Lambda says ``Unhandled`` for an exception
    the handler did not catch), runs ``InvocationType=Event`` synchronously inside the request,
    executes ``DryRun`` invocations, turns an empty payload into the JSON *string* ``"{}"``, and never
    throttles (:mod:`.lambda_concurrency` enforces reserved concurrency).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    if not raw.strip():
        raw = b"{}"
    try:
        json.loads(raw)
    except ValueError as exc:
        raise LambdaClientError(
            "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from exc

    invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        _require_runner().invoke_moto_function_async(self, raw)
        return b""

    with lambda_concurrency.invocation(self):
        result = _require_runner().invoke_moto_function(self, raw)
    response_headers["x-amz-executed-version"] = result.executed_version
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    tail = result.log_tail.encode("utf-8")[-LOG_RESULT_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
    return result.payload


def _invoke_honouring_qualifier(original: Any) -> Any:
    """``LambdaResponse.invoke``: use the ``Qualifier`` query parameter.

    moto looks the qualifier up as ``qualifier`` (lower case): the SDKs' ``?Qualifier=1`` is ignored,
    so the invocation silently runs ``$LATEST``, and a ``qualifier`` key in the JSON *payload* is
    taken as the qualifier instead.
    """

    def invoke(self: Any) -> Any:
        querystring = self.querystring
        querystring["qualifier"] = querystring.get("Qualifier") or [None]
        return original(self)

    return invoke


# --------------------------------------------------------------------------------------------------
# Event source mappings


class _InertRegistry(dict[str, Any]):
    """Always empty: registrations are dropped, iteration yields nothing."""

    def __setitem__(self, key: str, value: Any) -> None:
        return None


def _inert_registry_property() -> property:
    """``Table.lambda_event_source_mappings`` / ``Queue.lambda_event_source_mappings``.

    moto delivers to mapped functions from inside the write request itself: a DynamoDB PutItem
    synchronously invokes the function with every record accumulated on the shard (and drops them
    when the call succeeds), an SQS SendMessage receives and invokes at once, all-or-nothing, ignoring
    ReportBatchItemFailures, disabled-then-enabled mappings and messages that were already queued;
    deleted mappings even keep firing. The emulator's own pollers replace that, so these registries
    must stay empty. The instance value moto assigns in ``__init__`` is kept in the instance dict
    (shadowed by this data descriptor), so :meth:`AppliedPatches.undo` gives moto its dicts back.
    """

    def get(self: Any) -> dict[str, Any]:
        return _InertRegistry()

    def set_(self: Any, value: Any) -> None:
        self.__dict__["lambda_event_source_mappings"] = value

    return property(get, set_)


def _attributes_as_sqs_returns_them(original: property) -> property:
    """``Queue.attributes``: RedrivePolicy as compact JSON, and the RedriveAllowPolicy that moto drops.

    moto writes RedrivePolicy with ``json.dumps`` defaults (``", "`` and ``": "``); the Terraform provider stores
    what the API returns and compares it with the configuration's ``jsonencode`` text, so every plan would show
    a whitespace-only update of ``redrive_policy``. moto keeps a RedriveAllowPolicy that was set (as the
    queue's ``redrive_allow_policy``) but never returns it, so the provider's
    ``aws_sqs_queue_redrive_allow_policy`` would wait forever for it to appear.
    """

    def get(self: Any) -> Any:
        result = original.__get__(self, type(self))
        policy = result.get("RedrivePolicy")
        if isinstance(policy, str):
            with contextlib.suppress(ValueError):
                result["RedrivePolicy"] = json.dumps(json.loads(policy), separators=(",", ":"))
        allow_policy = getattr(self, "redrive_allow_policy", None)
        if isinstance(allow_policy, str) and allow_policy:
            result["RedriveAllowPolicy"] = allow_policy
        return result

    return property(get)


def _queue_attributes_accepting_redrive_allow_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    """``SQSBackend.get_queue_attributes``: accept the name RedriveAllowPolicy, which moto's check refuses."""

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        others = [name for name in attribute_names if name != "RedriveAllowPolicy"]
        result = original(self, queue_name, others) if others else {}
        if len(others) != len(attribute_names):
            policy = self.get_queue(queue_name).attributes.get("RedriveAllowPolicy")
            if policy is not None:
                result["RedriveAllowPolicy"] = policy
        return result

    return get_queue_attributes


# --------------------------------------------------------------------------------------------------
# Step Functions


def _validate_state_machine_definition(self: Any) -> Any:
    """``ValidateStateMachineDefinition`` is missing from moto; the Terraform provider calls it on plan.

    The definition goes through moto's own ASL parser, the one CreateStateMachine uses when executions
    are enabled, so a definition the emulator could not run fails at plan time with a readable
    diagnostic instead of a generic error on create.
    """
    _ensure_interpreter_patches()
    # Imported here: the interpreter pulls in moto's EC2 and Batch, seconds of start-up.
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

    definition = self._get_param("definition")
    diagnostics: list[dict[str, str]] = []
    try:
        AmazonStateLanguageParser.parse(definition)
    except Exception as exc:
        diagnostics.append(
            {
                "severity": "ERROR",
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": f"{type(exc).__name__}: {exc}"[:2000],
                "location": "",
            }
        )
    diagnostics.extend(asl_gate.diagnostics(definition))
    return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})


def _list_state_machine_versions(self: Any) -> Any:
    """``ListStateMachineVersions`` is missing from moto; the Terraform provider reads it on refresh.

    moto does keep published versions on the state machine; list them newest first like AWS.
    """
    state_machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = sorted(getattr(state_machine, "versions", {}).items(), key=lambda kv: kv[0], reverse=True)
    return ActionResult(
        {
            "stateMachineVersions": [
                {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date}
                for _, version in versions
            ]
        }
    )


def _normalise_definition(definition: Any) -> Any:
    """The definition with integer ``ToleratedFailurePercentage`` values written as floats."""
    if not isinstance(definition, str) or "ToleratedFailurePercentage" not in definition:
        return definition
    try:
        document = json.loads(definition)
    except ValueError:
        return definition
    changed = False

    def walk(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "ToleratedFailurePercentage" and isinstance(value, int) and not isinstance(value, bool):
                    node[key] = float(value)
                    changed = True
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return json.dumps(document) if changed else definition


def _parse_accepting_integer_percentages(original: Any) -> Any:
    """``AmazonStateLanguageParser.parse``: accept an integer ``ToleratedFailurePercentage``.

    Step Functions takes any number from 0 to 100, and Terraform's ``jsonencode(0.0)`` renders ``0``, but
    moto's grammar only has a float token there and rejects the definition. The value is normalised
    only for moto's parser (which ignores it at run time anyway); the stored definition is unchanged.
    """

    def parse(definition: str) -> Any:
        return original(_normalise_definition(definition))

    return staticmethod(parse)


_interpreter_lock = threading.Lock()
_interpreter_patched = False


def _ensure_interpreter_patches() -> None:
    """Patch moto's ASL interpreter on first use: importing it costs seconds (it pulls in EC2 and Batch)."""
    global _interpreter_patched  # noqa: PLW0603 - process-wide patch state is the point
    if _interpreter_patched:
        return
    with _interpreter_lock, _install_lock:
        if _interpreter_patched or _installed is None:
            return
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415

        original = AmazonStateLanguageParser.__dict__.get("parse")
        if not isinstance(original, staticmethod):
            raise MotoIncompatibleError("AmazonStateLanguageParser.parse is no longer a staticmethod")
        _installed.apply(AmazonStateLanguageParser, "parse", _parse_accepting_integer_percentages(original.__func__))
        for module, name, value in iam_gate.interpreter_patches():
            _installed.apply(module, name, value)
        from moto.stepfunctions.parser.backend.execution import Execution  # noqa: PLC0415

        _installed.apply(Execution, "stop", _stop_reporting_aborted(Execution.__dict__["stop"]))
        _interpreter_patched = True


def _stop_reporting_aborted(original: Callable[..., None]) -> Callable[..., None]:
    """``Execution.stop``: the execution is ABORTED when StopExecution returns, as on Step Functions.

    moto's interpreter only flags the stop and reports ABORTED once the running state returns, which for a
    Distributed Map is when its children end: until then DescribeExecution says RUNNING, and an operator (or
    ``ddb-migrate stop``) would think the stop had not taken.
    """

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus  # noqa: PLC0415

        original(self, stop_date, error, cause)
        if self.exec_status == ExecutionStatus.RUNNING:
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date

    return stop


def _backend_property_patching_interpreter(original: property) -> property:
    """``StepFunctionResponse.stepfunction_backend``: every Step Functions request passes here first,
    so the interpreter patches are in place before any definition is parsed or execution started."""

    def get(self: Any) -> Any:
        _ensure_interpreter_patches()
        return original.__get__(self, type(self))

    return property(get)


def _start_execution(self: Any) -> Any:
    """``StartExecution``: give executions started without a name a generated one.

    With execution enabled, moto's interpreter backend formats the execution ARN with the missing
    name, so every unnamed execution is called ``None`` and the second one fails with
    ExecutionAlreadyExists. Step Functions generates a UUID (so does moto's non-executing backend).
    Fixed here rather than in the interpreter backend so that importing the interpreter (seconds:
    it pulls in moto's EC2 and Batch) waits until Step Functions is actually used.
    """
    execution = self.stepfunction_backend.start_execution(
        self._get_param("stateMachineArn"),
        self._get_param("name") or str(uuid.uuid4()),
        self._get_param("input", if_none="{}"),
    )
    return ActionResult({"executionArn": execution.execution_arn, "startDate": execution.start_date})


# --------------------------------------------------------------------------------------------------
# Installation


REPLACE = "replace"
"""The attribute must exist in moto; we replace it."""
SHADOW = "shadow"
"""Must not exist at class level (moto sets it per instance); a class-level descriptor shadows it."""
ADD = "add"
"""An action moto lacks; if a newer moto implements it, its own implementation is kept."""


def _layers_data_accepting_public_layers(original: Any) -> Any:
    """Let functions reference AWS's public Powertools layer.

    moto only knows layers published inside the emulator, so it rejects AWS's public Powertools layer ARN. Such a
    layer is accepted and contributes no code of its own: a worker of a function that has it may import the
    Powertools release installed with the emulator, which stands in for the layer's (see ``FunctionSpec``).
    """

    def get(self: Any, layer_version_arns: list[str]) -> list[dict[str, Any]]:
        own = iter(original(self, [arn for arn in layer_version_arns if not moto_access.is_public_layer(arn)]))
        # Keep the caller's order: Terraform compares the layer list as a list.
        return [
            {"Arn": arn, "CodeSize": 0} if moto_access.is_public_layer(arn) else next(own) for arn in layer_version_arns
        ]

    return get


def _property(owner: Any, name: str) -> property:
    value = owner.__dict__.get(name)
    if not isinstance(value, property):
        raise MotoIncompatibleError(f"{owner.__module__}.{owner.__qualname__}.{name} is no longer a property")
    return value


def _targets() -> Iterator[tuple[Any, str, Any, str]]:
    """(owner, attribute, replacement, kind)."""
    yield LambdaFunction, "_invoke_lambda", _patched_invoke_lambda, REPLACE
    yield LambdaFunction, "invoke", _patched_invoke, REPLACE
    yield (
        LambdaFunction,
        "_get_layers_data",
        _layers_data_accepting_public_layers(LambdaFunction.__dict__.get("_get_layers_data")),
        REPLACE,
    )
    yield LambdaResponse, "invoke", _invoke_honouring_qualifier(LambdaResponse.__dict__.get("invoke")), REPLACE
    yield Table, "lambda_event_source_mappings", _inert_registry_property(), SHADOW
    yield Queue, "lambda_event_source_mappings", _inert_registry_property(), SHADOW
    yield Queue, "attributes", _attributes_as_sqs_returns_them(_property(Queue, "attributes")), REPLACE
    yield (
        SQSBackend,
        "get_queue_attributes",
        _queue_attributes_accepting_redrive_allow_policy(SQSBackend.__dict__["get_queue_attributes"]),
        REPLACE,
    )
    yield StepFunctionResponse, "validate_state_machine_definition", _validate_state_machine_definition, ADD
    yield StepFunctionResponse, "list_state_machine_versions", _list_state_machine_versions, ADD
    yield StepFunctionResponse, "start_execution", _start_execution, REPLACE
    for action in ("create_state_machine", "update_state_machine"):
        checked = asl_gate.checking_definition(StepFunctionResponse.__dict__.get(action))
        yield StepFunctionResponse, action, checked, REPLACE
    backend = _backend_property_patching_interpreter(_property(StepFunctionResponse, "stepfunction_backend"))
    yield StepFunctionResponse, "stepfunction_backend", backend, REPLACE
    routed = cross_account.routed_backend_property(_property(DynamoHandler, "dynamodb_backend"))
    yield DynamoHandler, "dynamodb_backend", routed, REPLACE
    yield BaseResponse, "call_action", iam_gate.checking_call_action(BaseResponse.__dict__["call_action"]), REPLACE
    yield BaseResponse, "_dispatch", concurrency.serializing_dispatch(BaseResponse.__dict__["_dispatch"]), REPLACE
    yield IAMBackend, "get_roles", concurrency.roles_snapshot, REPLACE
    yield BaseWSGIServer, "request_queue_size", concurrency.LISTEN_BACKLOG, REPLACE


def _check_compatible(targets: list[tuple[Any, str, Any, str]]) -> None:
    problems = []
    for owner, name, _, kind in targets:
        present = name in owner.__dict__
        if kind == REPLACE and not present:
            problems.append(f"{owner.__module__}.{owner.__qualname__}.{name} is missing")
        if kind == SHADOW and present:
            problems.append(f"{owner.__module__}.{owner.__qualname__}.{name} is now a class attribute")
    # The registries are instance attributes; make sure moto still reads them where we expect.
    for owner, needle in ((StreamShard, "add"), (Queue, "add_message")):
        code = getattr(owner, needle).__code__
        if "lambda_event_source_mappings" not in code.co_names:
            problems.append(f"{owner.__qualname__}.{needle} no longer reads lambda_event_source_mappings")
    _raise_if(problems)


def _raise_if(problems: list[str]) -> None:
    if problems:
        version = importlib.metadata.version("moto")
        raise MotoIncompatibleError(
            f"moto {version} is not compatible with the ddbmigrate emulator (tested with "
            f"{TESTED_MOTO_VERSION}): " + "; ".join(problems)
        )


def _warn_if_untested() -> None:
    version = importlib.metadata.version("moto")
    if version != TESTED_MOTO_VERSION:
        LOGGER.warning("moto %s is untested with the emulator (tested: %s)", version, TESTED_MOTO_VERSION)


def _apply_dynamodb_speedups(applied: AppliedPatches) -> None:
    """Apply :mod:`.dynamodb_speedups`; the caller holds ``_install_lock`` and has checked compatibility."""
    dynamodb_speedups.reset()
    previous_thresholds = gc.get_threshold()
    applied.apply_call(
        lambda: gc.set_threshold(*dynamodb_speedups.gc_thresholds(previous_thresholds)),
        lambda: gc.set_threshold(*previous_thresholds),
    )
    for owner, name, value in dynamodb_speedups.replacements():
        applied.apply(owner, name, value)
    protocol = dynamodb_speedups.PROTOCOL
    applied.apply_entry(dynamodb_speedups.parser_registry(), protocol, dynamodb_speedups.DynamoDBAwareJSONParser)
    serializers = dynamodb_speedups.serializer_registry()
    applied.apply_entry(serializers, dynamodb_speedups.SERVICE, {protocol: dynamodb_speedups.DynamoDBSerializer})


def install(runner: FunctionRunner) -> AppliedPatches:
    """Apply every patch; only one emulator per process may hold them."""
    global _runner, _installed  # noqa: PLW0603 - process-wide patch state is the point
    with _install_lock:
        if _installed is not None:
            raise RuntimeError("an emulator is already running in this process")
        if _speedups_installed is not None:
            raise RuntimeError("the DynamoDB speed-ups are installed on their own; uninstall them first")
        _warn_if_untested()
        asl_gate.require_validator()
        targets = list(_targets())
        _check_compatible(targets)
        _raise_if(dynamodb_speedups.compatibility_problems())
        _raise_if(dynamodb_fidelity.compatibility_problems() + lambda_code.compatibility_problems())
        _raise_if(dynamodb_export.compatibility_problems() + dynamodb_metrics.compatibility_problems())
        _raise_if(s3_bucket_policy.compatibility_problems())
        applied = AppliedPatches()
        for owner, name, value, kind in targets:
            if kind == ADD and name in owner.__dict__:
                LOGGER.info("moto implements %s.%s now; keeping moto's", owner.__qualname__, name)
                continue
            applied.apply(owner, name, value)
        try:
            # Before the speed-ups: their table lock then wraps the fidelity patches' UpdateItem too.
            dynamodb_fidelity.apply(applied)
            dynamodb_export.apply(applied)
            for owner, name, value in [*dynamodb_metrics.replacements(), *s3_bucket_policy.replacements()]:
                applied.apply(owner, name, value)
            lambda_code.apply(applied)
            _apply_dynamodb_speedups(applied)
        except BaseException:
            applied.undo()
            raise
        _runner = runner
        _installed = applied
        return applied


def uninstall() -> None:
    global _runner, _installed, _interpreter_patched  # noqa: PLW0603 - process-wide patch state is the point
    with _interpreter_lock, _install_lock:
        if _installed is not None:
            _installed.undo()
            dynamodb_speedups.reset()
            dynamodb_metrics.reset()
            asl_gate.stop_validator()
        _installed = None
        _runner = None
        _interpreter_patched = False


def install_dynamodb_speedups() -> AppliedPatches:
    """Apply only :mod:`.dynamodb_speedups`: for tests and benchmarks that use moto in-process (``mock_aws``).

    The emulator's :func:`install` applies them too; the two cannot be combined.
    """
    global _speedups_installed  # noqa: PLW0603 - process-wide patch state is the point
    with _install_lock:
        if _installed is not None or _speedups_installed is not None:
            raise RuntimeError("the DynamoDB speed-ups are already installed in this process")
        _warn_if_untested()
        _raise_if(dynamodb_speedups.compatibility_problems())
        applied = AppliedPatches()
        try:
            _apply_dynamodb_speedups(applied)
        except BaseException:
            applied.undo()
            raise
        _speedups_installed = applied
        return applied


def uninstall_dynamodb_speedups() -> None:
    global _speedups_installed  # noqa: PLW0603 - process-wide patch state is the point
    with _install_lock:
        if _speedups_installed is not None:
            _speedups_installed.undo()
            dynamodb_speedups.reset()
        _speedups_installed = None
