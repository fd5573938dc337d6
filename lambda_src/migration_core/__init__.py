"""Shared library of the ddb-migrate Lambdas and CLI: items, transforms, retries, batch writes, backfill.

It depends on the standard library and boto3/botocore only (no Powertools), so the CLI and the benchmarks use
it too. The error types are re-exported here because their names are what Step Functions matches on.
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
