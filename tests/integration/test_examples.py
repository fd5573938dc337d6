"""Every example under examples/ applies from its own files with plain terraform init + apply, and the deployment
then does what the example's README says: backfills through the real CLI, and for live-migration replicates.

Each example has one case function in EXAMPLE_CASES. A new example is a directory plus one function here and one
run block in tests/terraform/examples.tftest.hcl, which plan-tests the examples with the mock provider; the
guards below fail for an example that has neither, and for README tables that no longer match the example's
variables.tf/outputs.tf.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools import REPO_ROOT, tfdocs
from devtools.datagen import generate_items
from devtools.tables import create_table, create_table_request, load_items, scan_all
from devtools.terraform_setup import terraform_environment
from migration_core.target_access import TargetAccess
from tests.support.example_stack import EXAMPLES_DIR, ExampleStack
from tests.support.live import USE_EMULATOR, cli, queue_depth
from tests.support.tables import by_key, differences
from tests.support.waits import wait_until_settled

SOURCE_KEY = {"pk": "S", "sk": "N"}
ITEM_COUNT = 300
SEGMENTS = 4
SCHEMA_VERSION = {"schema_version": {"N": "2"}}
# The localstack example reaches AWS only through its endpoint variable; real AWS has no such endpoint.
HAS_ENDPOINT = USE_EMULATOR or bool(os.environ.get("AWS_ENDPOINT_URL"))
TERRAFORM_TESTS_DIR = REPO_ROOT / "tests" / "terraform"


@dataclass
class ExampleContext:
    """What a case needs: unique names, a place to apply, the endpoint, and the stacks to destroy afterwards."""

    tmp_path: Path
    unique_name: Callable[[str], str]
    endpoint: str | None
    stacks: list[ExampleStack] = field(default_factory=list)

    def apply(
        self, example: str, variables: dict[str, Any], env: dict[str, str] | None = None, *, label: str | None = None
    ) -> ExampleStack:
        stack = ExampleStack(self.tmp_path / (label or example), variables, example=example)
        if env is not None:
            stack.env = env
        self.stacks.append(stack)
        stack.apply()
        return stack

    def source_with_items(self, *, stream: bool = False) -> tuple[str, str]:
        """A loaded source table and an empty target with the same key schema."""
        source, target = self.unique_name("src"), self.unique_name("dst")
        create_table(source, SOURCE_KEY, stream=stream)
        create_table(target, SOURCE_KEY)
        assert load_items(source, generate_items(ITEM_COUNT)) == ITEM_COUNT
        return source, target


def run_backfill(tmp_path: Path, *selector: str) -> dict[str, Any]:
    """``ddb-migrate run`` as the example READMEs show it, with 4 segments instead of their default 16 because the
    emulator runs every Lambda invocation on this machine; the run's JSON result once it succeeded."""
    json_path = tmp_path / f"run-{time.monotonic_ns()}.json"
    completed = cli("run", *selector, "--total-segments", str(SEGMENTS), "--json-output", str(json_path), check=False)
    result: dict[str, Any] = json.loads(json_path.read_text())
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert result["status"] == "SUCCEEDED", result
    return result


def assert_target_is_stamped_source(source: str, target: str, started: datetime, *, timestamped: bool) -> None:
    """The examples' transform, written out by hand: schema_version = 2 and, when timestamped, migrated_at."""
    expected = {key: {**item, **SCHEMA_VERSION} for key, item in by_key(scan_all(source), "pk", "sk").items()}
    copied = scan_all(target)
    if timestamped:
        for item in copied:
            stamp = datetime.fromisoformat(item.pop("migrated_at")["S"])
            assert started - timedelta(seconds=5) <= stamp <= datetime.now(UTC)
    assert by_key(copied, "pk", "sk") == expected


def backfill_and_check(
    context: ExampleContext, example: str, variables: dict[str, Any], env: dict[str, str] | None = None
) -> None:
    """Apply a single-pair backfill example, run a backfill through its directory, and check the target."""
    source, target = context.source_with_items()
    stack = context.apply(example, {**variables, "source_table_name": source, "target_table_name": target}, env)
    started = datetime.now(UTC)

    result = run_backfill(context.tmp_path, "--terraform-dir", str(stack.directory))

    assert result["output"]["written"] == ITEM_COUNT
    assert_target_is_stamped_source(source, target, started, timestamped=True)


