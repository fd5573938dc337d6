"""boto3 clients for the CLI. ``AWS_ENDPOINT_URL`` (LocalStack, the embedded emulator) is honoured by boto3 itself."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

CLI_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session(region_name=region).client(service, config=CLI_CONFIG)  # type: ignore[call-overload]
