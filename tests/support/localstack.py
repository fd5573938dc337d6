"""LocalStack from a test's side: whether ``AWS_ENDPOINT_URL`` is a LocalStack (it answers ``/_localstack/health``)."""

from __future__ import annotations

import functools
import json
import os
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.emulator import Aws


@functools.cache
def localstack_endpoint() -> str | None:
    """``AWS_ENDPOINT_URL`` when a LocalStack answers there, else None."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint or not endpoint.startswith(("http://", "https://")):
        return None
    # A loopback endpoint is asked directly, whatever proxy the environment names for the rest.
    loopback = urllib.parse.urlsplit(endpoint).hostname in {"127.0.0.1", "localhost", "::1"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({})) if loopback else urllib.request.build_opener()
    try:
        with opener.open(f"{endpoint.rstrip('/')}/_localstack/health", timeout=5) as response:
            services = json.load(response).get("services")
    except (OSError, ValueError):
        return None
    return endpoint if isinstance(services, dict) else None


def deploy_active(aws: Aws, sources: tuple[str, ...], handler: str, **options: Any) -> str:
    """``Aws.deploy``, then wait until the function is Active: LocalStack, like Lambda, creates functions in the
    Pending state and refuses to invoke them until the execution environment's code is prepared."""
    function = aws.deploy(sources, handler, **options)
    aws.lambda_.get_waiter("function_active_v2").wait(FunctionName=function, WaiterConfig={"Delay": 1})
    return function
