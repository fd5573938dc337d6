# mypy: ignore-errors
# (checked by the project's mypy from .venv, where localstack is not installed)
"""DynamoDB and DynamoDB Streams for LocalStack, served by moto instead of DynamoDB Local.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, a Java jar it downloads at start (and whose
licence forbids redistribution). These providers implement no operation themselves: every operation falls
through ``MotoFallbackDispatcher`` to moto's ``dynamodb`` / ``dynamodbstreams`` backends, which live in the
LocalStack process (LocalStack depends on moto-ext). Streams share moto's in-process table state, so a
write through DynamoDB shows up in ``GetRecords``.

Selected with ``PROVIDER_OVERRIDE_DYNAMODB=moto`` and ``PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto``.

Where moto-ext 5.1.24 answers unlike DynamoDB in a way the project meets, it is corrected here:
- GetRecords encodes binary values twice, and its INSERT and REMOVE records carry an empty image that DynamoDB
  leaves out (``MotoDynamoDBStreamsProvider.get_records``);
- any ProjectionExpression on an item with a binary set fails with an InternalError
  (``_binary_set_members_as_bytes``).
"""

from __future__ import annotations

import base64

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi, GetRecordsInput, GetRecordsOutput
from localstack.services.moto import MotoFallbackDispatcher, call_moto
from localstack.services.plugins import Service, aws_provider
from localstack.utils.patch import Patch
from moto.dynamodb.models.dynamo_type import DynamoType

IMAGES = ("Keys", "NewImage", "OldImage")


class MotoDynamoDBProvider(DynamodbApi):
    """Every operation raises NotImplementedError (the generated API's default) and so goes to moto."""


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """Every operation but GetRecords raises NotImplementedError (the generated API's default) and so goes to
    moto."""

    @handler("GetRecords", expand=False)
    def get_records(self, context: RequestContext, request: GetRecordsInput) -> GetRecordsOutput:
        """moto's records, with each top-level B and BS value of the keys and images decoded once more, and
        without the empty OldImage of an INSERT and NewImage of a REMOVE.

        moto keeps a binary value as the base64 text it received, and a stream record's images are that text
        (``Item.to_json``); moto-ext 5.1.24 then serializes GetRecords with its shape-driven serializer, which
        base64-encodes every blob again, so the SDK decodes ``{"B": b"AP8="}`` for the bytes 00 ff. Nested values
        (in M and L) are decoded before serializing (``DynamoType.to_regular_json``) and come out right. DynamoDB
        encodes once; so does moto 5.2.5, which the embedded emulator runs.

        moto writes both images into every record of a NEW_AND_OLD_IMAGES stream, ``{}`` for the one that does
        not exist; DynamoDB's INSERT has no OldImage and its REMOVE no NewImage.
        """
        response = call_moto(context)
        for record in response.get("Records", []):
            change = record.get("dynamodb", {})
            for image in ("OldImage", "NewImage"):
                if change.get(image) == {}:
                    del change[image]
            for image in IMAGES:
                for value in change.get(image, {}).values():
                    if "B" in value:
                        value["B"] = base64.b64decode(value["B"])
                    if "BS" in value:
                        value["BS"] = [base64.b64decode(member) for member in value["BS"]]
        return response


def _binary_set_members_as_bytes(to_regular_json, self):
    """A binary set's members as bytes, as ``to_regular_json`` already gives a binary value.

    moto keeps each member as the base64 text it received and projects an item (ProjectionExpression) by turning
    every attribute into Python values with boto3's TypeDeserializer, whose ``Binary`` refuses text: ``Value must
    be of the following types: bytearray, bytes``, a 500 for any projection of an item that holds a BS attribute,
    whichever attributes are projected. ``ddb-migrate verify`` projects the target's keys.
    """
    if self.type == "BS":
        return {"BS": [base64.b64decode(member) if isinstance(member, str) else member for member in self.value]}
    return to_regular_json(self)


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    Patch.function(DynamoType.to_regular_json, _binary_set_members_as_bytes).apply()
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto() -> Service:
    return Service.for_provider(MotoDynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher)
