"""Test function that needs Powertools, which Lambda's runtime does not have: a layer or the zip must bring it."""

from __future__ import annotations

from typing import Any

import aws_lambda_powertools


def handler(event: dict[str, Any], context: Any) -> Any:
    return {"powertools": aws_lambda_powertools.__file__}
