"""The JSON events the Lambdas receive, as Step Functions and the stream and queue mappings send them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """An event from ``tests/support/events/``: ``load_event("backfill/plan.json")``."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data
