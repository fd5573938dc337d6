"""The WSGI middleware: latency, capacity and faults in front of moto (and of the in-memory item store)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .capacity import TokenBucket, read_units, wire_item_size, write_units
from .settings import ModelSettings
from .store import DynamoDBError, ItemStore, WireItem, validation_error

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
SQS_TARGET_PREFIX = "AmazonSQS."
ERROR_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"
THROUGHPUT_EXCEEDED = "ProvisionedThroughputExceededException"
INTERNAL_SERVER_ERROR = "InternalServerError"
# DynamoDB's own wording, so that logs read as they would against AWS.
THROUGHPUT_EXCEEDED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
INJECTED_ERROR_MESSAGE = "Internal server error (injected by the DynamoDB model)"
CONTROL_PREFIX = "/_ddbmodel/"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

_SINGLE_WRITES = frozenset({"PutItem", "DeleteItem", "UpdateItem"})
_READS = frozenset({"GetItem", "Scan", "Query"})
# Operations that may be faulted; the control plane (CreateTable, DescribeTable, ...) is only delayed.
_DATA_PLANE = _SINGLE_WRITES | _READS | frozenset({"BatchWriteItem", "BatchGetItem"})
_REPORTS_CAPACITY = ("TOTAL", "INDEXES")


@dataclass
class TableStats:
    """What the model saw for one table since the last reset."""

    consumed_wcu: float = 0.0
    consumed_rcu: float = 0.0
    # Put/delete/update requests applied (each batch entry counts one).
    writes_applied: int = 0
    # Requests answered with ProvisionedThroughputExceededException (and the batch entries they carried),
    # and batch entries sent back in UnprocessedItems.
    throttled_requests: int = 0
    throttled_items: int = 0
    unprocessed_items: int = 0
    injected_server_errors: int = 0
    injected_throttles: int = 0
    injected_partial_batches: int = 0
    # Model-clock seconds of the first and last applied write: the span over which capacity was used.
    first_write_at: float | None = None
    last_write_at: float | None = None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status == 200


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


class DynamoDBModel:
    """WSGI middleware that adds latency, capacity and faults to the DynamoDB requests for ``app`` (moto).

    Tables created while their name matches ``settings.memory_tables`` keep their items in ``store``.
    """

    def __init__(
        self,
        app: WSGIApplication,
        settings: ModelSettings | None = None,
        *,
        store: ItemStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._app = app
        self.store = store if store is not None else ItemStore()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._stats: dict[str, TableStats] = {}
        self._requests: dict[str, int] = {}
        self._started = clock()
        # Messages sent to sink queues, per queue name, in the order they were accepted.
        self._sink: dict[str, list[dict[str, Any]]] = {}
        self._sink_dedup: set[tuple[str, str]] = set()
        self.configure(settings or ModelSettings())

    # -- configuration and statistics ------------------------------------------------------------------------

    @property
    def settings(self) -> ModelSettings:
        return self._settings

    def configure(self, settings: ModelSettings) -> None:
        """Replace the settings; capacity buckets start again from their ``initial_fill``."""
        write = {table: TokenBucket(capacity, self._clock) for table, capacity in settings.write_capacity.items()}
        read = {table: TokenBucket(capacity, self._clock) for table, capacity in settings.read_capacity.items()}
        with self._lock:
            self._settings = settings
            self._write_buckets = write
            self._read_buckets = read
            self._rng = random.Random(settings.seed)
            self._configured_at = self._clock()

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = {}
            self._requests = {}
            self._started = self._clock()

    def stats(self) -> dict[str, Any]:
        """Per-table statistics, requests per operation, and the CPU time of this process (whole process)."""
        times = os.times()
        with self._lock:
            return {
                "tables": {name: asdict(table) for name, table in self._stats.items()},
                "requests": dict(self._requests),
                "elapsed_seconds": self._clock() - self._started,
                # Model clock, like the tables' first/last write times: when the current settings (and so
                # the capacity buckets) took effect.
                "settings_applied_at": self._configured_at,
                "clock": self._clock(),
                "process_cpu_seconds": times.user + times.system,
            }

    def table_stats(self, table: str) -> TableStats:
        with self._lock:
            return TableStats(**asdict(self._stats.get(table, TableStats())))

    # -- WSGI ------------------------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(CONTROL_PREFIX):
            response = self._control(environ)
        else:
            response = self._handle(environ)
        start_response(f"{response.status} {_REASONS.get(response.status, 'Error')}", response.headers)
        return [response.body]

    def _handle(self, environ: WSGIEnvironment) -> _Response:
        body = _read_body(environ)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        operation = target.removeprefix(DYNAMODB_TARGET_PREFIX) if target.startswith(DYNAMODB_TARGET_PREFIX) else ""
        self._count_request(operation or target or str(environ.get("PATH_INFO", "")))
        self._delay()
        if target in (f"{SQS_TARGET_PREFIX}SendMessage", f"{SQS_TARGET_PREFIX}SendMessageBatch"):
            request = json.loads(body or b"{}")
            queue = str(request.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
            if self._settings.sinks(queue):
                return self._sink_send(queue, request, batch=target.endswith("Batch"))
        if not operation:
            return self._forward(environ, body)
        request = json.loads(body or b"{}")
        if operation in ("CreateTable", "DeleteTable", "DescribeTable"):
            handler = self._table_admin
        elif operation == "BatchWriteItem":
            handler = self._batch_write
        elif operation in _SINGLE_WRITES:
            handler = self._single_write
        elif operation in _READS:
            handler = self._read
        else:
            handler = self._other
        try:
            return handler(environ, operation, request, body)
        except DynamoDBError as error:
            return _error(error.status, error.code, error.message)

    # -- operations ------------------------------------------------------------------------------------------

    def _table_admin(
        self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes
    ) -> _Response:
        response = self._forward(environ, body)
        name = str(request.get("TableName", ""))
        if not response.ok:
            return response
        if operation == "CreateTable" and self._settings.keeps_in_memory(name):
            types = {d["AttributeName"]: d["AttributeType"] for d in request.get("AttributeDefinitions", [])}
            elements = sorted(request.get("KeySchema", []), key=lambda element: element["KeyType"] != "HASH")
            self.store.create_table(name, [(e["AttributeName"], types[e["AttributeName"]]) for e in elements])
        elif operation == "DeleteTable":
            self.store.drop_table(name)
        elif operation == "DescribeTable" and self.store.has_table(name):
            document = json.loads(response.body)
            count, size = self.store.table_summary(name)
            document["Table"]["ItemCount"] = count
            document["Table"]["TableSizeBytes"] = size
            return _json_response(response, document)
        return response

    def _other(self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes) -> _Response:
        tables = _tables_of(request)
        if any(self.store.has_table(table) for table in tables):
            raise validation_error(f"{operation} is not supported on the DynamoDB model's in-memory tables")
        if operation in _DATA_PLANE:
            return self._pre_fault(tables) or self._post_fault(tables) or self._forward(environ, body)
        return self._forward(environ, body)

    def _batch_write(
        self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes
    ) -> _Response:
        request_items: Mapping[str, list[dict[str, Any]]] = request.get("RequestItems", {})
        if not any(request_items.values()):
            return self._forward(environ, body)  # moto answers the ValidationException for an empty batch
        fault = self._pre_fault(list(request_items))
        if fault is not None:
            return fault
        accepted: dict[str, list[tuple[dict[str, Any], int]]] = {}
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        for table, entries in request_items.items():
            taken, refused = self._admit(table, entries)
            if taken:
                accepted[table] = taken
            if refused:
                unprocessed[table] = refused
                self._add(table, unprocessed_items=len(refused))
        if not accepted:
            for table, entries in request_items.items():
                self._add(table, throttled_requests=1, throttled_items=len(entries))
            return _throttled()
        consumed = {table: float(sum(write_units(size) for _, size in taken)) for table, taken in accepted.items()}
        try:
            document = self._apply_batch(environ, request, body, accepted, unprocessed)
        except DynamoDBError:
            self._give_back(consumed)
            raise
        if isinstance(document, _Response):  # moto refused the batch
            self._give_back(consumed)
            return document
        for table, taken in accepted.items():
            self._record_writes(table, len(taken), consumed[table])
        document["UnprocessedItems"] = unprocessed
        if request.get("ReturnConsumedCapacity") in _REPORTS_CAPACITY:
            document["ConsumedCapacity"] = [
                {"TableName": table, "CapacityUnits": units} for table, units in consumed.items()
            ]
        else:
            document.pop("ConsumedCapacity", None)
        return self._post_fault(list(request_items)) or _json_response(None, document)

    def _apply_batch(
        self,
        environ: WSGIEnvironment,
        request: Mapping[str, Any],
        body: bytes,
        accepted: Mapping[str, list[tuple[dict[str, Any], int]]],
        unprocessed: Mapping[str, Any],
    ) -> dict[str, Any] | _Response:
        """Apply the admitted entries: the response document, or moto's answer when it refused them."""
        in_memory = [table for table in accepted if self.store.has_table(table)]
        if in_memory:
            if len(in_memory) != len(accepted):
                raise validation_error("a BatchWriteItem mixing in-memory and moto tables is not supported")
            for table, taken in accepted.items():
                self.store.batch_write(table, [(entry, _known_size(size)) for entry, size in taken])
            return {}
        entries = {table: [entry for entry, _ in taken] for table, taken in accepted.items()}
        forwarded = body if not unprocessed else json.dumps({**request, "RequestItems": entries}).encode()
        response = self._forward(environ, forwarded)
        if not response.ok:
            return response
        document: dict[str, Any] = json.loads(response.body or b"{}")
        return document

    def _admit(
        self, table: str, entries: Sequence[dict[str, Any]]
    ) -> tuple[list[tuple[dict[str, Any], int]], list[dict[str, Any]]]:
        """Split one table's batch entries into (entry, size) pairs that capacity admits and refused entries."""
        sizes = [_entry_size(entry) for entry in entries]
        costs = [write_units(size) for size in sizes]
        bucket = self._write_buckets.get(table)
        fits = bucket.take_each(costs) if bucket is not None else [True] * len(entries)
        taken = [(entry, size) for entry, size, ok in zip(entries, sizes, fits, strict=True) if ok]
        refused = [entry for entry, ok in zip(entries, fits, strict=True) if not ok]
        if len(taken) > 1 and self._settings.faults_apply(table) and self._chance(self._settings.partial_batch_rate):
            # Give back a random tail: DynamoDB may leave part of a batch unprocessed for reasons other than
            # the table's capacity (a hot partition, an internal limit).
            keep = self._randint(1, len(taken) - 1)
            if bucket is not None:
                bucket.give_back(float(sum(write_units(size) for _, size in taken[keep:])))
            refused.extend(entry for entry, _ in taken[keep:])
            taken = taken[:keep]
            self._add(table, injected_partial_batches=1)
        return taken, refused

    def _single_write(
        self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes
    ) -> _Response:
        table = str(request.get("TableName", ""))
        fault = self._pre_fault([table])
        if fault is not None:
            return fault
        size = _entry_size({"PutRequest": request}) if operation == "PutItem" else 0
        cost = float(write_units(size))
        bucket = self._write_buckets.get(table)
        if bucket is not None and not bucket.try_take(cost):
            self._add(table, throttled_requests=1, throttled_items=1)
            return _throttled()
        try:
            response = self._apply_single_write(environ, operation, request, body, size)
        except DynamoDBError:
            self._give_back({table: cost})
            raise
        if not response.ok:
            # DynamoDB charges a failed conditional write; a request it rejects as invalid costs nothing.
            if b"ConditionalCheckFailed" not in response.body:
                self._give_back({table: cost})
            return response
        self._record_writes(table, 1, cost)
        late = self._post_fault([table])
        if late is not None:
            return late
        if request.get("ReturnConsumedCapacity") in _REPORTS_CAPACITY:
            document = json.loads(response.body or b"{}")
            document["ConsumedCapacity"] = {"TableName": table, "CapacityUnits": cost}
            return _json_response(response, document)
        return response

    def _apply_single_write(
        self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes, size: int
    ) -> _Response:
        table = str(request.get("TableName", ""))
        if not self.store.has_table(table):
            return self._forward(environ, body)
        if operation == "UpdateItem" or "ConditionExpression" in request or "Expected" in request:
            raise validation_error(
                f"{operation} with conditions or update expressions is not supported on the model's in-memory tables"
            )
        if operation == "PutItem":
            previous = self.store.put(table, request["Item"], _known_size(size))
        else:
            previous = self.store.delete(table, request["Key"])
        document = {"Attributes": previous} if request.get("ReturnValues") == "ALL_OLD" and previous else {}
        return _json_response(None, document)

    def _read(self, environ: WSGIEnvironment, operation: str, request: Mapping[str, Any], body: bytes) -> _Response:
        table = str(request.get("TableName", ""))
        fault = self._pre_fault([table])
        if fault is not None:
            return fault
        bucket = self._read_buckets.get(table)
        if bucket is not None and bucket.tokens <= 0:
            self._add(table, throttled_requests=1)
            return _throttled()
        consistent = bool(request.get("ConsistentRead"))
        if self.store.has_table(table):
            document, read_bytes = self._read_memory(operation, table, request)
            response = None
        else:
            response = self._forward(environ, body)
            if bucket is None or not response.ok:
                return self._post_fault([table]) or response
            document = json.loads(response.body or b"{}")
            found = document.get("Items") or ([document["Item"]] if "Item" in document else [])
            read_bytes = sum(wire_item_size(item) for item in found)
        units = read_units(read_bytes, consistent)
        if bucket is not None:
            bucket.charge(units)
        self._add(table, consumed_rcu=units)
        late = self._post_fault([table])
        if late is not None:
            return late
        if request.get("ReturnConsumedCapacity") in _REPORTS_CAPACITY:
            document["ConsumedCapacity"] = {"TableName": table, "CapacityUnits": units}
        else:
            document.pop("ConsumedCapacity", None)
        return _json_response(response, document)

    def _read_memory(self, operation: str, table: str, request: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        unsupported = sorted(
            {"FilterExpression", "ScanFilter", "QueryFilter", "IndexName", "AttributesToGet"} & request.keys()
        )
        if operation == "Query" or unsupported:
            what = "Query" if operation == "Query" else f"{operation} with {', '.join(unsupported)}"
            raise validation_error(f"{what} is not supported on the DynamoDB model's in-memory tables")
        projection = _projection(request)
        if operation == "GetItem":
            item = self.store.get(table, request["Key"])
            if item is None:
                return {}, 0
            return {"Item": _project(item, projection)}, wire_item_size(item)
        limit = request.get("Limit")
        page = self.store.scan(
            table,
            segment=int(request.get("Segment", 0)),
            total_segments=int(request.get("TotalSegments", 1)),
            exclusive_start_key=request.get("ExclusiveStartKey"),
            limit=None if limit is None else int(limit),
        )
        document: dict[str, Any] = {"Count": len(page.items), "ScannedCount": len(page.items)}
        if request.get("Select") != "COUNT":
            document["Items"] = [_project(item, projection) for item in page.items]
        if page.last_evaluated_key is not None:
            document["LastEvaluatedKey"] = page.last_evaluated_key
        return document, page.scanned_bytes

    # -- SQS sink -------------------------------------------------------------------------------------------

    def sink(self, queue: str, *, clear: bool = False) -> list[dict[str, Any]]:
        """Messages accepted for a sink queue, in order: what a FIFO queue would hand out, per message group.

        A sink only records: moto's SQS walks every queued message on each send (cost grows with the queue),
        which would make a sender's measured rate a property of moto.
        """
        with self._lock:
            messages = list(self._sink.get(queue, []))
            if clear:
                self._sink.pop(queue, None)
            return messages

    def _sink_send(self, queue: str, request: Mapping[str, Any], *, batch: bool) -> _Response:
        entries = request.get("Entries", []) if batch else [{"Id": "single", **request}]
        accepted = []
        with self._lock:
            stored = self._sink.setdefault(queue, [])
            for entry in entries:
                body = str(entry["MessageBody"])
                dedup = str(entry.get("MessageDeduplicationId") or hashlib.sha256(body.encode()).hexdigest())
                message_id, sequence = str(uuid.uuid4()), f"{len(stored) + 1:020d}"
                digest = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
                message = {
                    "MessageId": message_id,
                    "Body": body,
                    "MD5OfBody": digest,
                    "Attributes": {
                        "MessageGroupId": str(entry.get("MessageGroupId", "")),
                        "MessageDeduplicationId": dedup,
                        "SequenceNumber": sequence,
                        "SentTimestamp": str(int(time.time() * 1000)),
                    },
                }
                # FIFO deduplication: a repeated id is acknowledged and not stored again.
                if (queue, dedup) not in self._sink_dedup:
                    self._sink_dedup.add((queue, dedup))
                    stored.append(message)
                accepted.append(
                    {"Id": entry["Id"], "MessageId": message_id, "MD5OfMessageBody": digest, "SequenceNumber": sequence}
                )
        document: dict[str, Any] = {"Successful": accepted, "Failed": []} if batch else accepted[0]
        if not batch:
            document.pop("Id")
        return _json_response(None, document)

    # -- faults ----------------------------------------------------------------------------------------------

    def _pre_fault(self, tables: Iterable[str]) -> _Response | None:
        settings = self._settings
        faulted = [table for table in tables if settings.faults_apply(table)]
        if not faulted:
            return None
        if self._chance(settings.server_error_rate * (1 - settings.server_error_after_apply_share)):
            for table in faulted:
                self._add(table, injected_server_errors=1)
            return _error(500, INTERNAL_SERVER_ERROR, INJECTED_ERROR_MESSAGE)
        if self._chance(settings.throttle_rate):
            for table in faulted:
                self._add(table, injected_throttles=1)
            return _throttled()
        return None

    def _post_fault(self, tables: Iterable[str]) -> _Response | None:
        settings = self._settings
        faulted = [table for table in tables if settings.faults_apply(table)]
        if not faulted or not self._chance(settings.server_error_rate * settings.server_error_after_apply_share):
            return None
        for table in faulted:
            self._add(table, injected_server_errors=1)
        return _error(500, INTERNAL_SERVER_ERROR, INJECTED_ERROR_MESSAGE)

    def _chance(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def _randint(self, low: int, high: int) -> int:
        with self._lock:
            return self._rng.randint(low, high)

    def _delay(self) -> None:
        low, high = self._settings.latency_ms
        if high <= 0:
            return
        with self._lock:
            milliseconds = self._rng.uniform(low, high)
        self._sleep(milliseconds / 1000)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _add(self, table: str, **increments: float) -> None:
        with self._lock:
            stats = self._stats.setdefault(table, TableStats())
            for name, value in increments.items():
                setattr(stats, name, getattr(stats, name) + value)

    def _record_writes(self, table: str, count: int, wcu: float) -> None:
        now = self._clock()
        with self._lock:
            stats = self._stats.setdefault(table, TableStats())
            stats.writes_applied += count
            stats.consumed_wcu += wcu
            if stats.first_write_at is None:
                stats.first_write_at = now
            stats.last_write_at = now

    def _count_request(self, operation: str) -> None:
        with self._lock:
            self._requests[operation] = self._requests.get(operation, 0) + 1

    def _give_back(self, consumed: Mapping[str, float]) -> None:
        for table, units in consumed.items():
            bucket = self._write_buckets.get(table)
            if bucket is not None:
                bucket.give_back(units)

    def _forward(self, environ: WSGIEnvironment, body: bytes) -> _Response:
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(body)
        inner["CONTENT_LENGTH"] = str(len(body))
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            captured[:] = [status, headers]
            return lambda data: None

        result = self._app(inner, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        return _Response(int(status.split(None, 1)[0]), list(headers), payload)

    def _control(self, environ: WSGIEnvironment) -> _Response:
        action = str(environ.get("PATH_INFO", ""))[len(CONTROL_PREFIX) :]
        method = str(environ.get("REQUEST_METHOD", "GET"))
        routes: dict[tuple[str, str], Callable[[Any], Any]] = {
            ("GET", "stats"): lambda _: self.stats(),
            ("GET", "settings"): lambda _: self._settings.to_json(),
            ("POST", "settings"): self._control_configure,
            ("POST", "reset"): self._control_reset,
            ("POST", "compare"): lambda request: self.store.compare(str(request["source"]), str(request["target"])),
            ("POST", "sqs-sink"): lambda request: self.sink(str(request["queue"]), clear=bool(request.get("clear"))),
        }
        route = routes.get((method, action))
        if route is None:
            return _plain_json(404, {"error": f"unknown control request {method} {action}"})
        try:
            return _plain_json(200, route(json.loads(_read_body(environ) or b"{}")))
        except (KeyError, ValueError, TypeError, DynamoDBError) as exc:
            return _plain_json(400, {"error": str(exc)})

    def _control_reset(self, _: Any) -> dict[str, Any]:
        self.reset_stats()
        return {}

    def _control_configure(self, document: Any) -> dict[str, Any]:
        self.configure(ModelSettings.from_json(document))
        return self._settings.to_json()


def _tables_of(request: Mapping[str, Any]) -> list[str]:
    tables = [str(request["TableName"])] if "TableName" in request else []
    tables.extend(str(table) for table in request.get("RequestItems", {}))
    for action in request.get("TransactItems", []):
        tables.extend(str(inner["TableName"]) for inner in action.values() if "TableName" in inner)
    return tables


def _entry_size(entry: Mapping[str, Any]) -> int:
    """DynamoDB size of a PutRequest's item (0 for a delete: charged the 1 WCU minimum); -1 if malformed."""
    put = entry.get("PutRequest")
    if put is None:
        return 0
    try:
        return wire_item_size(put["Item"])
    except (KeyError, ValueError, TypeError, AttributeError):
        return -1


def _known_size(size: int) -> int:
    if size < 0:
        raise validation_error("One or more parameter values were invalid: the item is not valid AttributeValue JSON")
    return size


def _projection(request: Mapping[str, Any]) -> list[str] | None:
    expression = request.get("ProjectionExpression")
    if expression is None:
        return None
    names = request.get("ExpressionAttributeNames", {})
    attributes = []
    for token in (part.strip() for part in str(expression).split(",")):
        if "." in token or "[" in token:
            raise validation_error(f"nested projection {token!r} is not supported on the model's in-memory tables")
        attributes.append(str(names[token]) if token.startswith("#") else token)
    return attributes


def _project(item: WireItem, projection: list[str] | None) -> WireItem:
    if projection is None:
        return item
    return {name: item[name] for name in projection if name in item}


def _read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _dynamodb_headers(body: bytes, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    # botocore checks x-amz-crc32 on DynamoDB responses, so every body written here carries its own.
    replaced = {"content-length", "x-amz-crc32", "content-type"}
    headers = [(name, value) for name, value in extra if name.lower() not in replaced]
    if not any(name.lower() == "x-amzn-requestid" for name, _ in headers):
        headers.append(("x-amzn-RequestId", uuid.uuid4().hex))
    return [
        *headers,
        ("Content-Type", JSON_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("x-amz-crc32", str(zlib.crc32(body))),
    ]


def _error(status: int, code: str, message: str) -> _Response:
    body = json.dumps({"__type": ERROR_TYPE_PREFIX + code, "message": message}).encode()
    return _Response(status, _dynamodb_headers(body), body)


def _throttled() -> _Response:
    return _error(400, THROUGHPUT_EXCEEDED, THROUGHPUT_EXCEEDED_MESSAGE)


def _json_response(original: _Response | None, document: Mapping[str, Any]) -> _Response:
    body = json.dumps(document, separators=(",", ":")).encode()
    return _Response(200, _dynamodb_headers(body, original.headers if original else ()), body)


def _plain_json(status: int, document: Any) -> _Response:
    body = json.dumps(document).encode()
    return _Response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)
