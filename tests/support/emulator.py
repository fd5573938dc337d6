"""The embedded emulator from a test's side: boto3 clients pointed at it, zips of the test functions in
``tests/support/functions``, unique names."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from tests.support.tables import REGION, create_table
from tests.support.waits import wait_until

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

FUNCTIONS = Path(__file__).resolve().parent / "functions"
ALLOW_EVERYTHING = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def zip_sources(*names: str) -> bytes:
    """A deployment zip with the named test functions (modules of ``tests/support/functions``) at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(FUNCTIONS / name, arcname=name)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


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
        """Create a Python function from test functions (or the given zip); returns its ARN."""
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
        key_schema = {"pk": "S", "sk": "N"} if range_key else {"pk": "S"}
        return create_table(self.dynamodb, name, key_schema, stream=stream).get("LatestStreamArn")

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

        wait_until(receive, f"{expected} message(s) in {url}", timeout=timeout)
        return seen
