"""A zero-latency DynamoDB for botocore clients: canned responses handed over at ``before-send``.

botocore still validates and serializes every request and parses every response, so what remains is the
client-side CPU cost of a code path, with no network, no server and no sleeping. The source table is a list of
pre-serialized 1 MB Scan pages; writes are acknowledged with a constant body and only counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from migration_core.attribute_values import item_size, item_to_json
from migration_core.types import Item

from .common import KEY_SCHEMA, REGION

SCAN_PAGE_BYTES = 1024 * 1024
_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}


class _Body:
    """The ``raw`` of an AWSResponse: botocore reads it through ``stream()``."""

    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


class CannedDynamoDB:
    """Answers Scan from fixed pages of ``items``, BatchWriteItem with success, UpdateItem with ``{}``."""

    def __init__(self, items: Sequence[Item], target_table: str = "target") -> None:
        self.pages: list[bytes] = []
        self._page_after: dict[str, int] = {}
        self._target_table = target_table
        self._lock = threading.Lock()
        self.items_written = 0
        self.requests: dict[str, int] = {}
        self._paginate(items)
        self._write_ok = json.dumps(
            {"UnprocessedItems": {}, "ConsumedCapacity": [{"TableName": target_table, "CapacityUnits": 25.0}]}
        ).encode()

    def _paginate(self, items: Sequence[Item]) -> None:
        page: list[Item] = []
        size = 0
        chunks: list[list[Item]] = []
        for item in items:
            item_bytes = item_size(item)
            if page and size + item_bytes > SCAN_PAGE_BYTES:
                chunks.append(page)
                page, size = [], 0
            page.append(item)
            size += item_bytes
        if page:
            chunks.append(page)
        for index, chunk in enumerate(chunks):
            document: dict[str, Any] = {
                "Items": [item_to_json(item) for item in chunk],
                "Count": len(chunk),
                "ScannedCount": len(chunk),
                "ConsumedCapacity": {"TableName": "source", "CapacityUnits": 128.0},
            }
            if index + 1 < len(chunks):
                last_key = {name: item_to_json(chunk[-1])[name] for name in KEY_SCHEMA}
                document["LastEvaluatedKey"] = last_key
                self._page_after[_key_text(last_key)] = index + 1
            self.pages.append(json.dumps(document).encode())

    def client(self, config: Config | None = None) -> Any:
        """A low-level DynamoDB client whose every call this object answers."""
        client = boto3.session.Session().client(
            "dynamodb",
            region_name=REGION,
            endpoint_url="http://canned.invalid",
            aws_access_key_id="canned",
            aws_secret_access_key="canned",  # noqa: S106 - never leaves the process
            config=config,
        )
        # botocore skips the HTTP request when a before-send handler returns a response; the stubs do not
        # know about the return value, hence Any.
        handler: Any = self._answer
        client.meta.events.register("before-send.dynamodb", handler)
        return client

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        with self._lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1
        if operation == "Scan":
            payload = self.pages[self._page_for(body)]
        elif operation == "BatchWriteItem":
            # Counting markers is enough to check that every item reached the transport, and keeps the
            # fake's own cost (which lands in both measured variants) far below botocore's.
            written = body.count(b'"PutRequest"')
            with self._lock:
                self.items_written += written
            payload = self._write_ok
        elif operation == "UpdateItem":
            payload = b'{"Attributes": {}}'
        else:
            raise NotImplementedError(f"the canned DynamoDB does not answer {operation}")
        headers: Any = _HEADERS
        return AWSResponse(request.url, 200, headers, _Body(payload))

    def _page_for(self, body: bytes) -> int:
        start_key = json.loads(body).get("ExclusiveStartKey")
        return 0 if start_key is None else self._page_after[_key_text(start_key)]


def _key_text(key: Mapping[str, Any]) -> str:
    return json.dumps({name: key[name] for name in KEY_SCHEMA}, sort_keys=True)
