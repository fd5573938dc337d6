"""The thin AWS side of pre-warm: DescribeTable, UpdateTable, DescribeScalableTargets, RegisterScalableTarget."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import StructureShape

from migration_core.capacity.model import (
    PROVISIONED_KEYS,
    WARM_KEYS,
    Change,
    Dimension,
    ScalingRange,
    TableCapacity,
    resource_id,
    scalable_dimension,
    table_capacity,
)
from migration_core.errors import CapacityError

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

SERVICE_NAMESPACE: Literal["dynamodb"] = "dynamodb"
# DescribeScalableTargets takes at most 50 resource ids per call.
SCALABLE_TARGET_PAGE = 50
# Errors that mean "not now": the table is UPDATING, too many control-plane operations run at once, throttling.
BUSY_CODES = frozenset({"ResourceInUseException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"})


_T = TypeVar("_T")


@dataclass(frozen=True)
class UpdatePart:
    """One piece of an UpdateTable request: the base table's or one GSI's throughput, or warm throughput."""

    index: str | None
    kind: Literal["provisioned", "warm_throughput"]
    values: Mapping[Dimension, int]
    changes: tuple[Change, ...]


UpdateOutcome = Literal["applied", "busy", "decrease_limit", "error"]


@dataclass(frozen=True)
class UpdatePartResult:
    part: UpdatePart
    outcome: UpdateOutcome
    message: str = ""


# The first botocore release whose DynamoDB model has WarmThroughput (UpdateTable, DescribeTable).
WARM_THROUGHPUT_MIN_BOTOCORE = "1.35.60"


class CapacityClient:
    """The thin AWS side: DescribeTable, UpdateTable, DescribeScalableTargets, RegisterScalableTarget."""

    def __init__(self, dynamodb: DynamoDBClient, autoscaling: ApplicationAutoScalingClient) -> None:
        self._dynamodb = dynamodb
        self._autoscaling = autoscaling

    def knows_warm_throughput(self) -> bool:
        """Whether this SDK can send UpdateTable's WarmThroughput and read it back from DescribeTable.

        Asked of the client's own service model rather than of a version number: the functions run with the Lambda
        runtime's boto3, whichever release that is, and a botocore without the parameter refuses it before
        sending, or drops it from responses without a word.
        """
        model = self._dynamodb.meta.service_model
        update = model.operation_model("UpdateTable").input_shape
        described = model.shape_for("TableDescription")
        return all(
            isinstance(shape, StructureShape) and "WarmThroughput" in shape.members for shape in (update, described)
        )

    def describe(self, table: str, *, with_scaling: bool = True) -> TableCapacity:
        description = self._dynamodb.describe_table(TableName=table)["Table"]
        scaling: dict[tuple[str, str], ScalingRange] = {}
        if with_scaling:
            ids = [resource_id(table, None)] + [
                resource_id(table, gsi["IndexName"]) for gsi in description.get("GlobalSecondaryIndexes") or []
            ]
            scaling = self.scalable_targets(ids)
        return table_capacity(cast(Mapping[str, Any], description), scaling)

    def scalable_targets(self, resource_ids: Iterable[str]) -> dict[tuple[str, str], ScalingRange]:
        ids = sorted(set(resource_ids))
        targets: dict[tuple[str, str], ScalingRange] = {}
        paginator = self._autoscaling.get_paginator("describe_scalable_targets")
        for start in range(0, len(ids), SCALABLE_TARGET_PAGE):
            pages = paginator.paginate(
                ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=ids[start : start + SCALABLE_TARGET_PAGE]
            )
            for page in pages:
                for target in page["ScalableTargets"]:
                    key = (target["ResourceId"], target["ScalableDimension"])
                    targets[key] = ScalingRange(int(target["MinCapacity"]), int(target["MaxCapacity"]))
        return targets

    def register(self, change: Change, bounds: ScalingRange) -> None:
        # Only the bounds: no RoleARN (so no iam:PassRole) and no Tags, and the target already exists, so its
        # service-linked role does too.
        self._autoscaling.register_scalable_target(
            ServiceNamespace=SERVICE_NAMESPACE,
            ResourceId=resource_id(change.table, change.index),
            ScalableDimension=cast(Any, scalable_dimension(change.index, change.dimension)),
            MinCapacity=bounds.min_capacity,
            MaxCapacity=bounds.max_capacity,
        )

    def update(self, current: TableCapacity, parts: Sequence[UpdatePart]) -> list[UpdatePartResult]:
        """Apply the parts in one UpdateTable; if DynamoDB refuses the combination, one part at a time.

        After one part went through the table is UPDATING, so the rest are reported busy (done on a later step).
        """
        try:
            self._dynamodb.update_table(**_update_request(current, parts))
        except ClientError as error:
            outcome, message = classify_error(error)
            if outcome == "busy" or len(parts) == 1:
                return [UpdatePartResult(part, outcome, message) for part in parts]
        else:
            return [UpdatePartResult(part, "applied") for part in parts]
        results: list[UpdatePartResult] = []
        applied = False
        for part in parts:
            if applied:
                results.append(UpdatePartResult(part, "busy", "waiting for the previous update of the table"))
                continue
            try:
                self._dynamodb.update_table(**_update_request(current, [part]))
            except ClientError as error:
                outcome, message = classify_error(error)
                results.append(UpdatePartResult(part, outcome, message))
            else:
                applied = True
                results.append(UpdatePartResult(part, "applied"))
        return results


def _update_request(current: TableCapacity, parts: Sequence[UpdatePart]) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": current.name}
    index_updates: dict[str, dict[str, Any]] = {}
    for part in parts:
        resource = current.resource(part.index)
        if part.kind == "provisioned":
            # ProvisionedThroughput needs both values: the one not changed stays at its current value.
            present = (resource.provisioned if resource is not None else None) or {}
            block: dict[str, Any] = {
                key: part.values.get(dimension, present.get(dimension, 0))
                for dimension, key in PROVISIONED_KEYS.items()
            }
            name = "ProvisionedThroughput"
        else:
            block = {WARM_KEYS[dimension]: units for dimension, units in part.values.items()}
            name = "WarmThroughput"
        if part.index is None:
            request[name] = block
        else:
            index_updates.setdefault(part.index, {"IndexName": part.index})[name] = block
    if index_updates:
        request["GlobalSecondaryIndexUpdates"] = [{"Update": update} for update in index_updates.values()]
    return request


def update_parts(changes: Iterable[Change], values: Callable[[Change], int]) -> list[UpdatePart]:
    """Group changes of one table into UpdateTable parts: one per (resource, kind), base table first."""
    grouped: dict[tuple[str | None, str], list[Change]] = {}
    for change in changes:
        if change.kind in ("provisioned", "warm_throughput"):
            grouped.setdefault((change.index, change.kind), []).append(change)
    ordered = sorted(grouped.items(), key=lambda item: (item[0][0] is not None, item[0][0] or "", item[0][1]))
    return [
        UpdatePart(
            index=index,
            kind=cast(Literal["provisioned", "warm_throughput"], kind),
            values={change.dimension: values(change) for change in members},
            changes=tuple(members),
        )
        for (index, kind), members in ordered
    ]


def classify_error(error: ClientError) -> tuple[UpdateOutcome, str]:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = f"{code}: {details.get('Message', '')}".strip()
    lowered = message.lower()
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in {"LimitExceededException", "ValidationException"} and "decrease" in lowered:
        return "decrease_limit", message
    if code in BUSY_CODES or status >= 500:
        return "busy", message
    if code == "LimitExceededException" and any(word in lowered for word in ("concurrent", "simultaneous")):
        return "busy", message
    return "error", message


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        return classify_error(error)[1]
    return f"{type(error).__name__}: {error}"


def call_aws(operation: str, function: Callable[[], _T]) -> _T:
    """Run one AWS call of a capture or raise step; its failure is a CapacityError naming the operation."""
    try:
        return function()
    except (ClientError, BotoCoreError) as error:
        raise CapacityError(f"{operation} failed during pre-warm: {error_text(error)}") from error
