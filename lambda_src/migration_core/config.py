"""Worker settings from the Lambda environment, and the botocore client settings they imply."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.config import Config

from migration_core.errors import ConfigurationError
from migration_core.models import MAX_PREWARM_UNITS
from migration_core.retry import RetryPolicy
from migration_core.target_access import TargetAccess

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
    # Pre-warm (Terraform's prewarm variable): whether the deployment has the capacity states and the worker's
    # UpdateTable / Application Auto Scaling permissions, and the defaults of a run's prewarm fields.
    prewarm_allowed: bool = False
    default_prewarm: bool = False
    default_prewarm_read_units: int = 12_000
    default_prewarm_write_units: int = 4_000
    default_warm_throughput_on_demand: bool = False
    # A target in another account: reached through an assumed role, or by its ARN (its resource-based policy).
    target_access: TargetAccess = field(default_factory=TargetAccess)

    def __post_init__(self) -> None:
        if self.backoff_cap_ms < self.backoff_base_ms:
            raise ConfigurationError("BACKOFF_CAP_MS must not be smaller than BACKOFF_BASE_MS")
        if self.default_prewarm and not self.prewarm_allowed:
            raise ConfigurationError("DEFAULT_PREWARM=true needs PREWARM_ALLOWED=true")
        if self.prewarm_allowed and self.target_in_other_account:
            raise ConfigurationError(
                "PREWARM_ALLOWED=true needs the target in this account: pre-warm changes capacity and Application "
                "Auto Scaling settings, which it cannot do across accounts (raise the target's capacity there)"
            )
        for name, units in (
            ("DEFAULT_PREWARM_RCU", self.default_prewarm_read_units),
            ("DEFAULT_PREWARM_WCU", self.default_prewarm_write_units),
        ):
            if not 1 <= units <= MAX_PREWARM_UNITS:
                raise ConfigurationError(f"{name} must be from 1 to {MAX_PREWARM_UNITS}, got {units}")

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
            prewarm_allowed=_boolean(environ, "PREWARM_ALLOWED", defaults.prewarm_allowed),
            default_prewarm=_boolean(environ, "DEFAULT_PREWARM", defaults.default_prewarm),
            default_prewarm_read_units=_integer(environ, "DEFAULT_PREWARM_RCU", defaults.default_prewarm_read_units),
            default_prewarm_write_units=_integer(environ, "DEFAULT_PREWARM_WCU", defaults.default_prewarm_write_units),
            default_warm_throughput_on_demand=_boolean(
                environ, "DEFAULT_PREWARM_WARM_THROUGHPUT", defaults.default_warm_throughput_on_demand
            ),
            target_access=TargetAccess.from_environment(environ),
        )

    @property
    def target_in_other_account(self) -> bool:
        return self.target_access.role_arn is not None or self.target_table.startswith("arn:")

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
        # total_max_attempts counts the first call; botocore's "max_attempts" counts retries only.
        retries={"total_max_attempts": READ_MAX_ATTEMPTS, "mode": "standard"},
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
        # One call and no botocore retry: its "max_attempts" counts retries, so {"max_attempts": 1} still
        # retried a throttled batch once, after a backoff of up to a second, before our policy saw it.
        retries={"total_max_attempts": 1, "mode": "standard"},
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


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in {"true", "false"}:
        raise ConfigurationError(f"environment variable {name} must be true or false, got {environ[name]!r}")
    return raw == "true"


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
