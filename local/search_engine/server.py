"""The REST API: the subset of OpenSearch's that the search service, its tests and its bench use,
with OpenSearch's paths, status codes and response shapes. Anything else is answered with
OpenSearch's error shape (400), never silently.

Served: ``GET|HEAD /``, ``GET /_cluster/health``; indices: ``PUT|HEAD|GET|DELETE /{index}``
(wildcards and comma lists for GET/DELETE), ``GET /{index}/_mapping|_settings``,
``POST /_refresh``, ``POST /{index}/_refresh``; aliases: ``POST /_aliases``,
``GET|HEAD /_alias[/{name}]``, ``GET|HEAD /{index}/_alias[/{name}]``,
``PUT|POST|DELETE /{index}/_alias/{name}``; documents: ``PUT|POST /{index}/_doc/{id}``,
``POST /{index}/_doc``, ``PUT|POST /{index}/_create/{id}``, ``GET|HEAD|DELETE /{index}/_doc/{id}``
(``version``, ``version_type``, ``op_type``, ``refresh``), ``POST [/{index}]/_bulk`` (index,
create, delete); search: ``GET|POST [/{index}]/_search``, ``GET|POST [/{index}]/_count``.
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.edge.http_server import EdgeHandler
from local.search_engine import searching
from local.search_engine.errors import EngineError, illegal, parsing, unsupported
from local.search_engine.store import Cluster, Index

log = logging.getLogger("reelstack.search_engine")

VERSION = {"distribution": "opensearch", "number": "2.19.0", "build_type": "local", "lucene_version": "9.12.1",
           "minimum_wire_compatibility_version": "7.10.0", "minimum_index_compatibility_version": "7.0.0"}  # fmt: skip
CLUSTER_UUID = uuid.uuid4().hex[:22]
Reply = tuple[int, Any]  # (status, JSON body | None for a bodiless HEAD answer)


def _json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise parsing(f"Failed to parse the request body as JSON: {exc}") from None


def _object(body: bytes) -> dict[str, Any]:
    value = _json(body)
    if not isinstance(value, dict):
        raise parsing("request body is required to be a JSON object")
    return value


def _refresh_param(params: Mapping[str, str]) -> bool:
    value = params.get("refresh")
    if value is None or value == "false":
        return False
    if value in ("", "true", "wait_for"):
        return True
    raise illegal(f"Unknown value for refresh: [{value}].")


def _version_params(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    raw = params.get("version")
    try:
        version = int(raw) if raw is not None else None
    except ValueError:
        raise illegal(f"Failed to parse version [{raw}]") from None
    if version is not None and version < 0:
        raise EngineError(400, "action_request_validation_exception",
                          "Validation Failed: 1: illegal version value [{version}] for version type;")
    return version, params.get("version_type")


class Engine:
    """The cluster plus its REST routing and the near-real-time refresh loop."""

    def __init__(self, refresh_interval: float = 1.0) -> None:
        self.cluster = Cluster()
        self.refresh_interval = refresh_interval
        self._stop = threading.Event()
        if refresh_interval > 0:
            threading.Thread(target=self._refresh_loop, daemon=True, name="search-engine-refresh").start()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_interval):
            try:
                if self.cluster.refresh_all():
                    _settle_gc()
            except Exception:  # never let the loop die: the next round retries
                log.exception("background refresh failed")

    def close(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ routing
    def handle(self, method: str, target: str, body: bytes) -> Reply:
        split = urlsplit(target)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        parts = [unquote(p) for p in split.path.split("/") if p]
        try:
            return self._route(method, parts, params, body)
        except EngineError as exc:
            return exc.status, exc.body()

    def _route(self, method: str, parts: list[str], params: dict[str, str], body: bytes) -> Reply:
        n = len(parts)
        head = parts[0] if parts else ""
        if n == 0:
            if method in ("GET", "HEAD"):
                return 200, self._info()
        elif head == "_cluster" and n >= 2 and parts[1] == "health" and method == "GET":
            return 200, self._health()
        elif head == "_refresh" and n == 1 and method in ("POST", "GET"):
            return self._refresh("_all")
        elif head == "_bulk" and n == 1 and method in ("POST", "PUT"):
            return self._bulk(None, params, body)
        elif head == "_search" and n == 1 and method in ("GET", "POST"):
            return self._search("_all", params, body)
        elif head == "_count" and n == 1 and method in ("GET", "POST"):
            return self._count("_all", body)
        elif head == "_aliases" and n == 1 and method == "POST":
            actions = _object(body).get("actions")
            if not isinstance(actions, list):
                raise parsing("[aliases] requires an [actions] array")
            self.cluster.update_aliases(actions)
            return 200, {"acknowledged": True}
        elif head in ("_alias", "_aliases") and n <= 2 and method in ("GET", "HEAD"):
            return self._get_aliases(None, parts[1] if n == 2 else None, method)
        elif head.startswith("_"):
            pass  # an API this engine does not serve
        elif n == 1:
            return self._index_api(method, head, params, body)
        else:
            action = parts[1]
            if action == "_refresh" and n == 2 and method in ("POST", "GET"):
                return self._refresh(head)
            if action == "_bulk" and n == 2 and method in ("POST", "PUT"):
                return self._bulk(head, params, body)
            if action == "_search" and n == 2 and method in ("GET", "POST"):
                return self._search(head, params, body)
            if action == "_count" and n == 2 and method in ("GET", "POST"):
                return self._count(head, body)
            if action in ("_mapping", "_mappings") and n == 2 and method == "GET":
                return 200, {i.name: {"mappings": i.schema.mappings} for i in self.cluster.resolve(head)}
            if action == "_settings" and n == 2 and method == "GET":
                return 200, {i.name: {"settings": i.describe()["settings"]} for i in self.cluster.resolve(head)}
            if action in ("_alias", "_aliases") and n <= 3:
                return self._index_alias(method, head, parts[2] if n == 3 else None)
            if action in ("_doc", "_create") and n <= 3:
                return self._doc(method, head, action, parts[2] if n == 3 else None, params, body)
        raise illegal(f"no handler found for uri [/{'/'.join(parts)}] and method [{method}] "
                      "(not served by the local search engine)")

    # ------------------------------------------------------------------ cluster
    @staticmethod
    def _info() -> dict[str, Any]:
        return {"name": "reelstack-local", "cluster_name": "reelstack-local", "cluster_uuid": CLUSTER_UUID,
                "version": VERSION, "tagline": "The OpenSearch Project: https://opensearch.org/"}

    def _health(self) -> dict[str, Any]:
        count = len(self.cluster.indices)
        return {"cluster_name": "reelstack-local", "status": "green", "timed_out": False, "number_of_nodes": 1,
                "number_of_data_nodes": 1, "active_primary_shards": count, "active_shards": count,
                "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0,
                "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
                "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0}

    def _refresh(self, expression: str) -> Reply:
        indices = self.cluster.resolve(expression)
        if sum(index.refresh() for index in indices):
            _settle_gc()
        n = len(indices)
        return 200, {"_shards": {"total": n, "successful": n, "failed": 0}}

    # ------------------------------------------------------------------ indices
    def _index_api(self, method: str, name: str, params: dict[str, str], body: bytes) -> Reply:
        if method == "PUT":
            index = self.cluster.create(name, _object(body))
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": index.name}
        if method == "HEAD":
            try:
                found = self.cluster.resolve(name, allow_no_indices=False)
            except EngineError:
                return 404, None
            return (200 if found else 404), None
        if method == "GET":
            return 200, {i.name: i.describe() for i in self.cluster.resolve(name)}
        if method == "DELETE":
            self.cluster.delete(name)
            return 200, {"acknowledged": True}
        raise illegal(f"Incorrect HTTP method for uri [/{name}] and method [{method}], allowed: [HEAD, DELETE, PUT, "
                      "GET]")

    def _get_aliases(self, expression: str | None, alias: str | None, method: str) -> Reply:
        indices = self.cluster.resolve(expression or "_all")
        names = alias.split(",") if alias and alias not in ("_all", "*") else None
        out: dict[str, Any] = {}
        missing = set(names or [])
        for index in indices:
            matched = {a: dict(p) for a, p in index.aliases.items()
                       if names is None or any(_matches(a, pattern) for pattern in names)}
            for a in matched:
                missing.discard(a)
                missing -= {p for p in (names or []) if _matches(a, p)}
            if matched or names is None:
                out[index.name] = {"aliases": matched}
        if method == "HEAD":
            return (200 if out and not missing else 404), None
        if missing and names is not None:
            # OpenSearch's own shape for this one: a string error plus whatever did match.
            listed = ",".join(sorted(missing))
            return 404, {"error": f"alias [{listed}] missing", "status": 404, **out}
        return 200, out

    def _index_alias(self, method: str, expression: str, alias: str | None) -> Reply:
        if method in ("GET", "HEAD"):
            return self._get_aliases(expression, alias, method)
        if alias is None:
            raise illegal(f"no handler found for uri [/{expression}/_alias] and method [{method}]")
        if method in ("PUT", "POST"):
            self.cluster.update_aliases([{"add": {"index": expression, "alias": alias}}])
        elif method == "DELETE":
            self.cluster.update_aliases([{"remove": {"index": expression, "alias": alias}}])
        else:
            raise illegal(f"Incorrect HTTP method [{method}] for an alias")
        return 200, {"acknowledged": True}

    # ------------------------------------------------------------------ documents
    def _write_result(self, index: Index, result: str, doc_id: str, version: int, seq_no: int) -> dict[str, Any]:
        return {"_index": index.name, "_id": doc_id, "_version": version, "result": result,
                "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": seq_no, "_primary_term": 1}

    def _doc(self, method: str, target: str, action: str, doc_id: str | None, params: dict[str, str],
             body: bytes) -> Reply:
        if method in ("GET", "HEAD") and action == "_doc" and doc_id is not None:
            index = self.cluster.write_index(target) if target not in self.cluster.indices else \
                self.cluster.indices[target]
            record = index.get(doc_id)
            if record is None:
                return 404, (None if method == "HEAD" else {"_index": index.name, "_id": doc_id, "found": False})
            if method == "HEAD":
                return 200, None
            return 200, {"_index": index.name, "_id": doc_id, "_version": record.version, "_seq_no": record.seq_no,
                         "_primary_term": 1, "found": True, "_source": record.source}
        if method == "DELETE" and action == "_doc" and doc_id is not None:
            index = self.cluster.write_index(target)
            version, version_type = _version_params(params)
            result, new_version, seq_no = index.delete(doc_id, version, version_type)
            if _refresh_param(params):
                index.refresh()
            return (200 if result == "deleted" else 404), self._write_result(index, result, doc_id, new_version,
                                                                             seq_no)
        if method in ("PUT", "POST"):
            if doc_id is None:
                if action == "_create" or method == "PUT":
                    raise illegal(f"no handler found for uri [/{target}/{action}] and method [{method}]")
                doc_id = uuid.uuid4().hex[:20]
            index = self.cluster.write_index(target)
            version, version_type = _version_params(params)
            op_type = "create" if action == "_create" or params.get("op_type") == "create" else "index"
            result, record = index.put(doc_id, _object(body), version, version_type, op_type)
            if _refresh_param(params):
                index.refresh()
            return (201 if result == "created" else 200), self._write_result(index, result, doc_id, record.version,
                                                                             record.seq_no)
        raise illegal(f"Incorrect HTTP method [{method}] for a document")

    def _bulk(self, default_index: str | None, params: dict[str, str], body: bytes) -> Reply:
        started = time.perf_counter()
        lines = [line for line in body.split(b"\n") if line.strip()]
        items: list[dict[str, Any]] = []
        touched: dict[str, Index] = {}
        i = 0
        while i < len(lines):
            action_line = _json(lines[i])
            i += 1
            if not isinstance(action_line, dict) or len(action_line) != 1:
                raise illegal(f"Malformed action/metadata line [{i}], expected a simple value for field [_index]")
            (op, meta), = action_line.items()
            if op not in ("index", "create", "delete", "update"):
                raise illegal(f"Malformed action/metadata line [{i}], expected field [create], [delete], [index] or "
                              f"[update] but found [{op}]")
            source: Any = None
            if op != "delete":
                if i >= len(lines):
                    raise illegal("The bulk request must be terminated by a newline [\\n]")
                source = _json(lines[i])
                i += 1
            name = meta.get("_index", default_index)
            doc_id = meta.get("_id")
            entry: dict[str, Any] = {"_index": name, "_id": doc_id}
            try:
                if name is None:
                    raise EngineError(400, "action_request_validation_exception",
                                      "Validation Failed: 1: index is missing;")
                if op == "update":
                    raise unsupported("the bulk update action")
                extra = set(meta) - {"_index", "_id", "version", "version_type", "routing"}
                if extra:
                    raise unsupported(f"bulk metadata {sorted(extra)}")
                index = self.cluster.write_index(name)
                entry["_index"] = index.name
                version = meta.get("version")
                version_type = meta.get("version_type")
                if op == "delete":
                    if doc_id is None:
                        raise EngineError(400, "action_request_validation_exception",
                                          "Validation Failed: 1: id is missing;")
                    result, new_version, seq_no = index.delete(str(doc_id), version, version_type)
                    entry.update(self._write_result(index, result, str(doc_id), new_version, seq_no))
                    entry["status"] = 200 if result == "deleted" else 404
                else:
                    doc_id = str(doc_id) if doc_id is not None else uuid.uuid4().hex[:20]
                    result, record = index.put(doc_id, source, version, version_type, op)
                    entry.update(self._write_result(index, result, doc_id, record.version, record.seq_no))
                    entry["status"] = 201 if result == "created" else 200
                touched[index.name] = index
            except EngineError as exc:
                entry["status"] = exc.status
                entry["error"] = {**exc.cause(), **({"index": name} if name else {})}
            items.append({op: entry})
        if _refresh_param(params):
            for index in touched.values():
                index.refresh()
        return 200, {"took": int((time.perf_counter() - started) * 1000),
                     "errors": any("error" in next(iter(it.values())) for it in items), "items": items}

    # ------------------------------------------------------------------ search
    def _one_index(self, expression: str) -> Index | None:
        indices = self.cluster.resolve(expression)
        if len(indices) > 1:
            raise unsupported("searching more than one index at once")
        return indices[0] if indices else None

    def _search(self, expression: str, params: dict[str, str], body: bytes) -> Reply:
        index = self._one_index(expression)
        request = _object(body)
        if index is None:
            return 200, searching.empty_result()
        return 200, searching.search(index, request, params)

    def _count(self, expression: str, body: bytes) -> Reply:
        index = self._one_index(expression)
        n = searching.count(index, _object(body)) if index is not None else 0
        return 200, {"count": n, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}


def _settle_gc() -> None:
    """Move everything alive to the collector's permanent generation. The stored documents are
    millions of long-lived objects: without this every full collection walked them all (a
    50k-title index: bulk indexing 3x slower, and 50-150 ms pauses in the middle of searches)."""
    gc.collect(1)
    gc.freeze()


def _matches(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


# ---------------------------------------------------------------------- HTTP
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of clients must not overflow http.server's backlog of 5


def _handler(engine: Engine) -> type[EdgeHandler]:
    class Handler(EdgeHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("search engine %s", fmt % args)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (malformed request line, headers too long), in OpenSearch's shape.
            self.close_connection = True
            self.request_version = "HTTP/1.1"
            err = EngineError(code, "illegal_argument_exception", message or HTTPStatus(code).phrase)
            self._reply(code, err.body())

        def _handle(self) -> None:
            try:
                length = int(self.headers.get("content-length") or 0)
            except ValueError:
                self.send_error(400, "malformed Content-Length")
                return
            body = self.rfile.read(length) if length > 0 else b""
            try:
                status, payload = engine.handle(self.command, self.path, body)
            except Exception as exc:  # a bug here must still answer in the engine's error shape
                log.exception("search engine failure on %s %s", self.command, self.path)
                status, payload = 500, EngineError(500, "exception", f"{type(exc).__name__}: {exc}").body()
            self._reply(status, payload)

        def _reply(self, status: int, payload: Any) -> None:
            data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=UTF-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


class SearchEngineServer:
    """The engine on host:port, served from daemon threads (``port=0``: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, refresh_interval: float = 1.0) -> None:
        self.engine = Engine(refresh_interval)
        self.httpd = _Server((host, port), _handler(self.engine))
        self.httpd.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.host, self.port = host, int(self.httpd.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True,
                                        name="search-engine-http")

    def start(self) -> SearchEngineServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.engine.close()
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(host: str = "127.0.0.1", port: int = 0, refresh_interval: float = 1.0) -> SearchEngineServer:
    return SearchEngineServer(host, port, refresh_interval).start()

