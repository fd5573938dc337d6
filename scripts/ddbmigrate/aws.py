"""boto3 clients for the CLI. ``AWS_ENDPOINT_URL`` (LocalStack, the embedded emulator) is honoured by boto3 itself."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# An operator waiting on an unreachable endpoint should hear about it within seconds, not after botocore's
# default of minutes: a short connect timeout and three attempts (standard mode backs off at most ~6 s in all).
# Long-running loops (following a run) ride out transient errors themselves, see runner.follow.
CLI_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=60)

# Data-plane reads of a local verify: throttling on a busy table is expected there and worth more attempts;
# the connect timeout stays short, and a verify has already reached AWS through CLI_CONFIG before it scans.
DATA_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=3, read_timeout=60)


@cache
def client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session(region_name=region).client(service, config=CLI_CONFIG)  # type: ignore[call-overload]
