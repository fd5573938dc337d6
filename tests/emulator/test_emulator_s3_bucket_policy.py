"""S3 bucket policies on the emulator: conditions decide as on S3, with the context of a request over HTTPS.

moto alone treats every condition but StringEquals as met, so AWS's recommended TLS-only policy (deny when
``aws:SecureTransport`` is false) denied every request (devtools/emulator/s3_bucket_policy.py).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.emulator import Aws, unique
from tests.support.tables import REGION


def s3(aws: Aws) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=aws.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def deny(bucket: str, secure_transport: str | None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }
    if secure_transport is not None:
        statement["Condition"] = {"Bool": {"aws:SecureTransport": secure_transport}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("secure_transport", "denied"),
    [("false", False), ("true", True), (None, True)],
    ids=["tls-only-policy-allows", "deny-over-tls-denies", "unconditional-deny-denies"],
)
def test_a_bucket_policys_condition_decides_with_the_context_of_an_https_request(
    aws: Aws, secure_transport: str | None, denied: bool
) -> None:
    client = s3(aws)
    bucket = unique("bucket")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="k", Body=b"v")
    client.put_bucket_policy(Bucket=bucket, Policy=deny(bucket, secure_transport))

    if denied:
        with pytest.raises(ClientError) as refused:
            client.get_object(Bucket=bucket, Key="k")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    else:
        assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
