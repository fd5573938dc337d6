"""The emulator's DynamoDB across accounts: a table ARN of another account is reachable only through its policy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator
from devtools.emulator.cross_account import policy_allows_account
from tests.support.emulator import Aws, unique
from tests.support.tables import REGION, create_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CALLER_ACCOUNT = "123456789012"
TABLE_ACCOUNT = "222233334444"


@pytest.fixture(scope="module")
def here(emulator: Emulator) -> DynamoDBClient:
    return Aws(emulator.endpoint).dynamodb


@pytest.fixture(scope="module")
def there(emulator: Emulator) -> DynamoDBClient:
    """A client of the other account: moto maps an assumed role's credentials to the role's account."""
    sts = boto3.client(
        "sts",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{TABLE_ACCOUNT}:role/admin", RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.client(
        "dynamodb",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _table(client: DynamoDBClient) -> str:
    name = unique("target")
    create_table(client, name, {"pk": "S"})
    return str(client.describe_table(TableName=name)["Table"]["TableArn"])


def _policy(arn: str, principal: Any) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "dynamodb:*", "Resource": arn}
            ],
        }
    )


def test_another_accounts_table_is_refused_without_a_policy(here: DynamoDBClient, there: DynamoDBClient) -> None:
    arn = _table(there)
    assert arn.split(":")[4] == TABLE_ACCOUNT

    with pytest.raises(ClientError) as refused:
        here.put_item(TableName=arn, Item={"pk": {"S": "a"}})

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert there.scan(TableName=arn)["Count"] == 0


def test_the_tables_policy_lets_the_caller_in_and_the_items_land_in_the_other_account(
    here: DynamoDBClient, there: DynamoDBClient
) -> None:
    arn = _table(there)
    there.put_resource_policy(ResourceArn=arn, Policy=_policy(arn, f"arn:aws:iam::{CALLER_ACCOUNT}:role/worker"))

    here.batch_write_item(RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "a"}, "n": {"N": "1" * 38}}}}]})
    here.put_item(TableName=arn, Item={"pk": {"S": "b"}})
    here.delete_item(TableName=arn, Key={"pk": {"S": "b"}})

    assert there.scan(TableName=arn)["Items"] == [{"pk": {"S": "a"}, "n": {"N": "1" * 38}}]
    assert here.describe_table(TableName=arn)["Table"]["TableArn"] == arn
    name = arn.rsplit("/", 1)[1]
    assert name not in here.list_tables()["TableNames"], "the caller's own account has no such table"


def test_a_policy_for_a_third_account_does_not_let_the_caller_in(here: DynamoDBClient, there: DynamoDBClient) -> None:
    arn = _table(there)
    there.put_resource_policy(ResourceArn=arn, Policy=_policy(arn, "arn:aws:iam::999999999999:role/worker"))

    with pytest.raises(ClientError) as refused:
        here.batch_write_item(RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]})

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        ("*", True),
        (CALLER_ACCOUNT, True),
        (f"arn:aws:iam::{CALLER_ACCOUNT}:root", True),
        (["arn:aws:iam::999999999999:role/x", f"arn:aws:iam::{CALLER_ACCOUNT}:role/y"], True),
        ("arn:aws:iam::999999999999:role/x", False),
    ],
)
def test_principals_are_matched_by_account(principal: Any, allowed: bool) -> None:
    assert policy_allows_account(_policy("arn", principal), CALLER_ACCOUNT) is allowed


def test_deny_statements_allow_nothing() -> None:
    document = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]})
    assert policy_allows_account(document, CALLER_ACCOUNT) is False
