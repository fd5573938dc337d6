"""Worker settings from the Lambda environment, and the botocore client settings they imply."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.config import Config

from migration_core.errors import ConfigurationError
from migration_core.retry import RetryPolicy

# Reads (Scan, DescribeTable, state records) are idempotent, so botocore may retry them on its own.
READ_MAX_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5
# A BatchWriteItem answers in milliseconds; a stuck connection should surface as a retryable error long
# before it eats the invocation's time.
READ_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class WorkerConfig:
    source_table: str
    target_table: str
    state_table: str
    default_total_segments: int = 16
    write_concurrency: int = 8
    max_write_attempts: int = 10
    backoff_base_ms: int = 50
    backoff_cap_ms: int = 20_000
    time_safety_margin_seconds: float = 60.0
    # Items per Scan page; None keeps DynamoDB's 1 MB pages. Smaller pages checkpoint more often.
    scan_page_limit: int | None = None
    # The deployment grants the Scan on the target that a cleanup needs only when it opted in.
    cleanup_allowed: bool = True

    def __post_init__(self) -> None:
        if self.backoff_cap_ms < self.backoff_base_ms:
            raise ConfigurationError("BACKOFF_CAP_MS must not be smaller than BACKOFF_BASE_MS")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        defaults = cls("", "", "")
        return cls(
            source_table=_required(environ, "SOURCE_TABLE"),
            target_table=_required(environ, "TARGET_TABLE"),
            state_table=_required(environ, "STATE_TABLE"),
            default_total_segments=_integer(environ, "DEFAULT_TOTAL_SEGMENTS", defaults.default_total_segments),
            write_concurrency=_integer(environ, "WRITE_CONCURRENCY", defaults.write_concurrency),
            max_write_attempts=_integer(environ, "MAX_WRITE_ATTEMPTS", defaults.max_write_attempts),
            backoff_base_ms=_integer(environ, "BACKOFF_BASE_MS", defaults.backoff_base_ms),
            backoff_cap_ms=_integer(environ, "BACKOFF_CAP_MS", defaults.backoff_cap_ms),
            time_safety_margin_seconds=_seconds(
                environ, "TIME_SAFETY_MARGIN_SECONDS", defaults.time_safety_margin_seconds
            ),
            scan_page_limit=_integer(environ, "SCAN_PAGE_LIMIT", 0, minimum=0) or None,
            cleanup_allowed=environ.get("CLEANUP_ALLOWED", "false").strip().lower() == "true",
        )

    def retry_policy(
        self, *, sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None
    ) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_write_attempts,
            base_seconds=self.backoff_base_ms / 1000,
            cap_seconds=self.backoff_cap_ms / 1000,
            rng=rng or random.Random(),
            sleep=sleep,
        )


def read_client_config() -> Config:
    return Config(
        retries={"max_attempts": READ_MAX_ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


def write_client_config(write_concurrency: int) -> Config:
    """Client for BatchWriteItem: botocore retries off (our RetryPolicy is the one budget), and enough
    pooled connections for every write thread.

    botocore's client-side parameter validation is off too: it walks every AttributeValue of every item
    again, which cost more CPU than serializing them (the benchmark's case c), while every item written
    has already passed ``validate_target_item`` (or comes straight from a Scan) and DynamoDB validates
    each request anyway."""
    return Config(
        retries={"max_attempts": 1, "mode": "standard"},
        parameter_validation=False,
        max_pool_connections=max(10, write_concurrency),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required")
    return value


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"environment variable {name} must be >= {minimum}, got {value}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be a number of seconds, got {raw!r}") from None
    if not value >= 0:
        raise ConfigurationError(f"environment variable {name} must be >= 0, got {raw!r}")
    return value
