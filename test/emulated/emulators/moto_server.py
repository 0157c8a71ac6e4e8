"""moto_server with moto's per-request overheads removed; the emulated behaviour is unchanged.

Profiled with py-spy while the 5,000-version backfill test ran (see README, "Test timings"), the
source partition's moto spent most of its CPU in code whose cost grows with the queue, not in
emulating anything:

- SQS ReceiveMessage checks each message it hands out against the retention period by computing
  every queue attribute, which counts the queue's messages three times: each receive costs
  O(messages in the queue) for every message it returns, and `get_queue_attributes` computed the
  attributes once more per name asked for.
- S3 ListObjectVersions deep-copied every version of the bucket (body included, into a new
  temporary file) on every page, to set `IsLatest` on the copies.
- SQS SendMessage computed every queue attribute (three message counts among them) four times per
  message, to read ContentBasedDeduplication: filling a queue cost O(n²).
- Every visibility and delay check (per message, per scan) built two datetimes to read the clock.
- DynamoDB Query sorted the whole table to read one partition.
- Every request listed a response class's functions (inspect.getmembers) to find its action's.
- Every request listed and stat'ed moto's ~150 package folders, under a global lock, to route it.
- werkzeug logged every request to stderr through a locked handler.
- werkzeug answered HTTP/1.0, closing the connection after every response.

Each patch below computes the same value moto computes, only without the waste. Run it with the
arguments of moto_server (`-H HOST -p PORT`).
"""

import copy
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from moto import backends
from moto.core import responses as core_responses
from moto.core import utils as core_utils
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import table as dynamodb_table
from moto.s3 import models as s3_models
from moto.sqs import models as sqs_models
from werkzeug.serving import WSGIRequestHandler

_moto_unix_time = core_utils.unix_time
_moto_unix_time_millis = core_utils.unix_time_millis


