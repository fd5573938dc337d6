"""Shared library of the ddb-migrate Lambdas and CLI: items, transforms, retries, batch writes, backfill.

It depends on the standard library and boto3/botocore only, except ``observability``, which only the handlers import
(Powertools), so the CLI and the benchmarks use it too. The errors a Step Functions state matches on are re-exported
here; every boundary error is in ``errors``.
"""

from migration_core.errors import (
    ConfigurationError,
    IncompleteRun,
    InvalidInput,
    InvalidItemError,
    MigrationError,
    RunInProgress,
    TransformError,
    WriteRetriesExhausted,
)

__all__ = [
    "ConfigurationError",
    "IncompleteRun",
    "InvalidInput",
    "InvalidItemError",
    "MigrationError",
    "RunInProgress",
    "TransformError",
    "WriteRetriesExhausted",
]
