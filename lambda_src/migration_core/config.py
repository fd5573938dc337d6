"""The three Lambdas' settings from their environment (through ``migration_core.environment``), and the botocore
client settings they imply."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from botocore.config import Config

from migration_core.budget import RateSetting
from migration_core.environment import Environment
from migration_core.errors import ConfigurationError, InvalidInput
from migration_core.models import MAX_PREWARM_UNITS, SOURCES
from migration_core.replication import Cutoff, validate_max_message_bytes
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
    default_total_segments: int
    write_concurrency: int
    max_write_attempts: int
    backoff_base_ms: int
    backoff_cap_ms: int
    time_safety_margin_seconds: float
    # Items per Scan page; None keeps DynamoDB's 1 MB pages. Smaller pages checkpoint more often.
    scan_page_limit: int | None
    # The deployment grants the Scan on the target that a cleanup needs only when it opted in.
    cleanup_allowed: bool
    # Pre-warm (Terraform's prewarm variable): whether the deployment has the capacity states and the worker's
    # UpdateTable / Application Auto Scaling permissions, and the defaults of a run's prewarm fields.
    prewarm_allowed: bool
    default_prewarm: bool
    default_prewarm_read_units: int
    default_prewarm_write_units: int
    default_warm_throughput_on_demand: bool
    # The capacity budget of a run that does not give its own ("500" units/s or "25%"; None: no budget), and
    # how many segments the Map runs at once: a starting segment's share of the budget until it counts them.
    default_max_read_rate: str | None
    default_max_write_rate: str | None
    max_concurrency: int
    # Backfill from a point-in-time export (Terraform's export variable): the bucket and prefix the exports go to
    # (bucket None: the deployment has no export, and a run with source export is refused), the bucket's owner
    # when it is another account, and the source of a run that does not name one.
    export_bucket: str | None = None
    export_prefix: str = ""
    export_bucket_owner: str = ""
    default_source: str = "scan"
    # A target in another account: reached through an assumed role, or by its ARN (its resource-based policy);
    # in another region: through clients of that region, by its ARN.
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
        if self.default_source not in SOURCES:
            raise ConfigurationError(f"DEFAULT_BACKFILL_SOURCE must be one of {', '.join(SOURCES)}")
        if self.default_source == "export" and self.export_bucket is None:
            raise ConfigurationError("DEFAULT_BACKFILL_SOURCE=export needs EXPORT_BUCKET")
        if self.export_bucket is not None and not self.export_prefix:
            raise ConfigurationError("EXPORT_BUCKET needs EXPORT_PREFIX")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        """Every setting is required: Terraform passes them all (``modules/backfill/worker.tf``), and its root
        variables are their only defaults."""
        env = Environment(environ)
        retry = RetrySettings.from_environment(env)
        # Blank when the deployment has no export.
        for name in ("EXPORT_BUCKET", "EXPORT_PREFIX", "EXPORT_BUCKET_OWNER"):
            env.required_present(name)
        return cls(
            source_table=env.required("SOURCE_TABLE"),
            target_table=env.required("TARGET_TABLE"),
            state_table=env.required("STATE_TABLE"),
            default_total_segments=env.integer("DEFAULT_TOTAL_SEGMENTS"),
            write_concurrency=env.integer("WRITE_CONCURRENCY"),
            max_write_attempts=retry.max_attempts,
            backoff_base_ms=retry.backoff_base_ms,
            backoff_cap_ms=retry.backoff_cap_ms,
            time_safety_margin_seconds=env.seconds("TIME_SAFETY_MARGIN_SECONDS"),
            # 0: DynamoDB's own 1 MB pages.
            scan_page_limit=env.integer("SCAN_PAGE_LIMIT", minimum=0) or None,
            cleanup_allowed=env.boolean("CLEANUP_ALLOWED"),
            prewarm_allowed=env.boolean("PREWARM_ALLOWED"),
            default_prewarm=env.boolean("DEFAULT_PREWARM"),
            default_warm_throughput_on_demand=env.boolean("DEFAULT_PREWARM_WARM_THROUGHPUT"),
            default_prewarm_read_units=env.integer("DEFAULT_PREWARM_RCU"),
            default_prewarm_write_units=env.integer("DEFAULT_PREWARM_WCU"),
            default_max_read_rate=_rate(env, "DEFAULT_MAX_READ_RATE"),
            default_max_write_rate=_rate(env, "DEFAULT_MAX_WRITE_RATE"),
            max_concurrency=env.integer("MAX_CONCURRENCY"),
            export_bucket=env.optional("EXPORT_BUCKET"),
            export_prefix=(env.optional("EXPORT_PREFIX") or "").strip("/"),
            export_bucket_owner=env.optional("EXPORT_BUCKET_OWNER") or "",
            default_source=env.required("DEFAULT_BACKFILL_SOURCE"),
            target_access=TargetAccess.from_environment(environ),
        )

    @property
    def target_in_other_account(self) -> bool:
        # A target in another region is named by its ARN too (a table of the same name may be the source), so an
        # ARN alone says "another account" only when the target is in this region. An ARN in another region,
        # reached without a role, may be in either account; pre-warm leaves it alone either way.
        return self.target_access.role_arn is not None or (
            self.target_table.startswith("arn:") and self.target_access.region is None
        )

    @property
    def target_in_other_region(self) -> bool:
        return self.target_access.region is not None

    def prewarm_left_alone(self) -> dict[str, str]:
        """The tables pre-warm cannot reach, with the reason: it changes capacity only in the worker's own account
        and region, where its UpdateTable and Application Auto Scaling permissions are."""
        if not self.target_in_other_region:
            return {}
        return {
            self.target_table: (
                f"target {self.target_table} is in {self.target_access.region}, another region: pre-warm raises only "
                "the capacity of tables in the worker's own region and left it alone; raise it there before the run "
                "(aws dynamodb update-table --region "
                f"{self.target_access.region} ...) if its capacity cannot take the run's writes"
            )
        }

    def retry_policy(
        self, *, sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None
    ) -> RetryPolicy:
        return RetrySettings(self.max_write_attempts, self.backoff_base_ms, self.backoff_cap_ms).policy(
            sleep=sleep, rng=rng
        )


def _rate(env: Environment, name: str) -> str | None:
    """Blank for no budget; the variable must be set, as every other."""
    env.required_present(name)
    try:
        setting = RateSetting.parse(env.optional(name), f"environment variable {name}")
    except InvalidInput as error:
        raise ConfigurationError(str(error)) from None
    return None if setting is None else str(setting)


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


@dataclass(frozen=True)
class RetrySettings:
    """MAX_WRITE_ATTEMPTS, BACKOFF_BASE_MS and BACKOFF_CAP_MS: the write retry budget of every Lambda."""

    max_attempts: int
    backoff_base_ms: int
    backoff_cap_ms: int

    @classmethod
    def from_environment(cls, env: Environment) -> RetrySettings:
        return cls(
            max_attempts=env.integer("MAX_WRITE_ATTEMPTS"),
            backoff_base_ms=env.integer("BACKOFF_BASE_MS"),
            backoff_cap_ms=env.integer("BACKOFF_CAP_MS"),
        )

    def policy(self, *, sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> RetryPolicy:
        if self.backoff_cap_ms < self.backoff_base_ms:
            raise ConfigurationError("BACKOFF_CAP_MS must not be smaller than BACKOFF_BASE_MS")
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_seconds=self.backoff_base_ms / 1000,
            cap_seconds=self.backoff_cap_ms / 1000,
            rng=rng or random.Random(),
            sleep=sleep,
        )


@dataclass(frozen=True)
class ForwarderSettings:
    """The stream forwarder's environment (``modules/replication/forwarder.tf``)."""

    queue_url: str
    max_message_bytes: int
    retry_policy: RetryPolicy
    time_safety_margin_ms: int
    target_table: str | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ForwarderSettings:
        env = Environment(environ)
        try:
            max_bytes = validate_max_message_bytes(env.integer("MAX_MESSAGE_BYTES"))
        except ConfigurationError:
            raise
        except ValueError as exc:
            raise ConfigurationError(f"environment variable MAX_MESSAGE_BYTES: {exc}") from exc
        return cls(
            queue_url=env.required("QUEUE_URL"),
            max_message_bytes=max_bytes,
            retry_policy=RetrySettings.from_environment(env).policy(),
            time_safety_margin_ms=round(env.seconds("TIME_SAFETY_MARGIN_SECONDS") * 1000),
            # Needed only for records too large even without their images (OldTargetKeyDeriver says so then).
            target_table=env.optional("TARGET_TABLE"),
        )


@dataclass(frozen=True)
class ConsumerSettings:
    """The replication consumer's environment (``modules/replication/consumer.tf``)."""

    target_table: str
    source_table: str
    cutoff: Cutoff | None
    retry_policy: RetryPolicy
    time_safety_margin_ms: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ConsumerSettings:
        env = Environment(environ)
        try:
            cutoff = Cutoff.parse(env.optional("CUTOFF_TIMESTAMP"))
        except ValueError as exc:
            raise ConfigurationError(f"environment variable CUTOFF_TIMESTAMP: {exc}") from exc
        return cls(
            target_table=env.required("TARGET_TABLE"),
            source_table=env.required("SOURCE_TABLE"),
            cutoff=cutoff,
            retry_policy=RetrySettings.from_environment(env).policy(),
            time_safety_margin_ms=round(env.seconds("TIME_SAFETY_MARGIN_SECONDS") * 1000),
        )
