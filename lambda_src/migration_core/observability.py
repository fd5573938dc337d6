"""The handlers' shared runtime: Powertools Logger, Metrics and (when on) Tracer, and the cold-start builder.

Only the three Lambda handlers import this module: it is the one place in ``migration_core`` that imports
Powertools (bundled in every zip), so the rest of the library stays usable from the CLI and the benchmarks
without it.

Tracing: the Tracer is created only when ``POWERTOOLS_TRACE_DISABLED`` is ``false`` (Powertools' own switch).
``modules/lambda_function`` sets it on every function: ``false`` with ``tracing_enabled`` and Powertools from
AWS's layer, which carries ``aws_xray_sdk``; ``true`` otherwise, since the bundled zips do not carry it.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

# Importing Tracer does not import aws_xray_sdk; creating one with tracing on does.
from aws_lambda_powertools import Logger, Metrics, Tracer

# Invocations that publish no metric (plan, summarize, a batch whose messages were all deferred) are expected.
warnings.filterwarnings("ignore", "No application metrics to publish*")

_T = TypeVar("_T")
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics
    tracer: Tracer | None

    def instrument(self, handler: _Handler) -> _Handler:
        """The handler with metrics flushed, the Lambda context logged (state cleared per invocation) and, with
        tracing on, the invocation traced."""
        wrapped: Callable[..., Any] = self.logger.inject_lambda_context(clear_state=True)(handler)
        if self.tracer is not None:
            wrapped = self.tracer.capture_lambda_handler(wrapped)
        return cast(_Handler, self.metrics.log_metrics(wrapped))


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() == "false"


def setup(environ: Mapping[str, str] = os.environ) -> Observability:
    """Logger and Metrics from Powertools' own environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE).

    The namespace is read here rather than left to Metrics so that a handler imported before its environment is
    set (the unit tests do) still publishes under the project's namespace; Terraform always sets it
    (``lambda_settings.metrics_namespace``)."""
    tracer: Tracer | None = None
    if tracing_enabled(environ):
        tracer = Tracer()
    return Observability(
        logger=Logger(),
        metrics=Metrics(namespace=environ.get("POWERTOOLS_METRICS_NAMESPACE") or "ddb-migrate"),
        tracer=tracer,
    )


def cold_start(build: Callable[[], _T]) -> functools._lru_cache_wrapper[_T]:
    """The handler's configuration and clients, built once per container on first call (``cache_clear`` for tests).

    Every handler builds its runtime through this; a bad environment raises ConfigurationError from the call."""
    return functools.cache(build)