def backfill_only(context: ExampleContext) -> None:
    backfill_and_check(context, "backfill-only", {"name": context.unique_name("bo")})


def localstack(context: ExampleContext) -> None:
    assert context.endpoint is not None
    # Only the example's provider block may point Terraform at the emulator: no AWS_ENDPOINT_URL* and none of the
    # emulator's credentials in Terraform's environment.
    env = {
        name: value
        for name, value in terraform_environment().items()
        if not name.startswith(("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    }
    backfill_and_check(context, "localstack", {"endpoint": context.endpoint, "name": context.unique_name("ls")}, env)


def multiple_tables(context: ExampleContext) -> None:
    orders = context.source_with_items()
    users_source, users_target = context.unique_name("users"), context.unique_name("users-v2")
    create_table(users_source, {"user_id": "S"})
    create_table(users_target, {"user_id": "S"})
    users = [{"user_id": {"S": f"u{index:03d}"}, "visits": {"N": str(index * 7)}} for index in range(40)]
    load_items(users_source, users)
    prefix = context.unique_name("mt")
    stack = context.apply(
        "multiple-tables",
        {
            "name_prefix": prefix,
            "migrations": {
                "orders": {"source_table_name": orders[0], "target_table_name": orders[1], "total_segments": 2},
                "users": {"source_table_name": users_source, "target_table_name": users_target},
            },
        },
    )
    outputs = stack.outputs()
    assert outputs["state_machine_names"] == {
        "orders": f"{prefix}-orders-backfill",
        "users": f"{prefix}-users-backfill",
    }
    started = datetime.now(UTC)

    written = {
        key: run_backfill(context.tmp_path, "--state-machine", name)["output"]["written"]
        for key, name in outputs["state_machine_names"].items()
    }

    assert written == {"orders": ITEM_COUNT, "users": len(users)}
    for name in outputs["state_machine_names"].values():
        cli("verify", "--state-machine", name)
    assert_target_is_stamped_source(*orders, started, timestamped=False)
    assert by_key(scan_all(users_target), "user_id") == {
        key: {**item, **SCHEMA_VERSION} for key, item in by_key(users, "user_id").items()
    }


def application_writes(table: str, keys: list[tuple[str, str]], tag: str) -> int:
    """Update the first half of ``keys``, delete the rest, insert as many new items; return the number of writes."""
    dynamodb = client("dynamodb")
    half = len(keys) // 2
    for pk, sk in keys[:half]:
        dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": pk}, "sk": {"N": sk}},
            UpdateExpression="SET #state = :state",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":state": {"S": tag}},
        )
    for pk, sk in keys[half:]:
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"N": sk}})
    for index in range(half):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"{tag}#{index}"}, "sk": {"N": "0"}, "n": {"N": "1"}})
    return len(keys) + half


