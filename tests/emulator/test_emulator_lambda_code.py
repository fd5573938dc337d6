"""GetFunction's Code.Location points at the emulator, which serves the zip like Lambda's presigned S3 URL."""

from __future__ import annotations

import datetime as dt
import io
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from ddbmigrate import aws as cli_aws
from ddbmigrate.deployed_transform import download_function_code, load_deployed_transform
from devtools.emulator import Emulator
from devtools.emulator.lambda_code import PATH_PREFIX, URL_LIFETIME_SECONDS, presigned_location
from tests.support.emulator import Aws, unique, zip_sources

EXAMPLE_TRANSFORM = Path(__file__).resolve().parents[1] / "terraform" / "fixtures" / "example_transform.py"


def download(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - the emulator's own http URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_code_location_is_a_presigned_url_on_the_emulator_that_serves_the_zip(aws: Aws, emulator: Emulator) -> None:
    function = aws.deploy(("basic_function.py",), "basic_function.handler")
    version = aws.lambda_.publish_version(FunctionName=function)["Version"]

    for qualifier in ("$LATEST", version):
        response = aws.lambda_.get_function(FunctionName=function, Qualifier=qualifier)
        location = response["Code"]["Location"]
        parts = urllib.parse.urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}" == emulator.endpoint
        assert parts.path.startswith(PATH_PREFIX)
        query = urllib.parse.parse_qs(parts.query)
        assert query["X-Amz-Expires"] == [str(URL_LIFETIME_SECONDS)]
        assert query["X-Amz-Signature"]
        assert response["Code"]["RepositoryType"] == "S3"

        status, body = download(location)
        assert status == 200
        assert body == zip_sources("basic_function.py")
        assert download(location, "HEAD")[0] == 200


def test_code_location_refuses_tampered_expired_and_replaced_urls(aws: Aws) -> None:
    name = unique("fn")
    aws.deploy(("basic_function.py",), "basic_function.handler", name=name)
    location = aws.lambda_.get_function(FunctionName=name)["Code"]["Location"]
    assert download(location)[0] == 200

    tampered = location.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert download(tampered)[0] == 404
    assert download(location.replace(name, unique("fn")))[0] == 404
    assert download(location.split("?")[0])[0] == 403

    code_sha256 = aws.lambda_.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    signed_long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=URL_LIFETIME_SECONDS + 60)
    base_url = location.split(PATH_PREFIX)[0]
    expired = presigned_location(base_url, "us-east-1", "123456789012", name, "$LATEST", code_sha256, signed_long_ago)
    status, body = download(expired)
    assert (status, b"<Code>AccessDenied</Code>" in body) == (403, True)

    aws.lambda_.update_function_code(FunctionName=name, ZipFile=zip_sources("basic_function.py", "sqs_recorder.py"))
    assert download(location)[0] == 404, "the old URL named code that is no longer deployed"
    new_location = aws.lambda_.get_function(FunctionName=name)["Code"]["Location"]
    assert download(new_location) == (200, zip_sources("basic_function.py", "sqs_recorder.py"))


def test_verify_rebuilds_a_custom_transform_from_the_emulator(
    aws: Aws, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``ddb-migrate verify`` does with a deployment whose worker has a custom transform module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(EXAMPLE_TRANSFORM, arcname="custom_transform.py")
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    name = unique("worker")
    aws.lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=aws.role_arn,
        Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": {"TRANSFORM_MODULE": "custom_transform"}},
    )
    for variable, value in emulator.client_environment().items():
        monkeypatch.setenv(variable, value)
    cli_aws.client.cache_clear()  # the CLI caches its clients, which read the endpoint when created
    try:
        assert download_function_code(name) == buffer.getvalue()
        deployed = load_deployed_transform(name, {"TRANSFORM_MODULE": "custom_transform"}, None)
    finally:
        cli_aws.client.cache_clear()

    assert deployed.custom_origin == f"module 'custom_transform' from the code of {name}"
    assert deployed.transformer.apply({"pk": {"S": "a"}}) == [{"pk": {"S": "a"}, "touched": {"BOOL": True}}]
