"""Serving the model: in a thread of this process, or in a child process of its own."""

from __future__ import annotations

import argparse
import contextlib
import http.server
import io
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from devtools.child_server import child_server

from .model import CONTROL_PREFIX, DynamoDBModel
from .settings import ModelSettings

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def moto_app() -> WSGIApplication:
    """moto's server application: every service, dispatched on the request's signing scope."""
    app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    return app


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """Serves a WSGI app over HTTP/1.1 with keep-alive.

    werkzeug's development server closes every connection after one response, so each request would pay a
    TCP connect and a new server thread, which AWS SDKs talking to DynamoDB do not: with keep-alive the
    client-side CPU per request is what it is against AWS.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second would wait for the client's
    # delayed ACK of the first (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    # An idle keep-alive connection gives its thread back after this long.
    timeout = 120
    server: _Server

    # http.server dispatches on these names.
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: thousands of requests per second."""

    def _serve(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "REQUEST_URI": self.path,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": self.headers.get("Host", "localhost").rsplit(":", 1)[0],
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        result = self.server.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


# socketserver listens with a backlog of 5. A client opening many keep-alive connections at once (a backfill's
# segments, 8 writer threads each) overflowed it: the kernel dropped their SYNs, and each such connection waited
# 1, 3, 7 ... s for its retransmission while its segment sat idle, which the benchmark then measured as ours.
# The kernel caps the value at net.core.somaxconn.
LISTEN_BACKLOG = max(socket.SOMAXCONN, 4096)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], app: WSGIApplication) -> None:
        self.app = app
        super().__init__(address, _KeepAliveHandler)


class ModelServer:
    """:class:`DynamoDBModel` over moto, served on ``host`` (HTTP/1.1, keep-alive) from threads of this process."""

    def __init__(
        self,
        settings: ModelSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app: WSGIApplication | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A test that must not depend on machine speed passes a clock that only its own backoff advances.
        self.model = DynamoDBModel(app if app is not None else moto_app(), settings, clock=clock)
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def start(self) -> Self:
        self._server = _Server((self._host, self._port), self.model)
        self.endpoint = f"http://{self._host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ddb-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ModelControl:
    """Client of a model server's ``/_ddbmodel/`` endpoints, wherever the server runs."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")

    def configure(self, settings: ModelSettings) -> None:
        self._call("POST", "settings", settings.to_json())

    def settings(self) -> ModelSettings:
        return ModelSettings.from_json(self._call("GET", "settings"))

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def reset_stats(self) -> None:
        self._call("POST", "reset", {})

    def sink(self, queue: str, *, clear: bool = False) -> list[dict[str, Any]]:
        """Messages recorded for a sink queue (see ``DynamoDBModel.sink``)."""
        result: list[dict[str, Any]] = self._call("POST", "sqs-sink", {"queue": queue, "clear": clear})
        return result

    def compare(self, source: str, target: str) -> dict[str, Any]:
        """Item-by-item comparison of two in-memory tables (see ``ItemStore.compare``)."""
        result: dict[str, Any] = self._call("POST", "compare", {"source": source, "target": target})
        return result

    def _call(self, method: str, action: str, document: Any = None) -> Any:
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
            f"{self.endpoint}{CONTROL_PREFIX}{action}", data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - see above
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"the DynamoDB model refused {method} {action}: {error.read().decode()}") from error


@contextlib.contextmanager
def model_server_process(
    settings: ModelSettings | None = None, *, log_path: Path | None = None
) -> Iterator[ModelControl]:
    """Run ``python -m devtools.faults`` in a child process; yields a :class:`ModelControl` for it.

    A process of its own keeps moto's and the model's CPU time off the interpreter lock of the client
    being measured, as a real DynamoDB would.
    """
    arguments = ["--parent-pid", str(os.getpid())]
    if settings is not None:
        arguments += ["--settings", json.dumps(settings.to_json())]
    with child_server("devtools.faults", arguments, what="DynamoDB model", log_path=log_path) as endpoint:
        yield ModelControl(endpoint)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.faults", description="DynamoDB latency, capacity and fault model over moto"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, help='written as {"endpoint": ...} once the server listens')
    parser.add_argument("--settings", default="{}", help="ModelSettings as JSON (ModelSettings.to_json)")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone (no orphaned servers)")
    args = parser.parse_args(argv)
    server = ModelServer(ModelSettings.from_json(json.loads(args.settings)), host=args.host, port=args.port).start()
    if args.ready_file is not None:
        temporary = args.ready_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"endpoint": server.endpoint}))
        temporary.replace(args.ready_file)
    print(f"DynamoDB model listening on {server.endpoint}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    while not stopped.wait(timeout=1.0):
        if args.parent_pid is not None and not _alive(args.parent_pid):
            break
    server.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
