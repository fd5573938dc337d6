"""Tables and their items: create a table, put and read every item, compare two tables regardless of order.

Items are the low-level AttributeValue JSON of the DynamoDB API, as everywhere in this repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from devtools.tables import create_table_request, scan_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
STATE_TABLE = "migration-state"
SET_TYPES = ("SS", "NS", "BS")

Item = dict[str, dict[str, Any]]


def create_table(
    client: DynamoDBClient,
    name: str,
    key_schema: Mapping[str, str],
    *,
    units: tuple[int, int] | None = None,
    indexes: Mapping[str, Mapping[str, str]] | None = None,
    index_units: Mapping[str, tuple[int, int]] | None = None,
    projection: str = "KEYS_ONLY",
    stream: bool = False,
) -> dict[str, Any]:
    """Create a table with ``client``; returns its description. The arguments are those of
    ``devtools.tables.create_table_request``, which builds the request: ``key_schema`` maps each key attribute to
    its type, partition key first (``{"pk": "S", "sk": "N"}``); ``units`` (read, write) makes it provisioned."""
    arguments = create_table_request(
        name,
        key_schema,
        units=units,
        indexes=indexes,
        index_units=index_units,
        projection=projection,
        stream=stream,
    )
    return cast(dict[str, Any], client.create_table(**arguments)["TableDescription"])


def scan_all(client: DynamoDBClient, table: str, **arguments: Any) -> list[dict[str, Any]]:
    """Every item of a table, read with the low-level client exactly as DynamoDB returns it."""
    return scan_items(client, table, **arguments)


def put_items(client: DynamoDBClient, table: str, items: Iterable[Mapping[str, Any]]) -> None:
    for item in items:
        client.put_item(TableName=table, Item=cast(Any, dict(item)))


def numbered_items(count: int) -> list[Item]:
    return [
        {"pk": {"S": f"item#{index:05d}"}, "sk": {"N": str(index % 7)}, "payload": {"S": "x" * 50}}
        for index in range(count)
    ]


def enable_pitr(client: DynamoDBClient, table: str) -> None:
    """Point-in-time recovery, which the plan requires before an in-place run or a cleanup mutates a table."""
    client.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def normalize(value: Any) -> Any:
    """Make sets order-independent (DynamoDB returns set members in any order); everything else stays exact."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in SET_TYPES:
                return {kind: sorted(inner)}
        return {name: normalize(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [normalize(inner) for inner in value]
    return value


def key_of(item: Mapping[str, Any], *key: str) -> tuple[Any, ...]:
    """The values of an item's key attributes (``pk`` and ``sk`` unless named); None for one it lacks."""
    return tuple(next(iter(item[name].values())) if name in item else None for name in key or ("pk", "sk"))


def by_key(items: Iterable[Mapping[str, Any]], *key: str) -> dict[tuple[Any, ...], Any]:
    """Index items by their key (``pk`` and ``sk`` unless named) so that two scans compare regardless of order.

    Sets are normalized (their order means nothing in DynamoDB); a key seen twice fails the test.
    """
    indexed: dict[tuple[Any, ...], Any] = {}
    for item in items:
        identity = key_of(item, *key)
        assert identity not in indexed, f"duplicate key {identity}"
        indexed[identity] = normalize(item)
    return indexed


def differences(expected: Mapping[Any, Item], actual: Mapping[Any, Item]) -> str | None:
    """None when two ``by_key`` indexes are equal, else the first keys that are missing, unexpected or different."""
    if expected == actual:
        return None
    missing = sorted(str(key) for key in expected.keys() - actual.keys())
    extra = sorted(str(key) for key in actual.keys() - expected.keys())
    changed = sorted(str(key) for key in expected.keys() & actual.keys() if expected[key] != actual[key])
    return f"missing {missing[:5]}, unexpected {extra[:5]}, different {changed[:5]}"


CreateTable = Callable[..., str]
"""The ``create_table`` fixture: ``create_table("name", pk="S", sk="N")`` (partition key first)."""
