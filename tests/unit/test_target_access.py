"""A target table in another account: assumed-role sessions, configuration errors, and a whole copy across accounts.

moto keeps one backend per account and maps an assumed role's credentials to the account in the role's ARN, so a
table created through the target session exists only in the target's account, as on AWS.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from migration_core.backfill import BackfillService
from migration_core.config import WorkerConfig
from migration_core.errors import ConfigurationError
from migration_core.models import SegmentRequest
from migration_core.replication import ReplicationEvent
from migration_core.replication_io import TargetApplier
from migration_core.retry import RetryPolicy
from migration_core.target_access import TargetAccess
from migration_core.transform import Transformer
from tests.support.backfill import WORKER_ENVIRONMENT, worker_config
from tests.support.tables import REGION, STATE_TABLE, by_key, create_table, numbered_items, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TARGET_ACCOUNT = "222233334444"
ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/ddb-migrate-target"
TARGET_ARN = f"arn:aws:dynamodb:{REGION}:{TARGET_ACCOUNT}:table/orders"


@pytest.fixture
def accounts() -> Iterator[tuple[DynamoDBClient, DynamoDBClient]]:
    """``orders`` in this account (the source) and a table of the same name in the target's account."""
    with mock_aws():
        here = boto3.client("dynamodb", region_name=REGION)
        there = TargetAccess(role_arn=ROLE_ARN, session_name="unit-test").client("dynamodb")
        create_table(here, "orders", {"pk": "S", "sk": "N"})
        create_table(here, STATE_TABLE, {"pk": "S", "sk": "S"})
        create_table(there, "orders", {"pk": "S", "sk": "N"})
        yield here, there


