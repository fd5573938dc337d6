"""GetFunction's ``Code.Location``: a presigned URL the emulator itself serves, as Lambda's points at S3.

Lambda answers GetFunction with a presigned S3 URL, valid for ten minutes, from which the deployment package
can be downloaded (Lambda API reference, FunctionCodeLocation). moto answers with
``https://awslambda-<region>-tasks.s3.<region>.amazonaws.com/<key>``, a public AWS host that knows nothing of
the emulator's functions, so anything that downloads a function's code (``ddb-migrate verify`` rebuilding a
deployment's custom transform) fails against the emulator.

Here the location is a URL on the endpoint the GetFunction request came in on, under :data:`PATH_PREFIX`
(``_`` cannot start an S3 bucket name, so no path-style S3 request is shadowed), signed with a per-process
key and valid for :data:`URL_LIFETIME_SECONDS`. The server answers it with the zip of that function version,
or with an S3-style XML error: 403 for a bad or expired signature, 404 once the function or its code has
changed (the URL names the code by its SHA-256; the emulator keeps no older code around to serve).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol
from xml.sax.saxutils import escape

from moto.awslambda.responses import LambdaResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from . import moto_access

PATH_PREFIX = "/_ddbmigrate/lambda-code/"
URL_LIFETIME_SECONDS = 600
"""Lambda's presigned code URLs are valid for ten minutes."""
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SIGNING_KEY = secrets.token_bytes(32)

StartResponse = Callable[..., Any]


class Patches(Protocol):
    """What :class:`.moto_patches.AppliedPatches` offers (kept apart to avoid an import cycle)."""

    def apply(self, owner: Any, name: str, value: Any) -> None: ...


def _signature(parts: Sequence[str], date: str, code_sha256: str) -> str:
    message = "\n".join((*parts, date, str(URL_LIFETIME_SECONDS), code_sha256)).encode("utf-8")
    return hmac.new(_SIGNING_KEY, message, hashlib.sha256).hexdigest()


def presigned_location(
    base_url: str,
    region: str,
    account_id: str,
    function_name: str,
    version: str,
    code_sha256: str,
    now: dt.datetime | None = None,
) -> str:
    """The URL from which this version's current code can be downloaded for the next ten minutes."""
    parts = (region, account_id, function_name, version)
    path = PATH_PREFIX + "/".join(urllib.parse.quote(part, safe="") for part in parts)
    date = (now or dt.datetime.now(dt.UTC)).strftime(_DATE_FORMAT)
    query = urllib.parse.urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(URL_LIFETIME_SECONDS),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": _signature(parts, date, code_sha256),
        }
    )
    return f"{base_url.rstrip('/')}{path}?{query}"


# --------------------------------------------------------------------------------------------------
# GetFunction


def _base_url(response: Any) -> str | None:
    """Scheme and host the client used to reach the emulator, so the URL works from where it asked."""
    parts = urllib.parse.urlsplit(str(getattr(response, "uri", "") or ""))
    host = parts.netloc or (response.headers.get("Host") if getattr(response, "headers", None) else None)
    if not host:
        return None
    return f"{parts.scheme or 'http'}://{host}"


def _served_location(response: Any, body: str) -> str:
    try:
        document = json.loads(body)
        code = document.get("Code")
        configuration = document["Configuration"]
        _, _, _, region, account_id, _, function_name = configuration["FunctionArn"].split(":")[:7]
        version = str(configuration["Version"])
        code_sha256 = str(configuration["CodeSha256"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return body
    base_url = _base_url(response)
    if not isinstance(code, dict) or code.get("RepositoryType") != "S3" or base_url is None:
        return body
    code["Location"] = presigned_location(base_url, region, account_id, function_name, version, code_sha256)
    return json.dumps(document)


def _get_function_with_served_location(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``LambdaResponse.get_function``: a ``Code.Location`` on the emulator's own endpoint."""

    def get_function(self: Any) -> Any:
        body = original(self)
        return _served_location(self, body) if isinstance(body, str) else body

    return get_function


# --------------------------------------------------------------------------------------------------
# Serving the code


def _s3_error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    ).encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _code_response(environ: dict[str, Any], start_response: StartResponse, now: dt.datetime) -> Iterable[bytes]:
    path = str(environ.get("PATH_INFO", ""))
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return _s3_error(start_response, "405 Method Not Allowed", "MethodNotAllowed", "Only GET and HEAD")
    query = {name: values[-1] for name, values in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
    # PATH_INFO arrives percent-decoded (WSGI): the parts are the names that were signed.
    parts = path[len(PATH_PREFIX) :].split("/")
    date, signature = query.get("X-Amz-Date", ""), query.get("X-Amz-Signature", "")
    try:
        signed_at = dt.datetime.strptime(date, _DATE_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Missing or malformed X-Amz-Date")
    if len(parts) != 4 or query.get("X-Amz-Expires") != str(URL_LIFETIME_SECONDS):
        return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Not a presigned function code URL")
    if now > signed_at + dt.timedelta(seconds=URL_LIFETIME_SECONDS):
        return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
    region, account_id, function_name, version = parts
    fn = moto_access.find_function(account_id, region, function_name, None if version == "$LATEST" else version)
    code = b"" if fn is None else bytes(getattr(fn, "code_bytes", b"") or b"")
    code_sha256 = "" if fn is None else str(getattr(fn, "code_sha_256", "") or "")
    if not code or not hmac.compare_digest(signature, _signature(parts, date, code_sha256)):
        # A URL for code that has since been replaced is indistinguishable from a forged one.
        return _s3_error(start_response, "404 Not Found", "NoSuchKey", "The specified key does not exist.")
    start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(code)))])
    return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [code]


def _dispatch_serving_code(original: Callable[..., Any]) -> Callable[..., Any]:
    """``DomainDispatcherApplication.__call__``: answer :data:`PATH_PREFIX` URLs before moto routes them."""

    def call(self: Any, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if str(environ.get("PATH_INFO", "")).startswith(PATH_PREFIX):
            return _code_response(environ, start_response, dt.datetime.now(dt.UTC))
        return original(self, environ, start_response)

    return call


# --------------------------------------------------------------------------------------------------
# What moto_patches applies


def _replacements() -> Iterator[tuple[Any, str, Any]]:
    yield LambdaResponse, "get_function", _get_function_with_served_location(LambdaResponse.__dict__["get_function"])
    yield (
        DomainDispatcherApplication,
        "__call__",
        _dispatch_serving_code(DomainDispatcherApplication.__dict__["__call__"]),
    )


def compatibility_problems() -> list[str]:
    """What in the installed moto no longer matches what these patches assume (empty if all is well)."""
    targets = ((LambdaResponse, "get_function"), (DomainDispatcherApplication, "__call__"))
    return [f"{owner.__qualname__}.{name} is missing" for owner, name in targets if name not in owner.__dict__]


def apply(patches: Patches) -> None:
    """Apply every patch of this module; the caller has checked :func:`compatibility_problems`."""
    for owner, name, value in _replacements():
        patches.apply(owner, name, value)
