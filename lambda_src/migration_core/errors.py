"""Every exception that crosses a boundary: raised out of a handler to Step Functions or Lambda, or caught by the CLI.

Step Functions sees a Python Lambda's exception class name as the state's ``Error``, so these names are part
of the contract (``docs/ARCHITECTURE.md``): retry and catch rules in the state machine match on them. The
modules that raise them re-export them under their old import paths.
"""

from __future__ import annotations

from collections.abc import Sequence

from migration_core.attribute_values import format_key
from migration_core.types import Item

SAMPLE_KEY_LIMIT = 5


class MigrationError(Exception):
    """Base class of every error the migration raises on purpose."""


class InvalidInput(MigrationError, ValueError):  # noqa: N818 - Step Functions matches this exact name
    """The execution input or an event is malformed or unsafe; nothing has been written."""


class RunInProgress(InvalidInput):
    """Another execution holds the deployment's run lock and is still RUNNING; nothing has been written."""


class ConfigurationError(MigrationError, ValueError):
    """The Lambda environment set by Terraform is missing a value or holds a wrong one."""


class TransformError(MigrationError, ValueError):
    """A transform spec is invalid, or a transform could not handle an item."""


class InvalidItemError(MigrationError, ValueError):
    """A transformed item cannot be written to the target table (key, type or size)."""


class IncompleteRun(MigrationError, RuntimeError):  # noqa: N818 - Step Functions matches this exact name
    """The orchestrator finished, but not every segment recorded that it completed."""


class WriteRetriesExhausted(MigrationError, RuntimeError):  # noqa: N818 - Step Functions matches this exact name
    """DynamoDB kept refusing writes after the whole retry budget; the items were not written."""

    def __init__(self, table: str, count: int, sample_keys: Sequence[Item]) -> None:
        self.table = table
        self.count = count
        self.sample_keys = list(sample_keys[:SAMPLE_KEY_LIMIT])
        samples = ", ".join(format_key(key) for key in self.sample_keys)
        super().__init__(
            f"{count} item(s) could not be written to table {table!r} after exhausting the retry budget "
            f"(throttling or service errors persisted); sample keys: {samples}"
        )


class CheckpointConflict(MigrationError, RuntimeError):  # noqa: N818 - Step Functions matches this exact name
    """A segment's checkpoint moved under an invocation: two invocations ran the same segment at once."""


class ExportFailed(MigrationError, RuntimeError):  # noqa: N818 - Step Functions matches this exact name
    """The point-in-time export failed, or its manifests or data files are not what DynamoDB writes."""


class CapacityError(MigrationError, RuntimeError):
    """The tables' capacity could not be captured or raised; the run fails and still goes through the reset."""


class ReadRetriesExhausted(MigrationError, RuntimeError):  # noqa: N818 - reads as what happened
    """BatchGetItem kept returning unprocessed keys (or retryable errors) for the whole retry budget."""


class ReplicationRetriesExhausted(MigrationError, RuntimeError):  # noqa: N818 - reads as what happened
    """A call kept failing with retryable errors for the whole retry budget."""


class ReplicationMessageError(ValueError):
    """A stream record or queue message that cannot be represented or understood."""


class RecordNotForwarded(Exception):  # noqa: N818 - reads as what happened to the record
    """Reported to Lambda as a batch item failure, so the shard is re-read from this record."""


class DeferredForTime(Exception):  # noqa: N818 - reads as what happened to the message
    """The Lambda is about to time out; the message goes back to the queue unapplied, its group stays in order."""


class WriteWithheld(Exception):  # noqa: N818 - reads as what happened to the message
    """A key move's delete was not sent because a later write of the same item in the batch failed: deleting the
    old key could have left the item at neither key. The message is retried, before the item's later events."""
