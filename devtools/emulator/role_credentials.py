"""Temporary credentials of an IAM role session, as the emulator hands them to functions and pollers.

Kept free of moto so that the executor and the pollers can take credentials without importing it; the
sessions themselves come from :class:`.iam_gate.RoleSessions`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: float
    """``time.time()`` at which the session expires."""

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for the execution role's session."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return (time.time() if now is None else now) + seconds >= self.expires_at
