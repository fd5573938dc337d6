"""The state table's checkpoints: each page counted once, and two invocations of one segment caught."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from migration_core.errors import CheckpointConflict
from migration_core.models import SegmentCounts
from migration_core.state import StateStore
from tests.support.tables import STATE_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RUN = "run-1"
PAGE = SegmentCounts(scanned=25, written=25)


def written(store: StateStore) -> int:
    return sum(record.counts.written for record in store.segment_records(RUN))


@pytest.fixture
def store(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> StateStore:
    return StateStore(dynamodb, STATE_TABLE)


def test_a_checkpoint_sent_again_after_it_was_applied_counts_once(store: StateStore) -> None:
    checkpoint = store.begin_segment(RUN, "copy", 0)
    first = store.save_page(RUN, "copy", 0, PAGE, {"pk": {"S": "a"}}, previous=checkpoint.token)

    # The same update once more, as botocore sends it when an applied call was answered with a 500.
    assert store.save_page(RUN, "copy", 0, PAGE, {"pk": {"S": "a"}}, previous=checkpoint.token) == first
    store.save_page(RUN, "copy", 0, PAGE, None, previous=first)
    store.save_page(RUN, "copy", 0, PAGE, None, previous=first)

    assert written(store) == 50
    resumed = store.begin_segment(RUN, "copy", 0)
    assert resumed.done


def test_a_resumed_invocation_moves_the_checkpoint_it_read(store: StateStore) -> None:
    first = store.save_page(
        RUN, "copy", 0, PAGE, {"pk": {"S": "a"}}, previous=store.begin_segment(RUN, "copy", 0).token
    )

    resumed = store.begin_segment(RUN, "copy", 0)

    assert resumed.token == first
    assert resumed.last_evaluated_key == {"pk": {"S": "a"}}
    store.save_page(RUN, "copy", 0, PAGE, {"pk": {"S": "b"}}, previous=resumed.token)
    assert written(store) == 50


def test_two_invocations_of_one_segment_are_caught(store: StateStore) -> None:
    start = store.begin_segment(RUN, "copy", 0).token
    store.save_page(RUN, "copy", 0, PAGE, {"pk": {"S": "a"}}, previous=start)

    with pytest.raises(CheckpointConflict, match="another invocation is running the same segment"):
        store.save_page(RUN, "copy", 0, PAGE, {"pk": {"S": "z"}}, previous=start)

    assert written(store) == 25
