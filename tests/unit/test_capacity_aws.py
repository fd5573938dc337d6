"""Pre-warm and reset against moto (DynamoDB + Application Auto Scaling), through the worker's capacity actions.

DynamoDB's behaviours moto does not have (a table staying UPDATING, the daily decrease limit, a refused call)
come from small wrappers around the moto client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from migration_core.capacity import CapacityActions, CapacityClient, CapacityError
from migration_core.capacity.steps import MAX_RAISE_CHECKS, MAX_RESET_ATTEMPTS
from migration_core.errors import ConfigurationError
from migration_core.models import PrewarmSpec, RunSpec
from tests.support import tables

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
DECREASE_LIMIT_MESSAGE = (
    "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the "
    "first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 "
    "seconds. Number of decreases today: 27."
)


@pytest.fixture
def aws() -> Iterator[tuple[DynamoDBClient, ApplicationAutoScalingClient]]:
    with mock_aws():
        yield (
            boto3.client("dynamodb", region_name=REGION),
            boto3.client("application-autoscaling", region_name=REGION),
        )


def table_with_gsis(
    dynamodb: DynamoDBClient,
    name: str,
    *,
    units: tuple[int, int] | None = (5, 5),
    gsis: dict[str, tuple[int, int]] | None = None,
) -> None:
    """A table keyed by pk with GSIs keyed by g; ``units`` None makes it on-demand."""
    gsis = gsis or {}
    tables.create_table(
        dynamodb, name, {"pk": "S"}, units=units, indexes={index: {"g": "S"} for index in gsis}, index_units=gsis
    )


def throughput(dynamodb: DynamoDBClient, table: str, index: str | None = None) -> tuple[int, int]:
    description = dynamodb.describe_table(TableName=table)["Table"]
    if index is None:
        units = description["ProvisionedThroughput"]
    else:
        units = next(g for g in description["GlobalSecondaryIndexes"] if g["IndexName"] == index)[
            "ProvisionedThroughput"
        ]
    return units["ReadCapacityUnits"], units["WriteCapacityUnits"]


def bounds(autoscaling: ApplicationAutoScalingClient, resource: str, dimension: str) -> tuple[int, int]:
    [target] = autoscaling.describe_scalable_targets(
        ServiceNamespace="dynamodb", ResourceIds=[resource], ScalableDimension=cast(Any, dimension)
    )["ScalableTargets"]
    return target["MinCapacity"], target["MaxCapacity"]


def register(autoscaling: ApplicationAutoScalingClient, resource: str, dimension: str, low: int, high: int) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId=resource,
        ScalableDimension=cast(Any, dimension),
        MinCapacity=low,
        MaxCapacity=high,
    )


class Wrapped:
    """Delegates to a moto client; subclasses change one call. Records the calls of interest in ``calls``."""

    def __init__(self, client: Any, calls: list[str] | None = None) -> None:
        self._client = client
        self.calls = [] if calls is None else calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_table(self, **request: Any) -> Any:
        self.calls.append(f"UpdateTable {request['TableName']} {sorted(k for k in request if k != 'TableName')}")
        return self._client.update_table(**request)

    def register_scalable_target(self, **request: Any) -> Any:
        self.calls.append(f"RegisterScalableTarget {request['ResourceId']} {request['MinCapacity']}")
        return self._client.register_scalable_target(**request)


def lowers(request: dict[str, Any], description: dict[str, Any], *, index: str | None) -> bool:
    if index is None:
        wanted = request.get("ProvisionedThroughput")
        current = description["ProvisionedThroughput"]
    else:
        updates = [
            u["Update"] for u in request.get("GlobalSecondaryIndexUpdates", []) if u["Update"]["IndexName"] == index
        ]
        wanted = updates[0].get("ProvisionedThroughput") if updates else None
        current = next(g for g in description["GlobalSecondaryIndexes"] if g["IndexName"] == index)[
            "ProvisionedThroughput"
        ]
    return wanted is not None and any(wanted[key] < current[key] for key in ("ReadCapacityUnits", "WriteCapacityUnits"))


class DecreaseLimited(Wrapped):
    """DynamoDB after its daily decreases are used up, for the base table of ``tables`` only (not their GSIs)."""

    def __init__(self, client: Any, tables: set[str], calls: list[str] | None = None) -> None:
        super().__init__(client, calls)
        self._tables = tables

    def update_table(self, **request: Any) -> Any:
        description = self._client.describe_table(TableName=request["TableName"])["Table"]
        if request["TableName"] in self._tables and lowers(request, description, index=None):
            self.calls.append(f"refused UpdateTable {request['TableName']}")
            raise ClientError(
                {"Error": {"Code": "LimitExceededException", "Message": DECREASE_LIMIT_MESSAGE}}, "UpdateTable"
            )
        return super().update_table(**request)


class SlowTables(Wrapped):
    """Every UpdateTable leaves the table UPDATING for the next ``describes`` DescribeTable calls."""

    def __init__(self, client: Any, describes: int, calls: list[str] | None = None) -> None:
        super().__init__(client, calls)
        self._describes = describes
        self._updating: dict[str, int] = {}

    def update_table(self, **request: Any) -> Any:
        if self._updating.get(request["TableName"], 0) > 0:
            self.calls.append(f"busy UpdateTable {request['TableName']}")
            raise ClientError(
                {
                    "Error": {
                        "Code": "ResourceInUseException",
                        "Message": "Attempt to change a resource which is still in use",
                    }
                },
                "UpdateTable",
            )
        self._updating[request["TableName"]] = self._describes
        return super().update_table(**request)

    def hold(self, table: str, describes: int) -> None:
        """The table is UPDATING (another update in progress) for the next ``describes`` DescribeTable calls."""
        self._updating[table] = describes

    def describe_table(self, **request: Any) -> Any:
        response = self._client.describe_table(**request)
        left = self._updating.get(request["TableName"], 0)
        if left > 0:
            self._updating[request["TableName"]] = left - 1
            response["Table"]["TableStatus"] = "UPDATING"
        return response


class Refusing(Wrapped):
    def update_table(self, **request: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform: dynamodb:UpdateTable"}},
            "UpdateTable",
        )


def actions(
    dynamodb: Any,
    autoscaling: Any,
    tables: tuple[str, str] = ("source", "target"),
    *,
    left_alone: dict[str, str] | None = None,
    max_raise_checks: int = MAX_RAISE_CHECKS,
    max_reset_attempts: int = MAX_RESET_ATTEMPTS,
) -> CapacityActions:
    return CapacityActions(
        lambda: CapacityClient(dynamodb, autoscaling),
        tables,
        left_alone=left_alone,
        max_raise_checks=max_raise_checks,
        max_reset_attempts=max_reset_attempts,
    )


def run(
    source: str = "source",
    target: str = "target",
    *,
    reads: int = 12_000,
    writes: int = 4_000,
    warm: bool = False,
    **overrides: Any,
) -> RunSpec:
    prewarm = PrewarmSpec(read_units=reads, write_units=writes, warm_throughput_on_demand=warm)
    return RunSpec("run-1", source, target, 4, prewarm=prewarm, **overrides)


def raised(capacity_actions: CapacityActions, spec: RunSpec) -> dict[str, Any]:
    capacity = capacity_actions.capture(spec)
    return capacity_actions.raise_capacity(spec, capacity)


def statuses(capacity: dict[str, Any]) -> list[tuple[str, str | None, str, str, str]]:
    return [
        (entry["table"], entry["index"], entry["setting"], entry["dimension"], entry["status"])
        for entry in capacity["reset"]["entries"]
    ]


def test_provisioned_tables_with_gsis_are_raised_then_restored(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5), gsis={"by-g": (5, 5)})
    table_with_gsis(dynamodb, "target", units=(10, 3), gsis={"by-g": (2, 1), "other": (1, 1)})
    capacity_actions = actions(dynamodb, autoscaling)
    spec = run()

    capacity = raised(capacity_actions, spec)

    assert capacity["raise"]["ready"] is True
    assert capacity["raise"]["checks"] == 0
    assert throughput(dynamodb, "source") == (12_000, 5), "the source is scanned: read only"
    assert throughput(dynamodb, "source", "by-g") == (5, 5), "the source's GSIs are not read"
    assert throughput(dynamodb, "target") == (10, 4_000)
    assert throughput(dynamodb, "target", "by-g") == (2, 4_000), "every write to the target writes its GSIs"
    assert throughput(dynamodb, "target", "other") == (1, 4_000)

    capacity = capacity_actions.reset(spec, capacity)

    assert capacity["reset"]["pending"] is False
    assert capacity["reset"]["status"] == "restored"
    assert capacity["reset"]["manual_commands"] == []
    assert {status for *_, status in statuses(capacity)} == {"restored"}
    assert throughput(dynamodb, "source") == (5, 5)
    assert throughput(dynamodb, "target") == (10, 3)
    assert throughput(dynamodb, "target", "by-g") == (2, 1)
    assert throughput(dynamodb, "target", "other") == (1, 1)
    assert capacity["original"]["tables"][1]["resources"][0]["provisioned"] == {"read": 10, "write": 3}


def test_a_target_in_another_region_is_left_alone_and_the_report_says_so(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "orders", units=(5, 5), gsis={})
    target = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    why = "target orders is in eu-west-1, another region: left alone"
    capacity_actions = actions(dynamodb, autoscaling, ("orders", target), left_alone={target: why})
    spec = run("orders", target)

    capacity = raised(capacity_actions, spec)

    assert [table["name"] for table in capacity["original"]["tables"]] == ["orders"]
    assert [(change["table"], change["dimension"]) for change in capacity["raise"]["changes"]] == [("orders", "read")]
    assert capacity["raise"]["notes"][0] == why
    assert throughput(dynamodb, "orders") == (12_000, 5), "the source of the same name is raised for its reads only"

    capacity = capacity_actions.reset(spec, capacity)

    assert capacity["reset"]["status"] == "restored"
    assert throughput(dynamodb, "orders") == (5, 5)


def test_auto_scaled_table_gets_its_scalable_target_raised_and_restored_first(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5), gsis={"by-g": (5, 5)})
    register(autoscaling, "table/target", "dynamodb:table:WriteCapacityUnits", 5, 100)
    register(autoscaling, "table/target/index/by-g", "dynamodb:index:WriteCapacityUnits", 5, 10_000)
    register(autoscaling, "table/target", "dynamodb:table:ReadCapacityUnits", 5, 50)
    calls: list[str] = []
    capacity_actions = actions(Wrapped(dynamodb, calls), Wrapped(autoscaling, calls))
    spec = run()

    capacity = raised(capacity_actions, spec)

    assert bounds(autoscaling, "table/target", "dynamodb:table:WriteCapacityUnits") == (4_000, 4_000)
    assert bounds(autoscaling, "table/target/index/by-g", "dynamodb:index:WriteCapacityUnits") == (4_000, 10_000)
    assert bounds(autoscaling, "table/target", "dynamodb:table:ReadCapacityUnits") == (5, 50), "not read: untouched"
    assert throughput(dynamodb, "target") == (5, 4_000)
    assert calls[0].startswith("RegisterScalableTarget"), "the scaler's minimum first, so it does not undo the raise"

    calls.clear()
    capacity = capacity_actions.reset(spec, capacity)

    assert capacity["reset"]["status"] == "restored", capacity["reset"]
    assert bounds(autoscaling, "table/target", "dynamodb:table:WriteCapacityUnits") == (5, 100)
    assert bounds(autoscaling, "table/target/index/by-g", "dynamodb:index:WriteCapacityUnits") == (5, 10_000)
    assert throughput(dynamodb, "target") == (5, 5)
    assert throughput(dynamodb, "target", "by-g") == (5, 5)
    registers = [i for i, call in enumerate(calls) if call.startswith("RegisterScalableTarget")]
    first_update = next(i for i, call in enumerate(calls) if call.startswith("UpdateTable target"))
    assert len(registers) == 2
    assert max(registers) < first_update, calls
    entry = next(e for e in capacity["reset"]["entries"] if e["setting"] == "auto_scaling" and e["index"] is None)
    assert (entry["original"], entry["original_max"], entry["raised_to"], entry["raised_max_to"]) == (
        5,
        100,
        4_000,
        4_000,
    )


def test_on_demand_tables_are_left_alone_unless_warm_throughput_is_requested(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=None)
    table_with_gsis(dynamodb, "target", units=None, gsis={"by-g": (0, 0)})
    calls: list[str] = []
    capacity_actions = actions(Wrapped(dynamodb, calls), autoscaling)

    plain = run()
    capacity = raised(capacity_actions, plain)
    capacity = capacity_actions.reset(plain, capacity)

    assert calls == [], "an on-demand table is not touched without warm throughput"
    assert capacity["raise"]["changes"] == []
    assert any("on-demand: left alone" in note for note in capacity["raise"]["notes"])
    assert capacity["reset"]["status"] == "nothing_to_reset"

    warm = run(reads=15_000, writes=6_000, warm=True)
    capacity = raised(capacity_actions, warm)
    table = dynamodb.describe_table(TableName="target")["Table"]
    assert table["WarmThroughput"]["WriteUnitsPerSecond"] == 6_000
    assert table["GlobalSecondaryIndexes"][0]["WarmThroughput"]["WriteUnitsPerSecond"] == 6_000
    assert dynamodb.describe_table(TableName="source")["Table"]["WarmThroughput"]["ReadUnitsPerSecond"] == 15_000

    capacity = capacity_actions.reset(warm, capacity)

    assert {status for *_, status in statuses(capacity)} == {"irreversible"}
    assert capacity["reset"]["status"] == "restored"
    assert capacity["reset"]["operator_action_needed"] is False
    assert "cannot lower" in capacity["reset"]["entries"][0]["message"]


def test_a_refused_decrease_is_reported_with_the_original_values_and_the_rest_restored(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(7, 3), gsis={"by-g": (2, 1)})
    calls: list[str] = []
    capacity_actions = actions(DecreaseLimited(dynamodb, {"target"}, calls), autoscaling)
    spec = run()
    capacity = raised(capacity_actions, spec)

    capacity = capacity_actions.reset(spec, capacity)

    assert capacity["reset"]["pending"] is False
    assert statuses(capacity) == [
        ("source", None, "provisioned", "read", "restored"),
        ("target", None, "provisioned", "write", "refused"),
        ("target", "by-g", "provisioned", "write", "restored"),
    ]
    refused = capacity["reset"]["entries"][1]
    assert (refused["original"], refused["raised_to"], refused["current"]) == (3, 4_000, 4_000)
    assert "LimitExceededException" in refused["message"]
    assert "27 decreases a day" in refused["message"]
    assert capacity["reset"]["status"] == "operator_action_needed"
    assert capacity["reset"]["manual_commands"] == [
        "aws dynamodb update-table --table-name target --provisioned-throughput ReadCapacityUnits=7,WriteCapacityUnits=3"
    ]
    assert throughput(dynamodb, "target") == (7, 4_000)
    assert throughput(dynamodb, "target", "by-g") == (2, 1), "the GSI had decreases left: restored on its own"
    assert throughput(dynamodb, "source") == (5, 5)

    again = capacity_actions.reset(spec, capacity)
    assert statuses(again) == statuses(capacity), "a refused decrease is not retried"
    assert calls.count("refused UpdateTable target") == 2, "the combined call and the table's own part, once"


def test_reset_skips_what_was_never_raised_or_is_already_back(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(20_000, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5))
    calls: list[str] = []
    capacity_actions = actions(Wrapped(dynamodb, calls), autoscaling)
    spec = run()
    capacity = capacity_actions.capture(spec)

    # The raise never ran (say, the run failed while raising): nothing differs from the original.
    capacity = capacity_actions.reset(spec, capacity)

    assert statuses(capacity) == [("target", None, "provisioned", "write", "not_needed")]
    assert calls == [], "no UpdateTable when nothing needs restoring (each decrease counts against the day's 27)"
    assert throughput(dynamodb, "source") == (20_000, 5), "already above the demand: never lowered, never reset"


def test_a_value_changed_by_someone_else_during_the_run_is_left_alone(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5))
    capacity_actions = actions(dynamodb, autoscaling)
    spec = run()
    capacity = raised(capacity_actions, spec)
    dynamodb.update_table(
        TableName="target", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6_000}
    )

    capacity = capacity_actions.reset(spec, capacity)

    assert statuses(capacity) == [
        ("source", None, "provisioned", "read", "restored"),
        ("target", None, "provisioned", "write", "changed_during_run"),
    ]
    assert capacity["reset"]["status"] == "changed_during_run"
    assert throughput(dynamodb, "target") == (5, 6_000)


def test_raise_waits_while_a_table_is_updating_and_gives_up_waiting_after_the_cap(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5))
    slow = SlowTables(dynamodb, describes=1)
    capacity_actions = actions(slow, autoscaling, max_raise_checks=5)
    spec = run()

    capacity = raised(capacity_actions, spec)
    assert capacity["raise"]["ready"] is False
    assert any("UPDATING" in item for item in capacity["raise"]["waiting_for"])

    capacity = capacity_actions.raise_capacity(spec, capacity)
    assert (capacity["raise"]["ready"], capacity["raise"]["checks"]) == (True, 1)
    assert capacity["raise"]["gave_up_waiting"] is False
    assert throughput(dynamodb, "target") == (5, 4_000)

    stuck = SlowTables(dynamodb, describes=1_000)
    table_with_gsis(dynamodb, "other", units=(5, 5))
    capacity_actions = actions(stuck, autoscaling, ("source", "other"), max_raise_checks=2)
    spec = run(target="other")
    capacity = raised(capacity_actions, spec)
    capacity = capacity_actions.raise_capacity(spec, capacity)
    capacity = capacity_actions.raise_capacity(spec, capacity)
    assert (capacity["raise"]["ready"], capacity["raise"]["gave_up_waiting"], capacity["raise"]["checks"]) == (
        True,
        True,
        2,
    )
    assert any("gave up waiting" in note for note in capacity["raise"]["notes"])


def test_reset_retries_while_a_table_is_updating_then_gives_up_with_the_originals(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5))
    slow = SlowTables(dynamodb, describes=1)
    capacity_actions = actions(slow, autoscaling, max_reset_attempts=5)
    spec = run()
    capacity = raised(capacity_actions, spec)
    capacity = capacity_actions.raise_capacity(spec, capacity)
    assert capacity["raise"]["ready"] is True
    slow.hold("target", 2)

    capacity = capacity_actions.reset(spec, capacity)
    # The source is restored at once; the target waits until its other update has finished.
    assert statuses(capacity) == [
        ("source", None, "provisioned", "read", "restored"),
        ("target", None, "provisioned", "write", "pending"),
    ]
    assert capacity["reset"]["pending"] is True
    assert capacity["reset"]["status"] == "in_progress"
    attempts = 1
    while capacity["reset"]["pending"]:
        capacity = capacity_actions.reset(spec, capacity)
        attempts += 1
    assert attempts == 3
    assert capacity["reset"]["attempts"] == 3
    assert capacity["reset"]["status"] == "restored"
    assert throughput(dynamodb, "source") == (5, 5)
    assert throughput(dynamodb, "target") == (5, 5)

    stuck = SlowTables(dynamodb, describes=1_000)
    capacity_actions = actions(stuck, autoscaling, max_reset_attempts=2)
    capacity = raised(actions(dynamodb, autoscaling), spec)
    stuck.hold("source", 1_000)
    capacity = capacity_actions.reset(spec, capacity)
    assert capacity["reset"]["pending"] is True
    capacity = capacity_actions.reset(spec, capacity)
    assert capacity["reset"]["pending"] is False
    assert ("source", None, "provisioned", "read", "not_reset") in statuses(capacity)
    assert capacity["reset"]["operator_action_needed"] is True
    assert (
        "aws dynamodb update-table --table-name source --provisioned-throughput "
        "ReadCapacityUnits=5,WriteCapacityUnits=5" in capacity["reset"]["manual_commands"]
    )


def test_a_refused_raise_fails_the_step_with_capacity_error(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "source", units=(5, 5))
    table_with_gsis(dynamodb, "target", units=(5, 5))
    capacity_actions = actions(Refusing(dynamodb), autoscaling)
    spec = run()
    capacity = capacity_actions.capture(spec)

    with pytest.raises(CapacityError, match="AccessDeniedException") as raised_error:
        capacity_actions.raise_capacity(spec, capacity)
    assert type(raised_error.value).__name__ == "CapacityError", "the name Step Functions sees"

    # The failure path still resets: nothing was changed, so nothing is needed.
    capacity = capacity_actions.reset(spec, capacity)
    assert {status for *_, status in statuses(capacity)} == {"not_needed"}


def test_in_place_run_raises_and_restores_both_dimensions_of_its_table(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    table_with_gsis(dynamodb, "orders", units=(5, 5), gsis={"by-g": (5, 5)})
    capacity_actions = actions(dynamodb, autoscaling, ("orders", "orders"))
    spec = run("orders", "orders", in_place=True)

    capacity = raised(capacity_actions, spec)
    assert throughput(dynamodb, "orders") == (12_000, 4_000)
    assert throughput(dynamodb, "orders", "by-g") == (5, 4_000)
    assert len(capacity["original"]["tables"]) == 1

    capacity = capacity_actions.reset(spec, capacity)
    assert capacity["reset"]["status"] == "restored"
    assert throughput(dynamodb, "orders") == (5, 5)
    assert throughput(dynamodb, "orders", "by-g") == (5, 5)


def test_capacity_actions_refuse_other_tables_and_runs_without_prewarm(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient],
) -> None:
    dynamodb, autoscaling = aws
    capacity_actions = actions(dynamodb, autoscaling)
    from migration_core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="this worker migrates"):
        capacity_actions.capture(run(target="elsewhere"))
    with pytest.raises(InvalidInput, match="does not pre-warm"):
        capacity_actions.capture(RunSpec("run-1", "source", "target", 4))
    with pytest.raises(InvalidInput, match="capacity must be the object capacity_capture returned"):
        capacity_actions.reset(run(), {"prewarmed": False})


def _sdk_without_warm_throughput(model_dir: Path) -> DynamoDBClient:
    """A real botocore client whose DynamoDB model predates WarmThroughput, as older Lambda runtimes carry."""
    loader = botocore.loaders.Loader()
    model = loader.load_service_model("dynamodb", "service-2")
    version = loader.determine_latest_version("dynamodb", "service-2")
    for shape in model["shapes"].values():
        shape.get("members", {}).pop("WarmThroughput", None)
    target = model_dir / "dynamodb" / version
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(model_dir))
    client = session.create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return cast("DynamoDBClient", client)


def test_warm_throughput_on_an_sdk_without_it_is_refused_before_any_change(
    aws: tuple[DynamoDBClient, ApplicationAutoScalingClient], tmp_path: Path
) -> None:
    _, autoscaling = aws
    old_sdk = _sdk_without_warm_throughput(tmp_path)
    capacity_actions = actions(old_sdk, autoscaling)

    with pytest.raises(ConfigurationError, match=r"does not know; it arrived in botocore 1\.35\.60"):
        capacity_actions.capture(run(warm=True))


def test_the_current_sdk_knows_warm_throughput(aws: tuple[DynamoDBClient, ApplicationAutoScalingClient]) -> None:
    dynamodb, autoscaling = aws
    assert CapacityClient(dynamodb, autoscaling).knows_warm_throughput()
