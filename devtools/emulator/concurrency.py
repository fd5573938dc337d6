"""Concurrent requests served as AWS serves them: no request fails or waits on a dropped connection because
others arrive at the same time.

The server (werkzeug's, which moto runs) handles every request in a thread of its own, but moto's IAM backend
is not thread-safe. Its lookups walk the backend's dictionaries (``get_role`` goes through every role, CreateRole
checks the name that way), so a role created while another request walks them fails that request with
``RuntimeError: dictionary changed size during iteration``, which the server answers with an HTML ``500``.
Terraform creates a module's roles, policies and attachments in parallel, and roles are looked up all the time
outside IAM calls too (every request signed with a role session, Lambda's CreateFunction, the IAM gate), so under
load a few percent of IAM calls failed so, and the gate could take a looked-up role for a missing one.

A failed call is not harmless even though moto fails before it changes anything. SDKs retry a 500 after a
backoff (the Terraform provider makes up to 25 attempts, up to 20 s apart), and the provider waits only so long:
it runs CreateRole in ``tfresource.RetryWhen`` with a 2-minute timeout, and when the call has not returned after
that and a 30-second grace period, it sends a second CreateRole, which answers ``409 EntityAlreadyExists`` once
the first has gone through. Spurious 500s and dropped connections (below) can make one CreateRole of a loaded
emulator last that long, which AWS, answering in a fraction of a second, never does.

The patches, applied by :mod:`.moto_patches`:

- IAM and STS requests (STS AssumeRole adds IAM access keys) run one at a time, under :data:`IAM_LOCK`, from the
  parsing of the request to its response. Each sees the backend consistent, and a check-then-create is atomic:
  of two concurrent CreateRole calls of one name, one succeeds and the other gets ``EntityAlreadyExists``, as on
  AWS (moto alone could create both). IAM calls are short and never wait for another request, so this costs
  little and cannot deadlock; nothing that holds another lock of the emulator takes this one.
- A retry of a call that already went through (the SDK repeats ``amz-sdk-invocation-id``) gets that call's answer:
  for IAM and STS, and for every other service's create calls (CreateTable, CreateFunction,
  CreateEventSourceMapping, ...), which a loaded emulator may answer after the SDK gave up waiting. A retry that
  arrives while its first attempt still runs waits for it.
- ``IAMBackend.get_roles`` returns a copy of the roles, so the lookups made outside IAM requests, which do not
  take the lock, never see the dictionary change under them.
- The listening socket's backlog is :data:`LISTEN_BACKLOG` instead of werkzeug's 128. The server accepts
  connections from one thread, which a busy process starves; with the queue full, the kernel drops new
  connections' SYNs, and each client waits 1, 3, 7, ... seconds for its retransmissions (SDKs give up connecting
  after 30 s and retry). Every response closes its connection, so a busy emulator sees a connect per request. A
  deeper queue makes such a connection wait its turn instead. (The kernel caps the value at
  ``net.core.somaxconn``.)
"""

from __future__ import annotations

import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

IAM_LOCK = threading.RLock()
"""Held while an IAM or STS request is served."""
SERIALIZED_SERVICES = frozenset({"iam", "sts"})
LISTEN_BACKLOG = max(socket.SOMAXCONN, 4096)


# Answers by the SDK's invocation id, which every retry of one call repeats: of IAM and STS requests, and of the
# create calls of the other services (small answers; reads, which may answer megabytes, are not kept).
ANSWERED_LIMIT = 4096
_answered: OrderedDict[str, Any] = OrderedDict()
_answered_lock = threading.Lock()
# One lock per create call in flight: a retry that arrives while its first attempt still runs waits for its answer.
_in_flight: dict[str, threading.Lock] = {}
# REST paths whose POST creates something (the Lambda API names no action in a header).
_CREATING_PATHS = ("/functions", "/event-source-mappings")


def serializing_dispatch(original: Callable[..., Any]) -> Callable[..., Any]:
    """``BaseResponse._dispatch`` (parse the request, then ``call_action``): IAM and STS one at a time, and a retry
    of an IAM or STS call, or of another service's create call, already carried out gets that call's answer.

    A retry reaches the emulator only because a loaded emulator answered the first attempt too late for the SDK
    (AWS answers IAM in a fraction of a second): the SDK sends the same call again with the same
    ``amz-sdk-invocation-id``, and without this a CreateRole that went through the first time would answer the
    retry with ``409 EntityAlreadyExists``, which the caller takes for a real conflict. The retry gets what the
    first attempt would have returned had it been in time.
    """

    def _dispatch(self: Any, request: Any, full_url: str | None = None, headers: Any = None) -> Any:
        invocation = _invocation_id(request)
        if getattr(self, "service_name", None) in SERIALIZED_SERVICES:
            with IAM_LOCK:
                return _answer_once(invocation, lambda: original(self, request, full_url, headers))
        if invocation is None or not _creates(request):
            return original(self, request, full_url, headers)
        with _answered_lock:
            call_lock = _in_flight.setdefault(invocation, threading.Lock())
        try:
            with call_lock:
                return _answer_once(invocation, lambda: original(self, request, full_url, headers))
        finally:
            with _answered_lock:
                _in_flight.pop(invocation, None)

    return _dispatch


def _answer_once(invocation: str | None, answer: Callable[[], Any]) -> Any:
    """The answer of the call ``invocation`` names: the first attempt's, which a retry gets again."""
    with _answered_lock:
        if invocation is not None and invocation in _answered:
            return _answered[invocation]
    result = answer()
    if invocation is not None:
        with _answered_lock:
            _answered[invocation] = result
            while len(_answered) > ANSWERED_LIMIT:
                _answered.popitem(last=False)
    return result


def _creates(request: Any) -> bool:
    """Whether the request creates something, which a second attempt would refuse or do twice (CreateTable answers
    ResourceInUseException, CreateEventSourceMapping makes a second mapping)."""
    try:
        target = request.headers.get("X-Amz-Target") or ""
        path = urlsplit(request.url).path.rstrip("/")
        method = request.method
    except AttributeError:
        return False
    if target:
        return str(target).rsplit(".", 1)[-1].startswith("Create")
    return bool(method == "POST" and path.endswith(_CREATING_PATHS))


def _invocation_id(request: Any) -> str | None:
    try:
        value = request.headers.get("amz-sdk-invocation-id")
    except AttributeError:
        return None
    return value if isinstance(value, str) and value else None


def roles_snapshot(self: Any) -> list[Any]:
    """``IAMBackend.get_roles``: the roles as a list, taken whole, rather than a live view of the dictionary."""
    while True:
        try:
            # One C-level copy that does not give up the GIL; the retry is only a safeguard.
            return list(self.roles.values())
        except RuntimeError:  # pragma: no cover - a safeguard, see above
            continue
