"""What a Lambda handler gets and prints: a fake context object, and the metrics Powertools emitted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.typing import LambdaContext

from tests.support.tables import REGION


@dataclass
class FakeLambdaContext(LambdaContext):
    """The part of Lambda's context object the worker and Powertools use (a ``LambdaContext`` to type checkers).

    ``remaining_ms`` is reported as is, then lowered by ``ms_per_call`` on every call, which lets a test make
    the invocation run out of time after a known number of checks.
    """

    remaining_ms: int = 900_000
    ms_per_call: int = 0
    function_name: str = "ddb-migrate-worker"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:ddb-migrate-worker"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ddb-migrate-worker"
    log_stream_name: str = "2024/01/01/[$LATEST]0000"
    calls: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # a staticmethod in Powertools
        reported = self.remaining_ms
        self.calls.append(reported)
        self.remaining_ms -= self.ms_per_call
        return reported


def emitted_metrics(output: str, namespace: str | None = None) -> dict[str, float]:
    """Sum of every EMF metric Powertools printed to stdout (one JSON document per flush).

    With ``namespace``, every metric must have been published to it.
    """
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if namespace is not None:
                assert directive["Namespace"] == namespace
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                values = values if isinstance(values, list) else [values]
                totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(values)
    return totals
