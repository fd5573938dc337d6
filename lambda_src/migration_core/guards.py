"""Guards that refuse unsafe runs before anything is written: the run lock, point-in-time recovery, overrides.

The plan step (every execution passes it, including ones started without the CLI) enforces them; the CLI runs
the same checks before StartExecution, so that a run the plan step would refuse never starts.

The run lock is one record in the state table, ``pk = "lock", sk = "lock"``. Run records use ``sk = "run"`` and
segment records ``sk = "seg#..."``, so no reader of runs or segments can take the lock for one, whatever the
run's name. It is taken with a conditional PutItem and released (a conditional UpdateItem on the run id that
removes the holder) by the summarize and report_failure steps. A stopped or timed-out execution runs neither, so a lock whose execution is
no longer RUNNING (DescribeExecution) is stale and the next plan takes it over, again conditionally, so two
plans racing for a stale lock cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from migration_core.clock import Clock, iso_timestamp, utc_now
from migration_core.errors import InvalidInput, RunInProgress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOCK_PARTITION_KEY = "lock"
LOCK_SORT_KEY = "lock"
# Expires through the table's TTL like every record: a lock outliving its run by that long is stale anyway.
LOCK_RETENTION_SECONDS = 30 * 24 * 3600
# Conditional writes lost to another plan before giving up; each loss means someone else made progress.
MAX_LOCK_ATTEMPTS = 5
OVERRIDE_FIELDS = ("allow_consumer_running", "allow_without_pitr")
PITR_ENABLE_COMMAND = (
    "aws dynamodb update-continuous-backups --table-name {table} "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
)

# The status of an execution by ARN ("RUNNING", "SUCCEEDED", ...); None when it does not exist (any more).
ExecutionStatus = Callable[[str], "str | None"]


@dataclass(frozen=True)
class GuardOverrides:
    """What the operator explicitly accepted for a run (execution input fields, CLI flags)."""

    allow_consumer_running: bool = False
    allow_without_pitr: bool = False

    @classmethod
    def from_input(cls, execution_input: Mapping[str, Any]) -> GuardOverrides:
        values: dict[str, bool] = {}
        for name in OVERRIDE_FIELDS:
            value = execution_input.get(name, False)
            if not isinstance(value, bool):
                raise InvalidInput(f"{name} must be true or false, got {value!r}")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    execution_arn: str
    acquired_at: str

    @property
    def execution_name(self) -> str:
        return self.execution_arn.rsplit(":", 1)[-1]


def mutated_table(*, mode: str, in_place: bool, cleanup: bool, target_table: str) -> str | None:
    """The table a run rewrites or deletes items of, which needs a backup first; None for a copy into a target."""
    if mode == "copy" and (in_place or cleanup):
        return target_table
    return None


def point_in_time_recovery_enabled(client: DynamoDBClient, table: str) -> bool:
    description = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    recovery = description.get("PointInTimeRecoveryDescription", {})
    return recovery.get("PointInTimeRecoveryStatus") == "ENABLED"


def pitr_refusal(table: str, *, in_place: bool, override: str) -> str:
    what = "an in-place run rewrites every item of" if in_place else "a cleanup deletes every item of"
    return (
        f"point-in-time recovery is not enabled on {table!r}, and {what} it: enable it first "
        f"({PITR_ENABLE_COMMAND.format(table=table)}), or accept running without a backup with {override}"
    )


def require_point_in_time_recovery(client: DynamoDBClient, table: str, *, in_place: bool, override: str) -> None:
    if not point_in_time_recovery_enabled(client, table):
        raise InvalidInput(pitr_refusal(table, in_place=in_place, override=override))


def lock_refusal(holder: LockHolder, *, hint: str = "") -> str:
    return (
        f"run {holder.run_id} (execution {holder.execution_name}, since {holder.acquired_at}) is still running "
        f"on this deployment, and only one run at a time may write: wait for it to end or stop it{hint}"
    )


class RunLock:
    """The deployment's one-run-at-a-time lock in the state table (see the module docstring)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, clock: Clock = utc_now) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def holder(self) -> LockHolder | None:
        item = self._client.get_item(
            TableName=self._table_name,
            Key={"pk": {"S": LOCK_PARTITION_KEY}, "sk": {"S": LOCK_SORT_KEY}},
            ConsistentRead=True,
        ).get("Item")
        if item is None or "execution_arn" not in item:
            return None
        return LockHolder(
            run_id=item.get("run_id", {}).get("S", ""),
            execution_arn=item.get("execution_arn", {}).get("S", ""),
            acquired_at=item.get("acquired_at", {}).get("S", ""),
        )

    def running_holder(self, execution_status: ExecutionStatus) -> LockHolder | None:
        """The holder when its execution is still RUNNING; None when the lock is free or stale."""
        holder = self.holder()
        if holder is None or execution_status(holder.execution_arn) != "RUNNING":
            return None
        return holder

    def acquire(self, run_id: str, execution_arn: str, execution_status: ExecutionStatus) -> None:
        """Take the lock for this execution; raises RunInProgress while another execution holds it and runs.

        Taking it again from the same execution succeeds, so a retried plan step is harmless."""
        expected: str | None = None
        for _ in range(MAX_LOCK_ATTEMPTS):
            if self._put(run_id, execution_arn, expected):
                return
            holder = self.holder()
            if holder is None:
                expected = None
                continue
            if holder.execution_arn != execution_arn and execution_status(holder.execution_arn) == "RUNNING":
                raise RunInProgress(
                    lock_refusal(holder, hint=" (ddb-migrate status / ddb-migrate stop with that name)")
                )
            expected = holder.execution_arn
        raise RunInProgress(
            f"the run lock of this deployment changed hands {MAX_LOCK_ATTEMPTS} times while run {run_id} tried to "
            "take it: other runs are starting at the same time; start this one again when they have ended"
        )

    def release(self, run_id: str) -> None:
        """Give the lock up if this run holds it; a lock taken over by another run stays with that run."""
        # An UpdateItem that clears the holder rather than a DeleteItem: the worker's role has no DeleteItem on
        # the state table, and keeping it that way means no code path of the worker can delete a checkpoint.
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"pk": {"S": LOCK_PARTITION_KEY}, "sk": {"S": LOCK_SORT_KEY}},
                UpdateExpression="SET released_at = :now REMOVE execution_arn",
                ConditionExpression="run_id = :run AND attribute_exists(execution_arn)",
                ExpressionAttributeValues={":run": {"S": run_id}, ":now": {"S": iso_timestamp(self._clock())}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def _put(self, run_id: str, execution_arn: str, expected: str | None) -> bool:
        now = self._clock()
        # Free (never taken, or released), already ours, or still held by the stale holder we looked at (nobody
        # took it over meanwhile).
        condition = "attribute_not_exists(execution_arn) OR execution_arn = :mine"
        values: dict[str, Any] = {":mine": {"S": execution_arn}}
        if expected is not None:
            condition += " OR execution_arn = :stale"
            values[":stale"] = {"S": expected}
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    "pk": {"S": LOCK_PARTITION_KEY},
                    "sk": {"S": LOCK_SORT_KEY},
                    "run_id": {"S": run_id},
                    "execution_arn": {"S": execution_arn},
                    "acquired_at": {"S": iso_timestamp(now)},
                    "expires_at": {"N": str(int(now.timestamp()) + LOCK_RETENTION_SECONDS)},
                },
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def stepfunctions_execution_status(stepfunctions: Any) -> ExecutionStatus:
    """ExecutionStatus through DescribeExecution; an execution Step Functions no longer knows is not running."""

    def status(execution_arn: str) -> str | None:
        if not execution_arn:
            return None
        try:
            return str(stepfunctions.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise

    return status