def _unix_time(dt: Any = None) -> float:
    # moto computes `utcnow() - utcfromtimestamp(0)` in seconds: the current POSIX time.
    return time.time() if dt is None else _moto_unix_time(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else _moto_unix_time_millis(dt)


# SQS imported the clock functions by name; its module globals are what its methods call.
sqs_models.unix_time = _unix_time
sqs_models.unix_time_millis = _unix_time_millis


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    # moto reads the same attribute through get_queue_attributes, which computes them all.
    retention_period = self.get_queue(queue_name).message_retention_period
    return retention_period + message.sent_timestamp / 1000 > _unix_time()


sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period

_moto_get_queue_attributes = sqs_models.SQSBackend.get_queue_attributes


def _get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    if not attribute_names or "All" in attribute_names:
        # A plain dict, as moto's own `attributes` was (the response is serialised from it).
        return dict(_moto_get_queue_attributes(self, queue_name, attribute_names))
    # moto's own validation (an unknown name raises), then one computation of the attributes
    # instead of one per name asked for (and one more per name it finds).
    queue = self.get_queue(queue_name)
    valid = ["All"] + queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES + queue.KMS_ATTRIBUTES
    invalid = next((name for name in attribute_names if name not in valid), None)
    if invalid or invalid == "":
        raise sqs_models.InvalidAttributeName(invalid)
    attributes = queue.attributes
    return {name: attributes[name] for name in attribute_names if attributes.get(name) is not None}


sqs_models.SQSBackend.get_queue_attributes = _get_queue_attributes


class _QueueAttributes(Mapping):
    """A queue's attributes as moto's `Queue.attributes` builds them (same names, order and values),
    each computed when first read. moto builds the whole dict, three message counts included, for
    every `attributes.get("ContentBasedDeduplication")`: four times per message sent, so a send cost
    O(messages in the queue) and filling a FIFO queue with 50,000 messages cost O(n²)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        self._names = names
        self._values: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._names:
                raise KeyError(name)
            self._values[name] = self._compute(name)
        return self._values[name]

    def _compute(self, name: str) -> Any:
        queue = self._queue
        if name == "Policy" and queue.policy:
            value = queue.policy
        elif name == "RedrivePolicy" and queue.redrive_policy:
            value = json.dumps(queue.redrive_policy)
        else:
            value = getattr(queue, core_utils.camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


sqs_models.Queue.attributes = property(_QueueAttributes)  # type: ignore[assignment]


class _S3Copy:
    """`copy` as moto's S3 models see it. Their one `deepcopy` is ListObjectVersions' copy of each
    key's versions, which it only reads and marks `is_latest` on: a shallow clone of each version
    (its own attributes, the body shared, read-only) serves it without copying bodies."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        versions = (s3_models.FakeKey, s3_models.FakeDeleteMarker)
        if isinstance(value, list) and all(isinstance(version, versions) for version in value):
            return [_clone(version) for version in value]
        return copy.deepcopy(value, memo)


class ListedFakeKey(s3_models.FakeKey):
    """A listing's clone of a version. It shares the original's body, so unlike a FakeKey it must
    not close the body when it is collected."""

    __module__ = "moto.s3.models"  # moto registers its model classes by the module's service name

    def __del__(self) -> None:
        pass

    def dispose(self, garbage: bool = False) -> None:
        pass


def _clone(version: Any) -> Any:
    if isinstance(version, s3_models.FakeKey):
        if version._etag is None:
            # moto computes an ETag lazily from the body, without its lock: do it on the original,
            # under the lock, so the clone never reads the shared body for it.
            with version.lock:
                version.etag
        clone = object.__new__(ListedFakeKey)
    else:
        clone = object.__new__(type(version))
    clone.__dict__.update(version.__dict__)
    return clone


s3_models.copy = _S3Copy

# DynamoDB checks a write's condition and applies the write atomically; moto's threaded server does
# not: two concurrent conditional writes of one item (two replicators claiming a key) could both
# pass their check. One lock around moto's DynamoDB writes restores the guarantee the replicator's
# key claims rely on. (Not an overhead removed: a correctness fix of the emulator.)
_dynamodb_writes = threading.RLock()


def _atomic(write: Any) -> Any:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_writes:
            return write(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(dynamodb_models.DynamoDBBackend, _name, _atomic(getattr(dynamodb_models.DynamoDBBackend, _name)))

# SQS FIFO hands out none of a message group while one of its messages is in flight (received, not
# visible again), and then that one first. moto decides "in flight" from its set of pending
# messages, which goes stale: a message stays in it after it is visible again (its visibility
# timeout ended, or ChangeMessageVisibility to 0 read the clock twice within one tick of the float
# clock), and moto's receive then skips the group's first message as if the group were held,
# drops the later one from the set and hands that one out alone, ahead of the first (seen as a
# backfill version skipped as older than the live version behind it in the fault matrix, about once
# in 300 crash runs). Before each receive the set is made what it stands for: the messages received
# and not visible again. (Not an overhead removed: a correctness fix of the emulator.)
_moto_receive_message = sqs_models.SQSBackend.receive_message


def _receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    queue = self.get_queue(queue_name)
    if queue.fifo_queue:
        in_flight = {message for message in queue.pending_messages if not message.visible}
        queue.pending_messages.intersection_update(in_flight)
    return _moto_receive_message(self, queue_name, *args, **kwargs)


sqs_models.SQSBackend.receive_message = _receive_message


# SQS deletes a message atomically; moto's Queue.delete_message rebuilds the queue's message list
# from a snapshot without the lock its sends append under, so two DeleteMessage requests at once
# could put a deleted message back (in flight until the visibility timeout: the soak never drained)
# and a SendMessage at the same time could be dropped. The delete holds the queue's lock.
# (A correctness fix of the emulator, test/emulated/emulators/moto-sqs-deletes.test.ts.)
_moto_delete_message = sqs_models.Queue.delete_message


def _delete_message(self: Any, receipt_handle: str) -> None:
    with self._messages_lock:
        _moto_delete_message(self, receipt_handle)


sqs_models.Queue.delete_message = _delete_message

# moto looks up the action's method among the response class's functions with inspect.getmembers
# on every request; a class's functions do not change while the server runs.
_method_names: dict[type, frozenset[str]] = {}


def _method_names_from_class(clazz: type) -> frozenset[str]:
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = frozenset(core_utils.method_names_from_class(clazz))
    return names


core_responses.method_names_from_class = _method_names_from_class

# A Query on the table (no index) sorted every item of the table, by DynamoType comparisons in
# Python, to then keep the partition asked for: O(table) per page. It reads that partition only; the
# order and everything after (conditions, paging, filters) stay moto's. An index query is unchanged.
_query_partition = threading.local()
_moto_all_items = dynamodb_table.Table.all_items
_moto_query = dynamodb_table.Table.query


def _all_items(self: Any) -> Any:
    hash_key = getattr(_query_partition, "hash_key", None)
    if hash_key is None:
        return _moto_all_items(self)
    found = self.items.get(hash_key)
    items = [] if found is None else list(found.values()) if self.range_key_attr else [found]
    return sorted(
        (item for item in items if isinstance(item, dynamodb_table.Item)),
        key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key,
    )


def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    # scan_index_forward, projection_expressions, index_name=None, ...)
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _moto_query(self, hash_key, *args, **kwargs)
    _query_partition.hash_key = hash_key
    try:
        return _moto_query(self, hash_key, *args, **kwargs)
    finally:
        _query_partition.hash_key = None


dynamodb_table.Table.all_items = _all_items
dynamodb_table.Table.query = _query

# The installed backends do not change while the server runs: list the package folders once.
_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _moto_modules

# One log line per request, written under a lock, is the largest single cost after SQS; errors
# (werkzeug logs a failed request at ERROR) still reach stderr, which the test harness reports.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

# werkzeug answers HTTP/1.0 by default and closes the connection after every response, so each
# request paid a TCP connect (and, through the TLS proxy, a handshake). HTTP/1.1 keeps the SDK's
# keep-alive connections open, as AWS endpoints do.
WSGIRequestHandler.protocol_version = "HTTP/1.1"

if __name__ == "__main__":
    from moto.server import main

    main()
