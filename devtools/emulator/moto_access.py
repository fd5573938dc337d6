"""Read-only access to moto's in-process state that the public API cannot give cheaply.

Kept apart from :mod:`moto_patches` (which changes moto) and from the pollers (which only see the
plain snapshots defined here), so that a moto upgrade has one place to look at.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.awslambda.utils import get_backend
from moto.core.config import default_user_config
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.logs.models import logs_backends
from moto.moto_api._internal.models import moto_api_backend

from .executor import FunctionSpec, LayerCode


def _iter_backends(backend_dict: Any) -> list[tuple[str, str, Any]]:
    # Request threads may add an account or region while we iterate.
    for _ in range(5):
        try:
            return list(backend_dict.iter_backends())
        except RuntimeError:
            time.sleep(0.001)
    return []


# --------------------------------------------------------------------------------------------------
# Lambda functions


# Accounts from which AWS publishes public layers: Powertools for AWS Lambda (Python).
AWS_PUBLIC_LAYER_ACCOUNTS = frozenset({"017000801446"})


def is_public_layer(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 4 and parts[4] in AWS_PUBLIC_LAYER_ACCOUNTS


def function_spec(fn: Any) -> FunctionSpec:
    """Snapshot of a ``moto.awslambda.models.LambdaFunction``."""
    layers: list[LayerCode] = []
    if fn.layers:
        backend = get_backend(fn.account_id, fn.region)
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is not None and version.code_bytes:
                layers.append(LayerCode(version.code_sha_256, version.code_bytes))
    arn = str(fn.function_arn)
    version_str = str(fn.version)
    # moto stores a published version's ARN with its qualifier; FunctionSpec wants the bare ARN.
    if version_str != "$LATEST" and arn.endswith(f":{version_str}"):
        arn = arn[: -len(version_str) - 1]
    return FunctionSpec(
        account_id=str(fn.account_id),
        region=str(fn.region),
        function_name=str(fn.function_name),
        function_arn=arn,
        version=version_str,
        handler=str(fn.handler or ""),
        runtime=str(fn.run_time or ""),
        timeout_seconds=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha256=str(getattr(fn, "code_sha_256", "") or ""),
        code=bytes(getattr(fn, "code_bytes", b"") or b""),
        layers=tuple(layers),
        role_arn=str(getattr(fn, "role", "") or ""),
        public_powertools_layer=any(is_public_layer(layer["Arn"]) for layer in fn.layers or []),
    )


def find_function(account_id: str, region: str, name_or_arn: str, qualifier: str | None = None) -> Any | None:
    for acct, reg, backend in _iter_backends(lambda_backends):
        if acct == account_id and reg == region:
            try:
                return backend.get_function(name_or_arn, qualifier)
            except Exception:
                return None
    return None


def _find_identity(identity: tuple[str, str, str, str]) -> Any | None:
    account_id, region, name, version = identity
    return find_function(account_id, region, name, None if version == "$LATEST" else version)


def current_spec(identity: tuple[str, str, str, str]) -> FunctionSpec | None:
    """The function's spec as deployed now, or None when it no longer exists."""
    fn = _find_identity(identity)
    return None if fn is None else function_spec(fn)


def function_exists(identity: tuple[str, str, str, str]) -> bool:
    return _find_identity(identity) is not None


# --------------------------------------------------------------------------------------------------
# Event source mappings


@dataclass(frozen=True)
class MappingView:
    """The fields of an event source mapping the pollers act on, read afresh every poll."""

    uuid: str
    account_id: str
    region: str
    function_arn: str
    event_source_arn: str
    enabled: bool
    batch_size: int
    starting_position: str | None
    maximum_batching_window_seconds: float
    bisect_batch_on_function_error: bool
    on_failure_destination: str | None
    report_batch_item_failures: bool
    maximum_record_age_seconds: int
    maximum_retry_attempts: int
    maximum_concurrency: int | None

    @property
    def source_service(self) -> str:
        return self.event_source_arn.split(":")[2]


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _view(account_id: str, region: str, esm: Any) -> MappingView:
    destination = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
    scaling = esm.scaling_config or {}
    return MappingView(
        uuid=str(esm.uuid),
        account_id=account_id,
        region=region,
        function_arn=str(esm.function_arn),
        event_source_arn=str(esm.event_source_arn),
        enabled=bool(esm.enabled),
        batch_size=_int_or(esm.batch_size, 10),
        starting_position=esm.starting_position,
        maximum_batching_window_seconds=float(esm.max_batch_window or 0),
        bisect_batch_on_function_error=bool(esm.bisect_on_error),
        on_failure_destination=str(destination) if destination else None,
        report_batch_item_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
        maximum_record_age_seconds=_int_or(esm.max_record_age, -1),
        maximum_retry_attempts=_int_or(esm.max_retry_attempts, -1),
        maximum_concurrency=_int_or(scaling.get("MaximumConcurrency"), 0) or None,
    )


