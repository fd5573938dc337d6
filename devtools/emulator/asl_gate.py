"""The emulator's Step Functions definition gate: refuse what Step Functions refuses, not only what moto does.

moto checks a definition only with its own ASL parser, which accepts, for example, the same state name in
two Map item processors; Step Functions refuses such a machine. :mod:`.asl_validation` runs an independent
validator, and :mod:`.moto_patches` wires this module in:

- ``ValidateStateMachineDefinition`` adds its diagnostics to those of moto's parser (``FAIL`` when any);
- ``CreateStateMachine`` and ``UpdateStateMachine`` answer ``InvalidDefinition`` (HTTP 400) before moto's
  own parser sees the definition, with Step Functions' message format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.exceptions import AWSError

from . import asl_validation


class InvalidDefinitionError(AWSError):
    TYPE = "InvalidDefinition"
    STATUS = 400


def require_validator() -> None:
    """Fail the emulator's start, rather than its first state machine, when the validator is not installed."""
    asl_validation.default_validator().check_available()


def stop_validator() -> None:
    asl_validation.default_validator().close()


def diagnostics(definition: Any) -> list[dict[str, str]]:
    """The validator's findings as ValidateStateMachineDefinition reports them; moto's parser reports the rest."""
    if not isinstance(definition, str):
        return []
    return [diagnostic.as_aws() for diagnostic in asl_validation.validate_definition(definition)]


def raise_if_invalid(definition: Any) -> None:
    if not isinstance(definition, str):
        return
    found = asl_validation.validate_definition(definition)
    if found:
        raise InvalidDefinitionError(asl_validation.invalid_definition_message(found))


def checking_definition(original: Any) -> Callable[[Any], Any]:
    """A ``StepFunctionResponse`` action (CreateStateMachine, UpdateStateMachine) that checks ``definition`` first.

    An UpdateStateMachine without a definition keeps the stored one, which passed this gate when it was stored.
    """

    def action(self: Any) -> Any:
        raise_if_invalid(self._get_param("definition"))
        return original(self)

    action.__name__ = getattr(original, "__name__", "action")
    action.__doc__ = original.__doc__
    return action
