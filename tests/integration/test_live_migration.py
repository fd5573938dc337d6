"""The demo's scenario at a smaller size: backfill racing live writes, then drain, must converge exactly.

Replication starts with the consumer paused, the backfill runs while an application inserts, updates and deletes
(hot keys many times over, deleted keys re-created), then the consumer drains the queue. The target must then
equal transform(source) item by item: no stale overwrite, no resurrected delete, no lost change.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from devtools.demo import Demo
from devtools.tables import scan_all
from tests.support.tables import Item, by_key, normalize


def expected_target(item: Item) -> Item:
    """The demo's key-changing transform, written out by hand rather than through our transform code."""
    result = dict(item)
    result["target_pk"] = {"S": f"{item['tenant']['S']}/{item['id']['N']}/{item['sk']['N']}"}
    if "amount" in result:
        result["total"] = result.pop("amount")
    result.pop("nothing", None)
    result["migrated"] = {"BOOL": True}
    return result


def test_backfill_racing_live_writes_converges_to_transform_of_source(aws_endpoint: str | None, tmp_path: Path) -> None:
    demo = Demo(
        items=3_000,
        segments=4,
        workload_rate=30,
        workdir=tmp_path,
        console=Console(width=160),
        use_emulator=False,  # the session's emulator (or the user's endpoint) is already in place
    )

    report = demo.run()

    assert report.workload.errors == []
    assert report.workload.inserts > 0
    assert report.workload.updates > 0
    assert report.workload.deletes > 0
    assert report.dead_letters == 0
    source = scan_all(demo.source_table)
    expected = {(item["target_pk"]["S"],): normalize(item) for item in map(expected_target, source)}
    assert by_key(scan_all(demo.target_table), "target_pk") == expected
    assert report.verified, report.verify
