"""A DynamoDB latency, capacity and fault model: a WSGI middleware in front of moto's server app.

moto answers at once and never throttles, so code that has to cope with a slow, capacity-bound, occasionally
failing DynamoDB can neither be measured nor tested against it alone. :class:`DynamoDBModel` wraps moto's WSGI
app (same process, no extra HTTP hop) and makes DynamoDB behave like the real service where a migration cares:

- **latency**: each request waits ``uniform(*latency_ms)`` ms first. The server runs a thread per (keep-alive)
  connection, so concurrent requests wait concurrently, as over a network.
- **write capacity** per table: a token bucket refilled at ``units_per_second`` WCU, holding at most
  ``burst_seconds`` of them. A put costs ``ceil(size / 1 KB)`` WCU (size by ``migration_core``'s
  ``item_size``); a delete or update 1 WCU (the model does not look up the item it touches).
  ``BatchWriteItem`` applies the entries that fit and returns the others in ``UnprocessedItems``, or answers
  ``ProvisionedThroughputExceededException`` (HTTP 400) when none fits; ``PutItem``, ``DeleteItem`` and
  ``UpdateItem`` are throttled as a whole.
- **read capacity** per table (optional): ``Scan``/``Query``/``GetItem`` cost ``ceil(bytes / 4 KB)`` RCU, half
  for eventually consistent reads, charged when the response is known; a read arriving while the bucket is
  empty is throttled.
- **faults**, per data-plane request: ``server_error_rate`` of ``500 InternalServerError`` (the share
  ``server_error_after_apply_share`` of them after the request was applied), ``throttle_rate`` of throttles
  regardless of capacity, ``partial_batch_rate`` of batches that leave a random tail unprocessed.
- **in-memory items**: tables created under a ``memory_tables`` name keep their items in
  :class:`~devtools.faults.store.ItemStore` instead of moto, whose per-item CPU cost (about 1 ms per item
  written, 3.5 ms per item scanned in moto 5.2) would otherwise be what a benchmark measures.
- **SQS sink**: ``SendMessage``/``SendMessageBatch`` to a queue named like ``sqs_sink_queues`` are recorded (in
  order, FIFO-deduplicated) instead of queued in moto, whose SQS walks every queued message on each send.

Error bodies have DynamoDB's shape (``{"__type": "com.amazonaws.dynamodb.v20120810#...", "message": ...}``) so
botocore raises the same ``ClientError`` codes as against AWS. Not modelled: partitions (1,000 WCU / 3,000 RCU
each) and adaptive capacity, on-demand scaling, GSIs, transactions. Other services (SQS, ...) and DynamoDB's
control plane get the latency but never a fault.

Serve it with :class:`ModelServer` (a thread of this process) or :func:`model_server_process`
(``python -m devtools.faults``, a process of its own); ``/_ddbmodel/settings``, ``/_ddbmodel/stats``,
``/_ddbmodel/reset``, ``/_ddbmodel/compare`` and ``/_ddbmodel/sqs-sink`` reconfigure it, report per-table
statistics, compare two in-memory tables item by item and hand out what a sink queue received
(:class:`ModelControl`). The server speaks HTTP/1.1 with keep-alive, as AWS endpoints do, so a client pays no
TCP connect per request.
"""

from .capacity import TokenBucket, read_units, wire_item_size, write_units
from .model import ERROR_TYPE_PREFIX, THROUGHPUT_EXCEEDED, DynamoDBModel, TableStats
from .server import ModelControl, ModelServer, model_server_process, moto_app
from .settings import Capacity, ModelSettings
from .store import DynamoDBError, ItemStore

__all__ = [
    "ERROR_TYPE_PREFIX",
    "THROUGHPUT_EXCEEDED",
    "Capacity",
    "DynamoDBError",
    "DynamoDBModel",
    "ItemStore",
    "ModelControl",
    "ModelServer",
    "ModelSettings",
    "TableStats",
    "TokenBucket",
    "model_server_process",
    "moto_app",
    "read_units",
    "wire_item_size",
    "write_units",
]
