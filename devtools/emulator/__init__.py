"""Embedded AWS emulator: moto's server, plus local Lambda execution and event source mapping pollers.

``start_emulator()`` runs it in-process; ``python -m devtools.emulator`` runs it until SIGTERM/SIGINT.
See docs/ARCHITECTURE.md ("Emulator").
"""

from .executor import FunctionSpec, InvocationResult, LambdaExecutor
from .moto_patches import MotoIncompatibleError
from .server import Emulator, start_emulator

__all__ = [
    "Emulator",
    "FunctionSpec",
    "InvocationResult",
    "LambdaExecutor",
    "MotoIncompatibleError",
    "start_emulator",
]
