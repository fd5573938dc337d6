"""Live replication end to end: terraform apply of the root module with replication enabled, then real writes
to the source table travel stream -> forwarder Lambda -> FIFO queue -> consumer Lambda -> target.

Every wait polls the observable state (the target's items, the queue's depth) with a deadline; nothing sleeps
for a fixed time hoping the pipeline has caught up.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools.stack import Stack
from devtools.tables import create_table, create_table_request, load_items, scan_all
from tests.support.live import cli, queue_depth
from tests.support.tables import Item, by_key, differences, normalize
from tests.support.waits import wait_until_settled

SOURCE_KEY = {"pk": "S", "sk": "N"}
# The target key is derived from a non-key attribute, so changing `tenant` moves an item to another target key.
KEY_CHANGING_STEPS = [
    {"op": "derive", "attribute": "target_pk", "template": "{tenant}#{pk}#{sk}"},
    {"op": "set", "attribute": "migrated", "value": json.dumps({"BOOL": True})},
]
# Larger than one message (262,144 bytes) on its own: the forwarder sends it without images.
OVERSIZE_TEXT = "x" * 300_000


def replication_settings(**overrides: Any) -> dict[str, Any]:
    return {"enabled": True, **overrides}


def expected_target(item: Item) -> Item:
    """What KEY_CHANGING_STEPS make of a source item, written out by hand rather than through our transform."""
    derived = f"{item['tenant']['S']}#{item['pk']['S']}#{item['sk']['N']}"
    return {**item, "target_pk": {"S": derived}, "migrated": {"BOOL": True}}


def visible_messages(url: str) -> int:
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def put(table: str, item: Item) -> None:
    client("dynamodb").put_item(TableName=table, Item=item)


def update(
    table: str,
    key: Item,
    set_values: Item | None = None,
    remove: tuple[str, ...] = (),
    add: Item | None = None,
) -> None:
    """UpdateItem with every attribute name behind a placeholder (DynamoDB reserves hundreds of words)."""
    names: dict[str, str] = {}
    values: Item = {}
    clauses = []
    for verb, attributes in (("SET", set_values or {}), ("ADD", add or {})):
        parts = []
        for name, value in attributes.items():
            names[f"#{name}"] = name
            values[f":{name}"] = value
            parts.append(f"#{name} = :{name}" if verb == "SET" else f"#{name} :{name}")
        if parts:
            clauses.append(f"{verb} {', '.join(parts)}")
    if remove:
        names.update({f"#{name}": name for name in remove})
        clauses.append("REMOVE " + ", ".join(f"#{name}" for name in remove))
    client("dynamodb").update_item(
        TableName=table,
        Key=key,
        UpdateExpression=" ".join(clauses),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def delete(table: str, key: Item) -> None:
    client("dynamodb").delete_item(TableName=table, Key=key)


def key(pk: str, sk: int) -> Item:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def every_type_item() -> Item:
    """One item holding every AttributeValue type, including the values lossy tools get wrong."""
    return {
        **key("typed", 1),
        "tenant": {"S": "t1"},
        "greeting": {"S": "héllo wörld ✓ 𝄞 \u0000 end"},
        "empty_text": {"S": ""},
        "big_number": {"N": "12345678901234567890123456789012345678"},
        "small_number": {"N": "-0.000000000000000000000000000000000123"},
        "binary": {"B": b"\x00\xff\x80 not utf-8 \xfe"},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "strings": {"SS": ["a", "b", "ü"]},
        "numbers": {"NS": ["1", "2.5", "-3", "99999999999999999999999999999999999999"]},
        "binaries": {"BS": [b"\x00", b"\xff\xfe"]},
        "map": {
            "M": {
                "list": {"L": [{"N": "1"}, {"S": "two"}, {"M": {}}, {"L": []}, {"NULL": True}]},
                "deep": {"M": {"bytes": {"B": b"\x01\x02"}, "set": {"SS": ["only"]}}},
            }
        },
        "list": {"L": [{"NS": ["7"]}, {"BOOL": False}, {"M": {"k": {"S": "v"}}}]},
    }


@pytest.fixture
def source_table(unique_name: Callable[[str], str]) -> str:
    name = unique_name("rsource")
    create_table(name, SOURCE_KEY, stream=True)
    return name


def test_replication_applies_every_change_after_the_cutoff(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str]
) -> None:
    target_table = unique_name("rtarget")
    create_table(target_table, {"target_pk": "S"})

    # Before the cutoff: a restored target already holds these items (as a backup restore would) ...
    restored = [
        {**key("moves", 1), "tenant": {"S": "t1"}, "v": {"N": "1"}},
        {**key("removed", 2), "tenant": {"S": "t1"}, "v": {"N": "2"}},
        {**key("kept", 3), "tenant": {"S": "t1"}, "v": {"N": "3"}},
    ]
    for item in restored:
        put(source_table, item)
    load_items(target_table, [expected_target(item) for item in restored])
    # ... and this one is only in the stream. Its event is older than the cutoff, so the consumer must drop it
    # (if it were applied, the item would appear in the target).
    put(source_table, {**key("ghost", 4), "tenant": {"S": "t0"}})
    # ApproximateCreationDateTime is whole seconds; two seconds on, no earlier event can reach the cutoff.
    cutoff_epoch = math.floor(time.time()) + 2
    cutoff = datetime.fromtimestamp(cutoff_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    outputs = deploy(
        {
            "name": unique_name("repl"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "transform": {"steps": KEY_CHANGING_STEPS},
            "replication": replication_settings(cutoff_timestamp=cutoff),
        }
    )
    assert outputs["replication_cutoff_timestamp"] == cutoff
    assert time.time() >= cutoff_epoch, "the changes below must happen after the cutoff"

    put(source_table, every_type_item())
    put(source_table, {**key("typed", 2), "tenant": {"S": "t2"}, "only": {"SS": ["one"]}})
    update(
        source_table,
        key("typed", 1),
        set_values={"greeting": {"S": "changed ✓"}, "big_number": {"N": "-98765432109876543210987654321098765432"}},
        remove=("nothing",),
        add={"numbers": {"NS": ["4"]}},
    )
    put(source_table, {**key("transient", 5), "tenant": {"S": "t1"}})
    delete(source_table, key("transient", 5))
    # A MODIFY that changes the derived key: the item moves from t1#moves#1 to t2#moves#1.
    update(source_table, key("moves", 1), set_values={"tenant": {"S": "t2"}, "v": {"N": "10"}})
    # A REMOVE deletes the key the transform derived from the OldImage: t1#removed#2.
    delete(source_table, key("removed", 2))
    # Too large for one message: inserted through a re-read of the source, then moved to another derived key
    # with both images too large, so the forwarder derives the old target key itself.
    put(source_table, {**key("oversize", 6), "tenant": {"S": "t1"}, "blob": {"S": OVERSIZE_TEXT}})
    update(source_table, key("oversize", 6), set_values={"tenant": {"S": "t9"}, "extra": {"N": "1"}})

    # Expected: the transform of every current source item, except the ghost, whose only event predates the
    # cutoff. The old derived keys (t1#moves#1, t1#removed#2, t1#oversize#6, t1#transient#5) must be gone.
    expected = by_key(
        [expected_target(item) for item in scan_all(source_table) if item["pk"]["S"] != "ghost"], "target_pk"
    )
    assert set(expected) == {
        ("t1#typed#1",),
        ("t2#typed#2",),
        ("t2#moves#1",),
        ("t1#kept#3",),
        ("t9#oversize#6",),
    }
    queue_url = outputs["replication_queue_url"]

    def converged() -> str | None:
        problem = differences(expected, by_key(scan_all(target_table), "target_pk"))
        if problem is None and queue_depth(queue_url):
            problem = f"{queue_depth(queue_url)} message(s) still in the queue"
        return problem

    wait_until_settled(converged, "the target following the source")

    target = by_key(scan_all(target_table), "target_pk")
    assert target[("t1#typed#1",)] == normalize(expected_target(every_type_item_after_update()))
    assert ("t0#ghost#4",) not in target
    assert queue_depth(outputs["replication_dlq_url"]) == 0
    assert queue_depth(outputs["stream_failure_queue_url"]) == 0


def every_type_item_after_update() -> Item:
    item = every_type_item()
    item["greeting"] = {"S": "changed ✓"}
    item["big_number"] = {"N": "-98765432109876543210987654321098765432"}
    del item["nothing"]
    item["numbers"] = {"NS": [*item["numbers"]["NS"], "4"]}
    return item


def test_paused_consumer_buffers_changes_and_resume_drains_them_in_order(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str]
) -> None:
    target_table = unique_name("rtarget")
    create_table(target_table, SOURCE_KEY)
    outputs = deploy(
        {
            "name": unique_name("rpause"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "replication": replication_settings(consumer_enabled=False),
        }
    )
    queue_url = outputs["replication_queue_url"]
    mapping = outputs["consumer_event_source_mapping_uuid"]
    assert client("lambda").get_event_source_mapping(UUID=mapping)["State"] == "Disabled"

    # Many events per item: any reordering would leave an older image behind.
    writes = 0
    for index in range(5):
        put(source_table, {**key(f"item{index}", index), "n": {"N": "0"}})
        writes += 1
        for step in range(1, 10):
            update(source_table, key(f"item{index}", index), set_values={"n": {"N": str(step)}})
            writes += 1
    delete(source_table, key("item1", 1))
    delete(source_table, key("item2", 2))
    put(source_table, {**key("item2", 2), "n": {"N": "100"}, "reborn": {"BOOL": True}})
    writes += 3

    def buffered() -> str | None:
        depth = visible_messages(queue_url)
        return None if depth == writes else f"{depth} of {writes} messages in the queue"

    wait_until_settled(buffered, "every change buffered in the queue")
    assert scan_all(target_table) == [], "a paused consumer must not write to the target"

    result = cli("replication", "resume", "--terraform-dir", outputs["_terraform_dir"])
    assert "Enabled" in result.stdout, result.stdout

    expected = by_key(scan_all(source_table), "pk", "sk")
    assert {name: item["n"]["N"] for (name, _), item in expected.items()} == {
        "item0": "9",
        "item2": "100",
        "item3": "9",
        "item4": "9",
    }

    def drained() -> str | None:
        problem = differences(expected, by_key(scan_all(target_table), "pk", "sk"))
        if problem is None and queue_depth(queue_url):
            problem = f"{queue_depth(queue_url)} message(s) still in the queue"
        return problem

    wait_until_settled(drained, "the resumed consumer draining the queue")
    assert queue_depth(outputs["replication_dlq_url"]) == 0

    # Terraform stays authoritative over the mapping's Enabled flag: until replication.consumer_enabled is set
    # to true, the next apply would pause the consumer again, and the plan says so.
    plan = Stack(Path(outputs["_terraform_dir"]), {}).terraform("plan", "-no-color", "-detailed-exitcode", check=False)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "replication[0].aws_lambda_event_source_mapping.consumer will be updated in-place" in plan.stdout
    assert re.search(r"~ enabled\s+= true -> false", plan.stdout), plan.stdout


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (None, "DynamoDB Streams is not enabled on the source table"),
        ("NEW_IMAGE", "has view type NEW_IMAGE, but replication needs NEW_AND_OLD_IMAGES"),
    ],
)
def test_plan_refuses_a_source_without_a_new_and_old_images_stream(
    aws_endpoint: str | None, unique_name: Callable[[str], str], tmp_path: Path, stream: str | None, message: str
) -> None:
    source = unique_name("nostream")
    target = unique_name("rtarget")
    arguments = create_table_request(source, {"pk": "S"})
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    client("dynamodb").create_table(**arguments)
    client("dynamodb").get_waiter("table_exists").wait(TableName=source)
    create_table(target, {"pk": "S"})

    stack = Stack(
        tmp_path / "stack",
        {
            "name": unique_name("rplan"),
            "source_table_name": source,
            "target_table_name": target,
            "replication": replication_settings(),
        },
    )
    result = stack.plan()

    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert message in output, output
    assert "NEW_AND_OLD_IMAGES" in output
