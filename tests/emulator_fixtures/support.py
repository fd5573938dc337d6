"""Helpers shared by the emulator tests: zips of the fixture functions, clients, polling."""

from __future__ import annotations

import io
import json
import secrets
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

FIXTURES = Path(__file__).resolve().parent
REGION = "us-east-1"
T = TypeVar("T")
ALLOW_EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def zip_sources(*names: str) -> bytes:
    """A deployment zip with the named fixture modules at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(FIXTURES / name, arcname=name)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def wait_until(check: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Aws:
    """boto3 clients pointed at one emulator."""

    def __init__(self, endpoint: str) -> None:
        options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": REGION,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.endpoint = endpoint
        self.lambda_: LambdaClient = boto3.client("lambda", **options)
        self.dynamodb: DynamoDBClient = boto3.client("dynamodb", **options)
        self.sqs: SQSClient = boto3.client("sqs", **options)
        self.sfn: SFNClient = boto3.client("stepfunctions", **options)
        self.iam: Any = boto3.client("iam", **options)
        self.logs: Any = boto3.client("logs", **options)
        self._role: str | None = None

    @property
    def role_arn(self) -> str:
        """An execution role that may do anything: these tests are about the emulator, not permissions."""
        if self._role is None:
            name = unique("role")
            self._role = str(self.iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"])
            self.iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=ALLOW_EVERYTHING)
        return self._role

    def deploy(
        self,
        sources: tuple[str, ...],
        handler: str,
        environment: Mapping[str, str] | None = None,
        timeout: int = 10,
        name: str | None = None,
        layers: tuple[str, ...] = (),
        code: bytes | None = None,
    ) -> str:
        """Create a Python function from fixture modules (or the given zip); returns its ARN."""
        response = self.lambda_.create_function(
            FunctionName=name or unique("fn"),
            Runtime="python3.12",
            Role=self.role_arn,
            Handler=handler,
            Code={"ZipFile": zip_sources(*sources) if code is None else code},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": dict(environment or {})},
            Layers=list(layers),
        )
        return response["FunctionArn"]

    def invoke(self, function: str, payload: Any, **kwargs: Any) -> tuple[str | None, Any]:
        """(FunctionError or None, decoded payload)."""
        response = self.lambda_.invoke(FunctionName=function, Payload=json.dumps(payload), **kwargs)
        body = response["Payload"].read()
        return response.get("FunctionError"), json.loads(body) if body else None

    def create_table(self, name: str, *, stream: bool = False, range_key: bool = False) -> str | None:
        """Create a pk(S)[/sk(N)] on-demand table; returns its stream ARN when ``stream``."""
        schema: list[Any] = [{"AttributeName": "pk", "KeyType": "HASH"}]
        attributes: list[Any] = [{"AttributeName": "pk", "AttributeType": "S"}]
        if range_key:
            schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
            attributes.append({"AttributeName": "sk", "AttributeType": "N"})
        extra: dict[str, Any] = {}
        if stream:
            extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        response = self.dynamodb.create_table(
            TableName=name,
            KeySchema=schema,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        return response["TableDescription"].get("LatestStreamArn")

    def query_all(self, table: str, pk: str) -> list[dict[str, Any]]:
        """Items of one partition in sort key order (the recorder functions use time_ns as sort key)."""
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        ):
            items.extend(page["Items"])
        return items

    def create_queue(self, name: str, **attributes: str) -> tuple[str, str]:
        """(url, arn)."""
        queue_attributes: Any = attributes
        url = self.sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def drain_queue(self, url: str, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Receive (and delete) until ``expected`` messages were seen."""
        seen: list[dict[str, Any]] = []

        def receive() -> bool:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            )
            for message in response.get("Messages", []):
                seen.append(dict(message))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(seen) >= expected

        wait_until(receive, timeout, f"{expected} message(s) in {url}")
        return seen
