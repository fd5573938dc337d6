"""Fake credentials, so that no test can reach a real account or an endpoint set in the developer's shell; and
the errors botocore raises, made by hand."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.tables import REGION


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure no test can reach a real account or an endpoint configured in the developer's shell.

    A fixture for the conftest files to import (autouse there): ``from tests.support.aws import aws_credentials``.
    """
    use_fake_credentials(monkeypatch)


def client_error(code: str, status: int = 400, *, operation: str = "BatchWriteItem") -> ClientError:
    """The ``ClientError`` an AWS service answers with ``code`` and HTTP ``status`` to ``operation``."""
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)