def live_migration(context: ExampleContext) -> None:
    source, target = context.source_with_items(stream=True)
    # As the README says: the time of the first apply, before the backfill starts.
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stack = context.apply(
        "live-migration",
        {
            "name": context.unique_name("lm"),
            "source_table_name": source,
            "target_table_name": target,
            "cutoff_timestamp": cutoff,
        },
    )
    outputs = stack.outputs()
    terraform_dir = str(stack.directory)
    lambda_ = client("lambda")
    assert lambda_.get_event_source_mapping(UUID=outputs["consumer_event_source_mapping_uuid"])["State"] == "Disabled"
    consumer = lambda_.get_function_configuration(FunctionName=outputs["consumer_function_name"])
    assert consumer["Environment"]["Variables"]["CUTOFF_TIMESTAMP"] == cutoff

    queue_url = outputs["replication_queue_url"]
    keys = sorted(by_key(scan_all(source), "pk", "sk"))
    # The stream is read from its oldest record, so the initial load is queued too; the consumer drops those
    # events as older than the cutoff.
    queued = ITEM_COUNT

    def wait_until_queued() -> None:
        def buffered() -> str | None:
            depth = queue_depth(queue_url)
            return None if depth == queued else f"{depth} of {queued} messages queued"

        wait_until_settled(buffered, "the application's changes reaching the queue")

    # The application keeps writing while the migration runs: before the backfill, whose scan sees these ...
    queued += application_writes(source, keys[:20], "before-backfill")
    wait_until_queued()
    assert scan_all(target) == [], "a paused consumer must not write to the target"

    result = run_backfill(context.tmp_path, "--terraform-dir", terraform_dir)
    assert result["output"]["written"] == len(scan_all(source))

    # ... and after it, which only replication brings to the target.
    queued += application_writes(source, keys[20:40], "after-backfill")
    wait_until_queued()
    deleted_after_backfill = {"pk": {"S": keys[39][0]}, "sk": {"N": keys[39][1]}}
    assert "Item" in client("dynamodb").get_item(TableName=target, Key=deleted_after_backfill)

    assert "Enabled" in cli("replication", "resume", "--terraform-dir", terraform_dir).stdout
    # With consumer_enabled = true, as the README says next, Terraform agrees with the resumed mapping.
    stack.module_inputs = {**stack.module_inputs, "consumer_enabled": True}
    stack.write()
    plan = stack.terraform("plan", "-input=false", "-no-color")
    assert not re.search(r"aws_lambda_event_source_mapping\.consumer (will|must) be", plan.stdout), plan.stdout

    expected = {key: {**item, **SCHEMA_VERSION} for key, item in by_key(scan_all(source), "pk", "sk").items()}

    def drained() -> str | None:
        problem = differences(expected, by_key(scan_all(target), "pk", "sk"))
        if problem is None and queue_depth(queue_url):
            problem = f"{queue_depth(queue_url)} message(s) still queued"
        return problem

    wait_until_settled(drained, "the resumed consumer draining the queue", timeout=60)
    assert queue_depth(outputs["replication_dlq_url"]) == 0
    cli("verify", "--terraform-dir", terraform_dir)
    check = cli("cutover-check", "--terraform-dir", terraform_dir, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("READY"), check.stdout


TARGET_ACCOUNT = "222233334444"


def _target_account_dynamodb() -> Any:
    """A client of the target account, as an administrator there (moto maps the role's credentials to it)."""
    admin = TargetAccess(role_arn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/admin", session_name="integration-test")
    return admin.client("dynamodb")


def cross_account(context: ExampleContext) -> None:
    """Both ways into the other account: an assumed role (with live replication) and the table's policy."""
    there = _target_account_dynamodb()
    for access, replicate in (("assume-role", True), ("resource-policy", False)):
        # The same name in both accounts: two tables, not an in-place migration.
        table = context.unique_name(f"xa-{access[:4]}")
        create_table(table, SOURCE_KEY, stream=replicate)
        assert load_items(table, generate_items(ITEM_COUNT)) == ITEM_COUNT
        there.create_table(**create_table_request(table, SOURCE_KEY))
        stack = context.apply(
            "cross-account",
            {
                "name": context.unique_name(access[:4]),
                "source_table_name": table,
                "target_table_name": table,
                "target_account_admin_role_arn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/OrganizationAccountAccessRole",
                "access": access,
                "external_id": "integration-test" if access == "assume-role" else None,
                "replicate": replicate,
                "cutoff_timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            label=f"cross-account-{access}",
        )
        assert stack.outputs()["target_table_arn"] == f"arn:aws:dynamodb:us-east-1:{TARGET_ACCOUNT}:table/{table}"
        terraform_dir = str(stack.directory)

        result = run_backfill(context.tmp_path, "--terraform-dir", terraform_dir)
        assert result["output"]["written"] == ITEM_COUNT
        if replicate:
            # Changes after the backfill reach the other account only through the consumer's assumed role.
            dynamodb = client("dynamodb")
            dynamodb.put_item(TableName=table, Item={"pk": {"S": "late"}, "sk": {"N": "1"}, "n": {"N": "7" * 38}})
            first = scan_all(table)[0]
            dynamodb.delete_item(TableName=table, Key={"pk": first["pk"], "sk": first["sk"]})
            cli("replication", "resume", "--terraform-dir", terraform_dir)
        expected = by_key(scan_all(table), "pk", "sk")

        def copied(table: str = table, expected: dict[Any, Any] = expected) -> str | None:
            pages = there.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            return differences(expected, by_key([item for page in pages for item in page["Items"]], "pk", "sk"))

        wait_until_settled(copied, f"the table in account {TARGET_ACCOUNT} equal to the source ({access})", timeout=180)
        cli("verify", "--terraform-dir", terraform_dir, "--distributed")
        cli("verify", "--terraform-dir", terraform_dir)


EXAMPLE_CASES: dict[str, Callable[[ExampleContext], None]] = {
    "backfill-only": backfill_only,
    "live-migration": live_migration,
    "multiple-tables": multiple_tables,
    "localstack": localstack,
    "cross-account": cross_account,
}
APPLIED_HERE = [name for name in EXAMPLE_CASES if HAS_ENDPOINT or name != "localstack"]


def example_directories() -> list[str]:
    return sorted(path.name for path in EXAMPLES_DIR.iterdir() if path.is_dir())


@pytest.fixture
def example_context(
    aws_endpoint: str | None, tmp_path: Path, unique_name: Callable[[str], str]
) -> Iterator[ExampleContext]:
    context = ExampleContext(tmp_path, unique_name, aws_endpoint)
    yield context
    if not USE_EMULATOR:
        for stack in reversed(context.stacks):
            stack.destroy()


# Its resource-policy half names the other account's table by ARN, which DynamoDB serves from the table's account;
# the LocalStack target's DynamoDB (moto) looks every table up in the caller's account (the embedded emulator
# serves it from the table's, devtools/emulator/cross_account.py). The assume-role half passes there.
NOT_ON_LOCALSTACK = {
    "cross-account": "a table named by another account's ARN is looked up in the caller's account by moto's DynamoDB"
}


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(name, marks=pytest.mark.not_on_localstack(reason=NOT_ON_LOCALSTACK[name]))
        if name in NOT_ON_LOCALSTACK
        else name
        for name in APPLIED_HERE
    ],
)
def test_example_applies_and_its_deployment_works(example: str, example_context: ExampleContext) -> None:
    EXAMPLE_CASES[example](example_context)


def test_every_example_has_a_case() -> None:
    untested = sorted(set(example_directories()) - EXAMPLE_CASES.keys())
    assert untested == [], f"examples without a case in EXAMPLE_CASES, so never applied: {untested}"
    assert sorted(EXAMPLE_CASES) == example_directories(), "EXAMPLE_CASES names an example that does not exist"


def test_every_example_is_plan_tested() -> None:
    test_files = "\n".join(path.read_text(encoding="utf-8") for path in TERRAFORM_TESTS_DIR.glob("*.tftest.hcl"))
    planned = set(re.findall(r'source\s*=\s*"\./examples/([^"/]+)"', test_files))
    unplanned = sorted(set(example_directories()) - planned)
    assert unplanned == [], f"examples that no run block of tests/terraform/*.tftest.hcl plans: {unplanned}"


@pytest.mark.parametrize("example", example_directories())
def test_example_readme_tables_match_its_variables_and_outputs(example: str) -> None:
    directory = EXAMPLES_DIR / example
    current, expected = tfdocs.expected_readme(directory, directory / "README.md")
    assert current == expected, (
        f"the tables in examples/{example}/README.md are out of date: run "
        f"`.venv/bin/python -m devtools.tfdocs --write --module-dir examples/{example}`"
    )


def test_localstack_differs_from_backfill_only_only_in_provider_and_endpoint() -> None:
    def blocks(example: str, file: str) -> dict[str, Any]:
        return tfdocs.parse_file(EXAMPLES_DIR / example / file)

    def module_call(example: str) -> tuple[str, dict[str, Any]]:
        ((label, call),) = blocks(example, "main.tf")["module"][0].items()
        # The tags name the example; everything else must match.
        return label, {argument: value for argument, value in call.items() if argument != "tags"}

    localstack_main, backfill_main = blocks("localstack", "main.tf"), blocks("backfill-only", "main.tf")
    assert localstack_main.keys() == backfill_main.keys() == {"provider", "module"}
    assert len(localstack_main["module"]) == len(backfill_main["module"]) == 1
    assert module_call("localstack") == module_call("backfill-only")
    assert localstack_main["provider"] != backfill_main["provider"]
    localstack_variables = [
        block for block in blocks("localstack", "variables.tf")["variable"] if '"endpoint"' not in block
    ]
    assert localstack_variables == blocks("backfill-only", "variables.tf")["variable"]
    for file in ("outputs.tf", "versions.tf"):
        assert blocks("localstack", file) == blocks("backfill-only", file), file