def test_without_a_role_the_target_client_acts_in_this_account(accounts: tuple[DynamoDBClient, DynamoDBClient]) -> None:
    identity = TargetAccess().client("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"


def test_the_assumed_role_session_acts_in_the_target_account(accounts: tuple[DynamoDBClient, DynamoDBClient]) -> None:
    access = TargetAccess(role_arn=ROLE_ARN, external_id="migration-2026", session_name="worker")
    identity = access.client("sts").get_caller_identity()
    assert identity["Account"] == TARGET_ACCOUNT
    assert identity["Arn"] == f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/ddb-migrate-target/worker"
    described = access.client("dynamodb").describe_table(TableName=TARGET_ARN)["Table"]
    assert described["TableArn"] == TARGET_ARN


def test_the_session_name_comes_from_the_function_and_is_made_valid() -> None:
    access = TargetAccess.from_environment(
        {"TARGET_ROLE_ARN": ROLE_ARN, "AWS_LAMBDA_FUNCTION_NAME": "prod:orders" + "x" * 80}
    )
    assert access.session_name == ("prod-orders" + "x" * 80)[:64]
    assert TargetAccess.from_environment({"AWS_LAMBDA_FUNCTION_NAME": "a"}).session_name == "ddb-migrate"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"TARGET_ROLE_ARN": "arn:aws:iam::2222:role/x"}, "TARGET_ROLE_ARN must be an IAM role ARN"),
        ({"TARGET_ROLE_ARN": "arn:aws:iam::222233334444:user/x"}, "TARGET_ROLE_ARN must be an IAM role ARN"),
        ({"TARGET_ROLE_EXTERNAL_ID": "abc"}, "TARGET_ROLE_EXTERNAL_ID needs TARGET_ROLE_ARN"),
        ({"TARGET_ROLE_ARN": ROLE_ARN, "TARGET_ROLE_EXTERNAL_ID": "a b"}, "TARGET_ROLE_EXTERNAL_ID must be"),
    ],
)
def test_bad_target_access_settings_are_refused(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TargetAccess.from_environment(environment)


@pytest.mark.parametrize(
    "environment",
    [{"TARGET_ROLE_ARN": ROLE_ARN, "TARGET_TABLE": "orders"}, {"TARGET_TABLE": TARGET_ARN}],
    ids=["assumed-role", "resource-policy"],
)
def test_prewarm_is_refused_for_a_target_in_another_account(environment: dict[str, str]) -> None:
    base = {**WORKER_ENVIRONMENT, "SOURCE_TABLE": "orders", "STATE_TABLE": STATE_TABLE, "PREWARM_ALLOWED": "true"}
    with pytest.raises(ConfigurationError, match="PREWARM_ALLOWED=true needs the target in this account"):
        WorkerConfig.from_environment({**base, **environment})


def test_the_target_clients_are_made_for_the_target_region() -> None:
    access = TargetAccess.from_environment({"TARGET_REGION": "eu-west-1"})
    assert access.region == "eu-west-1"
    assert access.client("dynamodb").meta.region_name == "eu-west-1"
    assert TargetAccess().client("dynamodb").meta.region_name == REGION


def test_an_assumed_role_session_also_calls_the_target_region(accounts: tuple[DynamoDBClient, DynamoDBClient]) -> None:
    access = TargetAccess(role_arn=ROLE_ARN, session_name="worker", region="eu-west-1")
    assert access.client("dynamodb").meta.region_name == "eu-west-1"
    assert access.client("sts").get_caller_identity()["Account"] == TARGET_ACCOUNT


@pytest.mark.parametrize("region", ["eu_west_1", "EU-WEST-1", "eu-west", ""])
def test_a_target_region_that_is_no_region_name_is_refused(region: str) -> None:
    with pytest.raises(ConfigurationError, match="TARGET_REGION must be an AWS region name"):
        TargetAccess(region=region)


def test_prewarm_leaves_a_target_in_another_region_alone() -> None:
    target = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    base = {**WORKER_ENVIRONMENT, "SOURCE_TABLE": "orders", "STATE_TABLE": STATE_TABLE, "PREWARM_ALLOWED": "true"}
    config = WorkerConfig.from_environment({**base, "TARGET_TABLE": target, "TARGET_REGION": "eu-west-1"})
    assert not config.target_in_other_account
    assert list(config.prewarm_left_alone()) == [target]
    assert "eu-west-1, another region" in config.prewarm_left_alone()[target]
    assert WorkerConfig.from_environment({**base, "TARGET_TABLE": "orders-v2"}).prewarm_left_alone() == {}


def test_a_backfill_copies_into_a_same_named_table_of_another_region() -> None:
    target_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    with mock_aws():
        here = boto3.client("dynamodb", region_name=REGION)
        access = TargetAccess(region="eu-west-1")
        there = access.client("dynamodb")
        create_table(here, "orders", {"pk": "S", "sk": "N"})
        create_table(here, STATE_TABLE, {"pk": "S", "sk": "S"})
        create_table(there, "orders", {"pk": "S", "sk": "N"})
        items = numbered_items(60)
        put_items(here, "orders", items)
        config = worker_config(
            source_table="orders", target_table=target_arn, state_table=STATE_TABLE, target_access=access
        )
        service = BackfillService(
            config=config,
            client=here,
            target_client=there,
            write_client=there,
            retry_policy=config.retry_policy(sleep=lambda seconds: None, rng=random.Random(0)),
            transformer_factory=lambda: Transformer.from_spec([]),
        )

        planned = service.plan({"total_segments": 2}, "cross-region-run")
        assert planned["run"]["in_place"] is False
        for segment in planned["segments"]:
            event = {"action": "segment", "phase": "copy", "run": planned["run"], "segment": segment}
            assert service.run_segment(SegmentRequest.from_event(event), lambda: 900_000).done

        assert by_key(scan_all(there, "orders")) == by_key(items)
        assert by_key(scan_all(here, "orders")) == by_key(items)


def test_a_backfill_copies_into_a_same_named_table_of_the_other_account(
    accounts: tuple[DynamoDBClient, DynamoDBClient],
) -> None:
    here, there = accounts
    items = numbered_items(120)
    put_items(here, "orders", items)
    config = worker_config(
        source_table="orders",
        target_table=TARGET_ARN,
        state_table=STATE_TABLE,
        write_concurrency=4,
        target_access=TargetAccess(role_arn=ROLE_ARN, session_name="unit-test"),
    )
    service = BackfillService(
        config=config,
        client=here,
        target_client=there,
        write_client=there,
        retry_policy=config.retry_policy(sleep=lambda seconds: None, rng=random.Random(0)),
        transformer_factory=lambda: Transformer.from_spec(
            [{"op": "set", "attribute": "moved", "value": {"BOOL": True}}]
        ),
    )

    planned = service.plan({"total_segments": 3}, "cross-account-run")
    assert planned["run"]["target_table"] == TARGET_ARN
    assert planned["run"]["in_place"] is False
    for segment in planned["segments"]:
        event = {"action": "segment", "phase": "copy", "run": planned["run"], "segment": segment}
        result = service.run_segment(SegmentRequest.from_event(event), lambda: 900_000)
        assert result.done

    copied = by_key(scan_all(there, "orders"))
    assert copied == by_key({**item, "moved": {"BOOL": True}} for item in items)
    # The source, a table of the same name in this account, is untouched.
    assert by_key(scan_all(here, "orders")) == by_key(items)


def test_the_consumer_reads_the_source_here_and_writes_the_target_there(
    accounts: tuple[DynamoDBClient, DynamoDBClient],
) -> None:
    here, there = accounts
    item = {"pk": {"S": "order#1"}, "sk": {"N": "1"}, "total": {"N": "12345678901234567890123456789012345678"}}
    put_items(here, "orders", [item])
    applier = TargetApplier(
        there,
        source_dynamodb=here,
        target_table=TARGET_ARN,
        source_table="orders",
        key_schema={"pk": "S", "sk": "N"},
        transformer=Transformer.from_spec([]),
        retry_policy=RetryPolicy(max_attempts=3, sleep=lambda seconds: None),
    )
    # A re-read event (as an oversize record or a redrive sends): the consumer reads the source item itself.
    event = ReplicationEvent(
        event_id="e1",
        event_name="MODIFY",
        source_table_arn=f"arn:aws:dynamodb:{REGION}:123456789012:table/orders",
        source_table="orders",
        sequence_number="100",
        approximate_creation_time=None,
        keys={"pk": {"S": "order#1"}, "sk": {"N": "1"}},
        new_image=None,
        old_image=None,
        old_target_keys=None,
        reread=True,
        oversize=False,
        omitted=(),
        group_id="order#1",
        ttl_delete=False,
    )
    applier.apply(event)
    assert scan_all(there, "orders") == [item]
