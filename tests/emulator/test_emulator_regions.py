"""The emulator serves several regions as AWS does: a table of the same name in two regions is two tables, ARNs
and streams carry their region, and a stream record says which region wrote it. A target in another region
(Terraform's target_region) is tested on this."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from devtools.emulator import Emulator
from tests.support.emulator import unique
from tests.support.tables import REGION

OTHER_REGION = "eu-west-1"


def client(emulator: Emulator, service: str, region: str) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=emulator.endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def table(emulator: Emulator) -> str:
    """One name, a table in each region, each with a stream and one item that names its region."""
    name = unique("regional")
    for region in (REGION, OTHER_REGION):
        dynamodb = client(emulator, "dynamodb", region)
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        dynamodb.put_item(TableName=name, Item={"pk": {"S": region}})
    return name


def test_a_name_in_two_regions_is_two_tables(emulator: Emulator, table: str) -> None:
    for region in (REGION, OTHER_REGION):
        items = client(emulator, "dynamodb", region).scan(TableName=table)["Items"]
        assert items == [{"pk": {"S": region}}]


def test_table_and_stream_arns_carry_the_region(emulator: Emulator, table: str) -> None:
    for region in (REGION, OTHER_REGION):
        described = client(emulator, "dynamodb", region).describe_table(TableName=table)["Table"]
        assert described["TableArn"] == f"arn:aws:dynamodb:{region}:123456789012:table/{table}"
        assert described["LatestStreamArn"].startswith(f"arn:aws:dynamodb:{region}:123456789012:table/{table}/stream/")
        listed = client(emulator, "dynamodbstreams", region).list_streams(TableName=table)["Streams"]
        assert [stream["StreamArn"] for stream in listed] == [described["LatestStreamArn"]]


def test_stream_records_name_the_region_that_wrote_them(emulator: Emulator, table: str) -> None:
    for region in (REGION, OTHER_REGION):
        stream_arn = client(emulator, "dynamodb", region).describe_table(TableName=table)["Table"]["LatestStreamArn"]
        streams = client(emulator, "dynamodbstreams", region)
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        assert [(record["awsRegion"], record["dynamodb"]["Keys"]) for record in records] == [
            (region, {"pk": {"S": region}})
        ]


def test_a_table_is_reached_by_its_arn_from_its_own_region(emulator: Emulator, table: str) -> None:
    arn = f"arn:aws:dynamodb:{OTHER_REGION}:123456789012:table/{table}"
    item = client(emulator, "dynamodb", OTHER_REGION).get_item(TableName=arn, Key={"pk": {"S": OTHER_REGION}})
    assert item["Item"] == {"pk": {"S": OTHER_REGION}}
