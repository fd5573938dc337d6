"""The one parser of the Lambdas' environment (worker, forwarder, consumer).

Terraform sets every setting explicitly (``modules/backfill/worker.tf``, ``modules/replication/*.tf``), so the
Python side keeps no copies of their defaults: a missing required variable, or a malformed one, is a
``ConfigurationError`` naming the variable, raised when the Lambda builds its configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

from migration_core.errors import ConfigurationError


class Environment:
    """Typed, validated reads of one environment mapping (``os.environ`` in the Lambdas)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str) -> str | None:
        """The stripped value, or None when the variable is unset or blank."""
        return self._environ.get(name, "").strip() or None

    def required_present(self, name: str) -> None:
        """Raise unless the variable is set, blank allowed (a blank value means "none" for some settings)."""
        if name not in self._environ:
            raise ConfigurationError(f"environment variable {name} is required (blank for none)")

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise ConfigurationError(f"environment variable {name} is required")
        return value

    def integer(self, name: str, *, minimum: int = 1) -> int:
        return self._integer(name, self.required(name), minimum)

    def optional_integer(self, name: str, *, minimum: int = 1) -> int | None:
        raw = self.optional(name)
        return None if raw is None else self._integer(name, raw, minimum)

    def seconds(self, name: str) -> float:
        raw = self.required(name)
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"environment variable {name} must be a number of seconds, got {raw!r}") from None
        if not value >= 0:
            raise ConfigurationError(f"environment variable {name} must be >= 0, got {raw!r}")
        return value

    def boolean(self, name: str) -> bool:
        return self._boolean(name, self.required(name))

    def optional_boolean(self, name: str) -> bool | None:
        raw = self.optional(name)
        return None if raw is None else self._boolean(name, raw)

    @staticmethod
    def _integer(name: str, raw: str, minimum: int) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ConfigurationError(f"environment variable {name} must be >= {minimum}, got {value}")
        return value

    @staticmethod
    def _boolean(name: str, raw: str) -> bool:
        lowered = raw.lower()
        if lowered not in {"true", "false"}:
            raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")
        return lowered == "true"