def list_mappings() -> list[MappingView]:
    views = []
    for account_id, region, backend in _iter_backends(lambda_backends):
        for esm in list(backend._event_source_mappings.values()):
            with contextlib.suppress(Exception):
                views.append(_view(account_id, region, esm))
    return views


# --------------------------------------------------------------------------------------------------
# DynamoDB streams


@dataclass(frozen=True)
class ShardSnapshot:
    shard_id: str
    shard_token: int
    """Changes when the table's stream is re-created, so a poller knows to start over."""
    starting_sequence_number: int
    end_sequence_number: int
    """One past the newest record."""


def _stream_shard(stream_arn: str) -> Any | None:
    try:
        _, _, _, region, account_id, resource = stream_arn.split(":", 5)
        _, table_name, _, label = resource.split("/", 3)
    except ValueError:
        return None
    for acct, reg, backend in _iter_backends(dynamodb_backends):
        if acct == account_id and reg == region:
            table = backend.tables.get(table_name)
            if table is None or table.latest_stream_label != label:
                return None
            return table.stream_shard
    return None


def shard_snapshot(stream_arn: str) -> ShardSnapshot | None:
    shard = _stream_shard(stream_arn)
    if shard is None:
        return None
    start = int(shard.starting_sequence_number)
    return ShardSnapshot(str(shard.id), id(shard), start, start + len(shard.items))


def _json_ready(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        # Streams round ApproximateCreationDateTime down to the second.
        return int(aware.timestamp())
    if isinstance(value, DynamoType):
        return value.to_json()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def read_stream_records(stream_arn: str, shard_token: int, start: int, limit: int) -> list[dict[str, Any]] | None:
    """Records with sequence numbers ``start`` .. ``start+limit-1`` (fewer at the end of the shard).

    Read straight from the shard because every GetRecords call registers a new iterator in moto that
    is never released, which a poller running all day would turn into a memory leak.
    """
    shard = _stream_shard(stream_arn)
    if shard is None or id(shard) != shard_token:
        return None
    offset = start - int(shard.starting_sequence_number)
    items = shard.items[max(offset, 0) : max(offset, 0) + limit]
    region = stream_arn.split(":")[3]
    records = []
    for item in items:
        record = json.loads(json.dumps(item.to_json(), default=_json_ready))
        record["awsRegion"] = region
        records.append(record)
    return records


# --------------------------------------------------------------------------------------------------
# CloudWatch Logs

_logs_lock = threading.Lock()
_created_streams: set[tuple[str, str, str, str]] = set()


def append_function_log(spec: FunctionSpec, stream_name: str, line: str) -> None:
    with _logs_lock:
        backend = logs_backends[spec.account_id][spec.region]
        backend.ensure_log_group(spec.log_group_name)
        key = (spec.account_id, spec.region, spec.log_group_name, stream_name)
        if key not in _created_streams or stream_name not in backend.groups[spec.log_group_name].streams:
            with contextlib.suppress(Exception):
                backend.create_log_stream(spec.log_group_name, stream_name)
            _created_streams.add(key)
        backend.put_log_events(
            spec.log_group_name, stream_name, [{"timestamp": int(time.time() * 1000), "message": line}]
        )


# --------------------------------------------------------------------------------------------------
# Whole-emulator switches


def reset_all_backends() -> None:
    moto_api_backend.reset()
    with _logs_lock:
        _created_streams.clear()


def set_state_machine_execution(enabled: bool) -> dict[str, Any]:
    """Turn on moto's ASL interpreter; returns the previous setting for restoring it."""
    previous = dict(default_user_config.get("stepfunctions", {}))
    default_user_config["stepfunctions"] = {"execute_state_machine": enabled}
    return previous


def restore_state_machine_execution(previous: dict[str, Any]) -> None:
    default_user_config["stepfunctions"] = previous  # type: ignore[typeddict-item]
