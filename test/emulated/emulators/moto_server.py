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
- DynamoDB serialized every item answer attribute value by attribute value along botocore's shapes.
- SQS DeleteMessage, and a FIFO SendMessage with a deduplication id, scanned every message of the
  queue (listing each one's receipt handles) to find one: O(n) per message.
- SQS ReceiveMessage listed every visible message of the queue, reading the clock twice for each,
  to hand out the first few.
- Every request listed a response class's functions (inspect.getmembers) to find its action's.
- Every request listed and stat'ed moto's ~150 package folders, under a global lock, to route it.
- werkzeug logged every request to stderr through a locked handler.
- werkzeug closed the connection after every response, having first waited up to 10 ms for more of
  the request body: each request paid a TCP connect and that wait (half of a GetItem's 3.4 ms).

Each patch below computes the same value moto computes, only without the waste. Run it with the
arguments of moto_server (`-H HOST -p PORT`).
"""

import copy
import io
import json
import logging
import math
import selectors
import threading
import time
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

from moto import backends, settings
from moto.core import responses as core_responses
from moto.core import utils as core_utils
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models import table as dynamodb_table
from moto.s3 import models as s3_models
from moto.sqs import models as sqs_models
from werkzeug import serving as werkzeug_serving
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
        if receipt_handle not in self.deleted_messages and _delete_received(self, receipt_handle):
            return
        _moto_delete_message(self, receipt_handle)


sqs_models.Queue.delete_message = _delete_message

# moto finds a message by receipt handle, and a FIFO send's earlier message by deduplication id, by
# scanning every message of the queue (building a list of each one's handles): O(messages in the
# queue) per delete and per send, 50 % of moto's CPU while 50,000 versions were enqueued. Two
# indexes find the same message; what moto then does with it is unchanged, and whatever the indexes
# cannot vouch for (a message moved to a dead-letter queue or purged) goes to moto's own scan.
_message_by_receipt_handle: dict[str, Any] = {}
_moto_mark_received = sqs_models.Message.mark_received
_moto_add_message = sqs_models.Queue.add_message


def _mark_received(self: Any, *args: Any, **kwargs: Any) -> None:
    _moto_mark_received(self, *args, **kwargs)
    _message_by_receipt_handle[self.receipt_handle] = self


def _delete_received(queue: Any, receipt_handle: str) -> bool:
    """moto's delete of the one message that had `receipt_handle` (receipt handles are unique), when
    the index knows it and it is in this queue's messages; False leaves the delete to moto."""
    message = _message_by_receipt_handle.get(receipt_handle)
    # A string, not the queue: moto deep-copies each message it hands out.
    if message is None or getattr(message, "_added_to", None) != queue.queue_arn:
        return False
    # moto replaces the list rather than change it: receives iterate it without the lock.
    messages = list(queue._messages)
    try:
        messages.remove(message)
    except ValueError:
        return False
    queue._messages = messages
    queue.pending_messages.discard(message)
    handles = message.all_receipt_handles
    queue.deleted_messages.update(handles)
    for handle in handles:
        _message_by_receipt_handle.pop(handle, None)
    return True


def _add_message(self: Any, message: Any) -> None:
    deduplicated = self.fifo_queue and (
        self.attributes.get("ContentBasedDeduplication") == "true" or message.deduplication_id
    )
    message._added_to = self.queue_arn
    if not deduplicated:
        return _moto_add_message(self, message)
    by_id = self.__dict__.setdefault("_messages_by_deduplication_id", {})
    with self._messages_lock:
        # The messages of this id still in the queue: moto deduplicates against those only.
        earlier = [m for m in by_id.get(message.deduplication_id, ()) if m in self._messages]
        by_id[message.deduplication_id] = [*earlier, message]
        if not self.lambda_event_source_mappings:
            # moto's test (sent within the deduplication interval of an earlier message), then the
            # rest of its add_message for a queue without a Lambda event source mapping.
            if any((message.sent_timestamp - m.sent_timestamp) / 1000 < sqs_models.DEDUPLICATION_TIME_IN_SECONDS for m in earlier):
                return None
            self._messages.append(message)
            self._messages_lock.notify_all()
            return None
    return _moto_add_message(self, message)


sqs_models.Message.mark_received = _mark_received
sqs_models.Queue.add_message = _add_message


class _VisibleMessages:
    """moto's `Queue.messages`, the messages visible and not delayed, read as they are needed with
    one reading of the clock. moto listed them all (reading the clock twice per message) for every
    ReceiveMessage, which then takes the first few: O(messages in the queue) per receive. Its three
    uses are served: a receive iterates it (and stops at its count), a long poll tests it, the
    ApproximateNumberOfMessages attribute counts it."""

    def __init__(self, queue: Any) -> None:
        # The list as it is now: a delete replaces it, as moto's did with its own list.
        self._messages = queue._messages
        self._now = _unix_time_millis()

    def __iter__(self) -> Iterator[Any]:
        now = self._now
        return (m for m in self._messages if now > m.visible_at and not now < m.delayed_until)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


sqs_models.Queue.messages = property(_VisibleMessages)  # type: ignore[assignment]

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

# moto serializes a DynamoDB answer by walking botocore's shape of the operation's output, one
# attribute value at a time in Python: about half of moto's CPU while a backfill's report read its
# outcomes back (Query pages of items). An item answer of plain strings, numbers and lists is the
# JSON of the same dict; anything else (binary, timestamps, a value the walk would convert, a
# top-level key the output shape does not have) still goes through moto's serializer, and so do the
# headers. (test/emulated/emulators/moto-dynamodb-answers.test.ts)
_ITEM_ANSWERS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"})
_moto_dynamo_execute_result = dynamodb_responses.DynamoResult.execute_result


def _dynamo_execute_result(self: Any, context: Any) -> Any:
    operation = context.operation_model
    result = self.result
    if not (
        operation.name in _ITEM_ANSWERS
        and isinstance(result, dict)
        and all(key in operation.output_shape.members for key in result)
        and _plain_json(result)
    ):
        return _moto_dynamo_execute_result(self, context)
    # The status and headers moto gives this operation's answer; the body is the dict's JSON.
    status, headers, _ = _moto_dynamo_execute_result(dynamodb_responses.DynamoResult({}), context)
    return status, headers, json.dumps(result, indent=4 if settings.PRETTIFY_RESPONSES else None)


def _plain_json(value: Any) -> bool:
    """Whether moto's serializer would write `value` unchanged: no binary (moto base64-encodes it),
    no number where an attribute value holds a string, no None (moto leaves it out)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("B", "BS"):
                return False
            if key in ("S", "N") and not isinstance(item, str):
                return False
            if key in ("SS", "NS") and not (isinstance(item, list) and all(isinstance(member, str) for member in item)):
                return False
            if item is None or not _plain_json(item):
                return False
        return True
    if isinstance(value, list):
        return all(item is not None and _plain_json(item) for item in value)
    return isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))


dynamodb_responses.DynamoResult.execute_result = _dynamo_execute_result

# The installed backends do not change while the server runs: list the package folders once.
_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _moto_modules

# One log line per request, written under a lock, is the largest single cost after SQS; errors
# (werkzeug logs a failed request at ERROR) still reach stderr, which the test harness reports.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

# werkzeug closes the connection after every response ("Connection: close", HTTP/1.1 or not), and
# before that waits up to 10 ms for the client to send anything more, to drain a request body the
# application left unread: each request paid a TCP connect and that wait (and, through the TLS
# proxy, a handshake). AWS endpoints keep connections open, and the SDK reuses them. Here the body
# is read whole before moto sees the request, so the connection is at the next request when the
# response is sent: nothing to drain, and the connection stays open unless the client closes it.
WSGIRequestHandler.protocol_version = "HTTP/1.1"
# A response is written as headers, then body: on an open connection Nagle's algorithm would hold
# the body until the client's delayed ACK of the headers (40 ms a request).
WSGIRequestHandler.disable_nagle_algorithm = True
_werkzeug_make_environ = WSGIRequestHandler.make_environ
_werkzeug_send_header = WSGIRequestHandler.send_header


def _make_environ(self: Any) -> Any:
    environ = _werkzeug_make_environ(self)
    if environ.get("wsgi.input_terminated"):
        # A chunked body: werkzeug's decoder reads it to its last chunk.
        body = environ["wsgi.input"].read()
    else:
        # A buffered reader: it returns the length asked for, short only at the end of the stream.
        body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def _send_header(self: Any, keyword: str, value: str) -> None:
    # werkzeug's own "Connection: close" is left out; a client's asking to close still closes.
    if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
        return
    _werkzeug_send_header(self, keyword, value)


class _NothingToDrain:
    """The selector werkzeug waits on, up to 10 ms, for a request body left unread: there is none
    (`_make_environ`), and on an open connection what comes next is the client's next request."""

    def register(self, *args: Any) -> None:
        pass

    def select(self, timeout: Any = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


WSGIRequestHandler.make_environ = _make_environ
WSGIRequestHandler.send_header = _send_header
werkzeug_serving.selectors = SimpleNamespace(DefaultSelector=_NothingToDrain, EVENT_READ=selectors.EVENT_READ)

if __name__ == "__main__":
    from moto.server import main

    main()
