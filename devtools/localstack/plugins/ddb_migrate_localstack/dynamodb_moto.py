# mypy: ignore-errors
# (checked by the project's mypy from .venv, where localstack is not installed)
"""DynamoDB and DynamoDB Streams for LocalStack, served by moto instead of DynamoDB Local.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, a Java jar it downloads at start (and whose
licence forbids redistribution). These providers implement no operation themselves: every operation falls
through ``MotoFallbackDispatcher`` to moto's ``dynamodb`` / ``dynamodbstreams`` backends, which live in the
LocalStack process (LocalStack depends on moto-ext). Streams share moto's in-process table state, so a
write through DynamoDB shows up in ``GetRecords``.

Selected with ``PROVIDER_OVERRIDE_DYNAMODB=moto`` and ``PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto``.
"""

from __future__ import annotations

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """Every operation raises NotImplementedError (the generated API's default) and so goes to moto."""


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """Every operation raises NotImplementedError (the generated API's default) and so goes to moto."""


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto() -> Service:
    return Service.for_provider(MotoDynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher)
