"""Cache-aware DynamoDB access: DAX for reads when ``DAX_ENDPOINT`` is set, boto3 otherwise.

``table(name)`` returns a ``CacheAwareTable`` exposing the boto3 ``Table`` resource methods.

* Eventually consistent reads (``get_item``, ``query``, ``scan``, ``batch_get``) go through DAX
  (``amazondax.AmazonDaxClient.resource(endpoint_url=DAX_ENDPOINT)``) when configured.
* Strongly consistent reads (``ConsistentRead=True``) go straight to DynamoDB: DAX would only pass
  them through, and it cannot serve read-your-writes after a transaction (below).
* Writes (``put_item``, ``update_item``, ``delete_item``, ``batch_writer``) and transactions
  (``transact_write``) always use the plain boto3 client/resource, so DynamoDB alone decides
  conditions and atomicity. Consequence: DAX's item and query caches may serve data up to their TTL
  old after a write; callers that need read-your-writes pass ``ConsistentRead=True``.

boto3 honours ``AWS_ENDPOINT_URL`` itself (the local cloud); the only endpoint passed from code is
DAX's. Clients are created lazily and cached per process (Lambda warm starts reuse them).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Short timeouts and standard retries: a Lambda behind an API must fail fast, not hang for 60 s.
_BOTO_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 4, "mode": "standard"},
    max_pool_connections=20,
)


def dax_endpoint() -> str | None:
    return os.environ.get("DAX_ENDPOINT", "").strip() or None


def client() -> Any:
    """The plain boto3 DynamoDB client (writes, transactions)."""
    with _lock:
        if "client" not in _clients:
            _clients["client"] = boto3.client("dynamodb", config=_BOTO_CONFIG)
        return _clients["client"]


def _resource() -> Any:
    with _lock:
        if "resource" not in _clients:
            _clients["resource"] = boto3.resource("dynamodb", config=_BOTO_CONFIG)
        return _clients["resource"]


def _dax_resource(endpoint: str) -> Any:
    key = f"dax:{endpoint}"
    with _lock:
        if key not in _clients:
            # Imported lazily: the DAX client costs cold-start time and is unused without DAX.
            from amazondax import AmazonDaxClient  # type: ignore[import-not-found,import-untyped]

            _clients[key] = AmazonDaxClient.resource(endpoint_url=endpoint)
        return _clients[key]


def _low_level_reader() -> Any:
    """The client eventually consistent reads use: DAX's (cached per process) when configured."""
    endpoint = dax_endpoint()
    return client() if endpoint is None else _dax_resource(endpoint).meta.client


BATCH_GET_ATTEMPTS = 4
BATCH_GET_BACKOFF_S = 0.025


class UnprocessedKeysLeft(RuntimeError):
    """DynamoDB kept throttling a BatchGetItem past its retries."""


def batch_get(request_items: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One eventually consistent BatchGetItem across tables (through DAX when configured: DAX serves
    it from its item cache), ``request_items`` as the API takes them but with plain-Python keys
    (``{"table": {"Keys": [{"pk": ..., "sk": ...}], ...}}``; up to 100 keys, DynamoDB's limit).
    Unprocessed keys (throttling) are asked again after an exponential, jittered back-off, at most
    ``BATCH_GET_ATTEMPTS`` times in all; then ``UnprocessedKeysLeft`` is raised (the caller falls
    back or answers 503), never a partial answer. Returns the found items per table, deserialized;
    a key not found is simply absent."""
    request: dict[str, Any] = {
        name: {**dict(spec), "Keys": [serialize(k) for k in spec["Keys"]]} for name, spec in request_items.items()
    }
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in request_items}
    reader = _low_level_reader()
    for attempt in range(BATCH_GET_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, BATCH_GET_BACKOFF_S * 2 ** (attempt - 1)))  # noqa: S311 -- jitter
        answer = reader.batch_get_item(RequestItems=request)
        for name, raws in answer.get("Responses", {}).items():
            found.setdefault(name, []).extend(deserialize(raw) for raw in raws)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise UnprocessedKeysLeft(f"{sum(len(v.get('Keys', [])) for v in request.values())} keys still unprocessed")


def reset() -> None:
    """Forget cached clients (tests switch credentials/endpoints between cases)."""
    with _lock:
        _clients.clear()


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values (for ``transact_write`` items)."""
    return {k: _serializer.serialize(v) for k, v in item.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class CacheAwareTable:
    """A boto3 ``Table`` look-alike that routes reads to DAX and writes to DynamoDB."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.table_name = name
        self._writer = _resource().Table(name)
        endpoint = dax_endpoint()
        self._cached_reader = _dax_resource(endpoint).Table(name) if endpoint else self._writer
        self.uses_dax = endpoint is not None

    def _reader(self, kwargs: Mapping[str, Any]) -> Any:
        return self._writer if kwargs.get("ConsistentRead") else self._cached_reader

    # reads
    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._reader(kwargs).get_item(**kwargs)  # type: ignore[no-any-return]

    def query(self, **kwargs: Any) -> dict[str, Any]:
        return self._reader(kwargs).query(**kwargs)  # type: ignore[no-any-return]

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        return self._reader(kwargs).scan(**kwargs)  # type: ignore[no-any-return]

    def query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        """``query`` following ``LastEvaluatedKey`` until the end."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.query(**kwargs)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": last}

    # writes
    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._writer.put_item(**kwargs)  # type: ignore[no-any-return]

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._writer.update_item(**kwargs)  # type: ignore[no-any-return]

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._writer.delete_item(**kwargs)  # type: ignore[no-any-return]

    def batch_writer(self, **kwargs: Any) -> Any:
        return self._writer.batch_writer(**kwargs)

    def transact_write(self, items: Sequence[Mapping[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """``TransactWriteItems`` through the boto3 client.

        ``items`` use plain Python values: each is ``{"Put"|"Update"|"Delete"|"ConditionCheck": {...}}``
        where ``Item``/``Key``/``ExpressionAttributeValues`` are serialized here and ``TableName``
        defaults to this table.
        """
        wire = []
        for entry in items:
            ((op, spec),) = entry.items()
            spec = dict(spec)
            spec.setdefault("TableName", self.name)
            for field_name in ("Item", "Key", "ExpressionAttributeValues"):
                if field_name in spec:
                    spec[field_name] = serialize(spec[field_name])
            wire.append({op: spec})
        return client().transact_write_items(TransactItems=wire, **kwargs)  # type: ignore[no-any-return]


def table(name: str) -> CacheAwareTable:
    """The cache-aware table ``name`` (reads via DAX when ``DAX_ENDPOINT`` is set)."""
    return CacheAwareTable(name)


def is_conditional_check_failure(error: Exception) -> bool:
    """True for a failed ConditionExpression, whether from a single write or a transaction."""
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = response.get("CancellationReasons") or []
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return False


def cancellation_codes(error: Exception) -> list[str]:
    """Per-item cancellation codes of a ``TransactionCanceledException`` ("None" for items that passed)."""
    response = getattr(error, "response", None) or {}
    return [str(r.get("Code", "None")) for r in response.get("CancellationReasons") or []]
