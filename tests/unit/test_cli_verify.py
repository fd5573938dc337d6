"""``ddb-migrate verify`` against a deployment in moto: report, JSON, exit status, settle, extra items."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from ddbmigrate.deployed_transform import TransformUnavailableError, load_deployed_transform, load_module_from_zip
from ddbmigrate.verify import LocalVerify, VerifySettings
from migration_core.retry import RetryPolicy
from migration_core.state import StateStore
from migration_core.types import Item
from tests.support.deployment import SOURCE, STATE, TARGET, Deployed, deploy, put_items
from tests.support.items import FULL, every_type
from tests.support.tables import REGION

pytestmark = pytest.mark.usefixtures("aws")


def reordered(item: Item) -> Item:
    return {
        **item,
        "ss": {"SS": ["c", "a", "b"]},
        "ns": {"NS": ["-2.50", "1", FULL]},
        "bs": {"BS": [b"\xff", b"\x00"]},
        "l": {"L": [{"N": "1.5"}, {"M": {"k": {"SS": ["y", "x"]}}}]},
    }


def verify(deployed: Deployed, tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    report = tmp_path / "verify.json"
    result = deployed.invoke("verify", "--settle-seconds", "0", "--json", str(report), *args)
    return result.exit_code, result.output, json.loads(report.read_text(encoding="utf-8"))


def test_equal_tables_match_and_the_result_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch)
    items = [every_type(f"item#{index}") for index in range(25)]
    put_items(SOURCE, items)
    put_items(TARGET, [reordered(item) for item in items])

    exit_code, output, summary = verify(deployed, tmp_path)

    assert exit_code == 0, output
    assert "MATCH source → target" in output
    assert {key: summary[key] for key in ("source_items", "checked", "matching", "missing", "different", "extra")} == {
        "source_items": 25,
        "checked": 25,
        "matching": 25,
        "missing": 0,
        "different": 0,
        "extra": 0,
    }
    assert summary["clean"] is True
    assert summary["complete"] is True
    assert summary["extra_check"] == "lookup"
    assert summary["recorded"] is True
    record = StateStore(boto3.client("dynamodb", region_name=REGION), STATE).last_verify()
    assert record is not None
    assert record.clean
    assert record.summary["matching"] == 25


def test_missing_extra_changed_retyped_and_truncated_items_are_each_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch)
    items = [every_type(f"item#{index}") for index in range(10)]
    put_items(SOURCE, items)
    target = {item["pk"]["S"]: dict(item) for item in items}
    del target["item#1"]
    target["item#2"]["s"] = {"S": "changed"}
    target["item#3"]["n"] = {"S": "-0.12345678901234567890123456789012345678"}
    target["item#4"]["n"] = {"N": "-0.1234567890123456789"}
    target["orphan"] = {"pk": {"S": "orphan"}, "sk": {"N": "1"}}
    put_items(TARGET, list(target.values()))

    exit_code, output, summary = verify(deployed, tmp_path, "--show", "10")

    assert exit_code == 1
    assert (summary["missing"], summary["different"], summary["extra"], summary["matching"]) == (1, 3, 1, 6)
    assert summary["clean"] is False
    by_key = {entry["key"]["pk"]["S"]: entry for entry in summary["sample"]}
    assert by_key["item#1"]["kind"] == "missing"
    assert by_key["orphan"]["kind"] == "extra"
    assert [d["text"] for d in by_key["item#2"]["differences"]] == ['s: {"S":"héllo ✓"} → {"S":"changed"}']
    assert by_key["item#3"]["differences"][0]["kind"] == "type"
    assert by_key["item#4"]["differences"][0]["text"] == (
        'n: {"N":"-0.12345678901234567890123456789012345678"} → {"N":"-0.1234567890123456789"}'
    )
    assert "DIFFERENT source → target" in output
    assert 'missing {"pk":{"S":"item#1"},"sk":{"N":"' + FULL + '"}}' in output
    assert 'n: type N → S: {"N":"-0.12345678901234567890123456789012345678"}' in output


def test_show_limits_the_printed_keys_but_not_the_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch)
    put_items(SOURCE, [{"pk": {"S": f"k{i}"}, "sk": {"N": "1"}} for i in range(5)])

    exit_code, output, summary = verify(deployed, tmp_path, "--show", "2")

    assert exit_code == 1
    assert summary["missing"] == 5
    assert output.count("\nmissing ") == 2
    assert "3 more differing key(s) not shown" in output


def test_a_sample_says_so_and_is_not_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch)
    items = [{"pk": {"S": f"k{i}"}, "sk": {"N": "1"}} for i in range(50)]
    put_items(SOURCE, items)
    put_items(TARGET, items)

    exit_code, output, summary = verify(deployed, tmp_path, "--sample", "0.25", "--segments", "4")

    assert exit_code == 0
    assert summary["sampled"] is True
    assert summary["complete"] is False
    assert summary["source_items"] < 50
    assert "sampled: about 25.0% of the source, not a full verification" in output
    assert "a sampled verify is not recorded" in output
    assert StateStore(boto3.client("dynamodb", region_name=REGION), STATE).last_verify() is None


def test_key_changing_transforms_find_extra_items_through_the_key_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [{"op": "derive", "attribute": "id", "template": "{tenant}#{pk}"}]
    deployed = deploy(tmp_path, monkeypatch, source_keys={"pk": "S"}, target_keys={"id": "S"}, transform_steps=steps)
    put_items(SOURCE, [{"pk": {"S": "a"}, "tenant": {"S": "t1"}}, {"pk": {"S": "b"}, "tenant": {"S": "t2"}}])
    put_items(
        TARGET,
        [
            {"id": {"S": "t1#a"}, "pk": {"S": "a"}, "tenant": {"S": "t1"}},
            {"id": {"S": "t2#b"}, "pk": {"S": "b"}, "tenant": {"S": "t2"}},
            {"id": {"S": "t9#gone"}, "pk": {"S": "gone"}},
        ],
    )

    exit_code, _, summary = verify(deployed, tmp_path)

    assert exit_code == 1
    assert summary["extra_check"] == "key-set"
    assert (summary["matching"], summary["extra"]) == (2, 1)
    assert summary["sample"][0]["key"] == {"id": {"S": "t9#gone"}}


def test_the_key_set_check_stops_at_its_memory_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = [{"op": "derive", "attribute": "id", "template": "x#{pk}"}]
    deployed = deploy(tmp_path, monkeypatch, source_keys={"pk": "S"}, target_keys={"id": "S"}, transform_steps=steps)
    put_items(TARGET, [{"id": {"S": f"x#{i}"}, "pk": {"S": str(i)}} for i in range(5)])
    put_items(SOURCE, [{"pk": {"S": str(i)}} for i in range(5)])

    exit_code, _, summary = verify(deployed, tmp_path, "--max-key-set", "3")

    assert exit_code == 0
    assert summary["extra_checked"] is False
    assert summary["complete"] is False
    assert "more than --max-key-set 3 keys" in summary["extra_note"]


def test_a_custom_transform_file_is_used_and_lookup_notices_changed_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch, transform_module="custom_transform")
    module = tmp_path / "my_transform.py"
    module.write_text(
        "def transform(item):\n    item['sk'] = {'N': '2'}\n    item['flag'] = {'BOOL': True}\n    return item\n",
        encoding="utf-8",
    )
    put_items(SOURCE, [{"pk": {"S": "a"}, "sk": {"N": "1"}}])
    put_items(TARGET, [{"pk": {"S": "a"}, "sk": {"N": "2"}, "flag": {"BOOL": True}}])

    exit_code, output, summary = verify(deployed, tmp_path, "--transform-file", str(module), "--extra-check", "lookup")

    assert exit_code == 0, output
    assert summary["matching"] == 1
    assert summary["extra_checked"] is False
    assert "looking target keys up in the source needs unchanged keys" in summary["extra_note"]


def test_a_bad_transform_file_cannot_verify_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, transform_module="custom_transform")
    module = tmp_path / "broken.py"
    module.write_text("raise RuntimeError('boom')\n", encoding="utf-8")

    result = deployed.invoke("verify", "--transform-file", str(module))

    assert result.exit_code == 2
    assert "importing the transform module" in result.output
    assert "boom" in result.output


def test_a_transform_file_for_a_deployment_without_custom_module_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = deploy(tmp_path, monkeypatch)
    module = tmp_path / "other.py"
    module.write_text("def transform(item):\n    return item\n", encoding="utf-8")

    result = deployed.invoke("verify", "--transform-file", str(module))

    assert result.exit_code == 2
    assert "has no TRANSFORM_MODULE" in result.output


def test_differences_that_replication_fixes_during_the_settle_delay_are_not_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(tmp_path, monkeypatch)
    put_items(SOURCE, [{"pk": {"S": f"k{i}"}, "sk": {"N": "1"}, "v": {"N": "2"}} for i in range(4)])
    put_items(TARGET, [{"pk": {"S": f"k{i}"}, "sk": {"N": "1"}, "v": {"N": "2"}} for i in range(2)])
    put_items(TARGET, [{"pk": {"S": "k2"}, "sk": {"N": "1"}, "v": {"N": "1"}}])
    sleeps: list[float] = []

    def replication_applies_k2(seconds: float) -> None:
        sleeps.append(seconds)
        put_items(TARGET, [{"pk": {"S": "k2"}, "sk": {"N": "1"}, "v": {"N": "2"}}])

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    summary = LocalVerify(
        source_table=SOURCE,
        target_table=TARGET,
        transform=load_deployed_transform("worker", {}, None),
        settings=VerifySettings(segments=2, settle_seconds=5),
        console=Console(file=io.StringIO()),
        dynamodb=dynamodb,
        retry_policy=RetryPolicy(sleep=lambda seconds: None),
        sleep=replication_applies_k2,
        rng=random.Random(0),
    ).run()

    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 5
    assert (summary["matching"], summary["missing"], summary["different"]) == (3, 1, 0)
    assert summary["resolved_by_settle"] == 1
    assert [entry["key"]["pk"]["S"] for entry in summary["sample"]] == ["k3"]


def test_the_custom_module_is_loaded_from_the_worker_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("custom_transform.py", "def transform(item):\n    return [item, item]\n")
    transform = load_module_from_zip(buffer.getvalue(), "custom_transform")

    assert transform({"pk": {"S": "a"}}) == [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]
    with pytest.raises(TransformUnavailableError, match=r"no other_module\.py .*--transform-file"):
        load_module_from_zip(buffer.getvalue(), "other_module")
    with pytest.raises(TransformUnavailableError, match="not a zip archive"):
        load_module_from_zip(b"not a zip", "custom_transform")
