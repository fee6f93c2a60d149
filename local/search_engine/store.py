"""Indices, aliases and documents: one tantivy index (in memory) per index, one writer per index
under its lock, versions and _source kept beside it.

Semantics kept from OpenSearch:
* versions: internal (``_version`` counts writes), ``external`` (a write needs a version greater
  than the stored one, else 409 ``version_conflict_engine_exception``), ``external_gte`` (greater or
  equal); a get by id is real-time (sees writes not yet refreshed), as in OpenSearch;
* searches see what the last refresh committed: ``_refresh``, ``?refresh=true|wait_for``, or the
  background refresh every ``refresh_interval`` seconds (OpenSearch's default is 1 s);
* aliases: ``_aliases`` actions are validated first and applied together under the cluster lock,
  so a reader resolves an alias either before or after the whole change.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tantivy

from local.search_engine import schema as schema_mod
from local.search_engine.errors import EngineError, illegal, index_not_found

WRITER_HEAP = 32_000_000  # bytes buffered per index before tantivy flushes a segment
# OpenSearch's index-name rules (MetadataCreateIndexService.validateIndexOrAliasName).
_BAD_NAME = re.compile(r'[\\/*?"<>| ,#:]')


@dataclass
class Record:
    doc_id: str
    seq: int  # the tantivy document it was written as (SEQ_FIELD)
    version: int
    seq_no: int
    source: dict[str, Any]
    keys: dict[str, list[Any]]  # sortable values per field (schema.IndexSchema.document)


@dataclass
class Index:
    name: str
    schema: schema_mod.IndexSchema
    uuid: str = field(default_factory=lambda: uuid.uuid4().hex[:22])
    created: int = field(default_factory=lambda: int(time.time() * 1000))
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.tantivy = tantivy.Index(self.schema.tantivy_schema)
        self.schema.register(self.tantivy)
        self._writer: Any = None
        self.records: dict[str, Record] = {}  # by id: the latest write (real-time)
        self.by_seq: dict[int, Record] = {}  # every record a searcher may still return
        self._superseded: list[tuple[float, int]] = []  # (when, seq) replaced or deleted
        self._next_seq = 0
        self._next_seq_no = 0
        self.dirty = False
        self.generation = 0  # bumps on every refresh: caches keyed on it (dsl.Vocabulary)
        self.vocab: dict[tuple[int, str], Any] = {}  # (generation, field) -> dsl.Vocabulary
        self.multi_valued: set[str] = set()  # fields some document holds several values of
        self.searcher = self.tantivy.searcher()
        self.snapshot: tuple[Any, int] = (self.searcher, self.generation)  # read as one (refresh)
        index_settings = self.schema.settings.get("index") or {}
        self.max_result_window = int(index_settings.get("max_result_window",
                                                        self.schema.settings.get("max_result_window", 10_000)))

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = self.tantivy.writer(WRITER_HEAP, 1)
        return self._writer

    # ------------------------------------------------------------------ writes
    def put(self, doc_id: str, source: Mapping[str, Any], version: int | None, version_type: str | None,
            op_type: str = "index") -> tuple[str, Record]:
        """Write one document; ("created" | "updated", record) or an EngineError (400/409)."""
        if not isinstance(source, Mapping):
            raise EngineError(400, "mapper_parsing_exception", "failed to parse: the document is not an object")
        with self.lock:
            current = self.records.get(doc_id)
            new_version = self._check_version(doc_id, current, version, version_type, op_type)
            seq = self._next_seq
            doc, keys = self.schema.document(doc_id, seq, source)  # raises 400 before any change
            self._next_seq += 1
            if current is not None:
                self.writer.delete_documents_by_term(schema_mod.ID_FIELD, doc_id)
                self._superseded.append((time.monotonic(), current.seq))
            self.writer.add_document(doc)
            record = Record(doc_id, seq, new_version, self._next_seq_no, dict(source), keys)
            self._next_seq_no += 1
            self.records[doc_id] = record
            self.by_seq[seq] = record
            self.multi_valued.update(f for f, values in keys.items() if len(values) > 1)
            self.dirty = True
            return ("updated" if current is not None else "created"), record

    def delete(self, doc_id: str, version: int | None, version_type: str | None) -> tuple[str, int, int]:
        with self.lock:
            current = self.records.get(doc_id)
            if current is None:
                if version is not None and version_type in ("external", "external_gte"):
                    return "not_found", version, self._bump_seq_no()
                return "not_found", 1, self._bump_seq_no()
            new_version = self._check_version(doc_id, current, version, version_type, "delete")
            self.writer.delete_documents_by_term(schema_mod.ID_FIELD, doc_id)
            self._superseded.append((time.monotonic(), current.seq))
            del self.records[doc_id]
            self.dirty = True
            return "deleted", new_version, self._bump_seq_no()

    def _bump_seq_no(self) -> int:
        self._next_seq_no += 1
        return self._next_seq_no - 1

    def _check_version(self, doc_id: str, current: Record | None, version: int | None, version_type: str | None,
                       op_type: str) -> int:
        if op_type == "create" and current is not None:
            raise self._conflict(doc_id, f"[{doc_id}]: version conflict, document already exists "
                                         f"(current version [{current.version}])")
        if version_type in (None, "internal"):
            if version is not None:
                raise illegal("internal versioning can not be used for optimistic concurrency control. "
                              "Please use `if_seq_no` and `if_primary_term` instead")
            return (current.version + 1) if current is not None else 1
        if version_type not in ("external", "external_gte"):
            raise illegal(f"No version type match [{version_type}]")
        if version is None:
            raise EngineError(400, "action_request_validation_exception",
                              f"Validation Failed: 1: an external version is required for [{version_type}];")
        if current is not None:
            stale = version <= current.version if version_type == "external" else version < current.version
            if stale:
                relation = "higher or equal to" if version_type == "external" else "higher than"
                raise self._conflict(doc_id, f"[{doc_id}]: version conflict, current version [{current.version}] "
                                             f"is {relation} the one provided [{version}]")
        return version

    def _conflict(self, doc_id: str, reason: str) -> EngineError:
        return EngineError(409, "version_conflict_engine_exception", reason, index=self.name, shard="0",
                           index_uuid=self.uuid)

    def refresh(self) -> bool:
        """Commit the buffered writes and open a new searcher on them (False: nothing to do)."""
        with self.lock:
            if not self.dirty:
                return False
            self.writer.commit()
            self.tantivy.reload()
            self.searcher = self.tantivy.searcher()
            self.generation += 1
            # One attribute, replaced whole: a search reads the searcher and its generation as a pair
            # (two reads could pair the old searcher with the new generation and cache the old
            # vocabulary under the new key until the next refresh).
            self.snapshot = (self.searcher, self.generation)
            self.dirty = False
            # A search that took the previous searcher a moment ago may still return a replaced
            # document's seq: keep its record a while after the refresh that hid it.
            cutoff = time.monotonic() - 60
            keep = []
            for when, seq in self._superseded:
                if when < cutoff:
                    self.by_seq.pop(seq, None)
                else:
                    keep.append((when, seq))
            self._superseded = keep
            return True

    def close(self) -> None:
        with self.lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer = None

    # ------------------------------------------------------------------ reads
    def get(self, doc_id: str) -> Record | None:
        return self.records.get(doc_id)

    def describe(self) -> dict[str, Any]:
        settings = dict(self.schema.settings)
        index_settings = dict(settings.pop("index", None) or {})
        index_settings.update({k: v for k, v in settings.items() if k != "analysis"})
        if "analysis" in settings:
            index_settings["analysis"] = settings["analysis"]
        index_settings.update({"number_of_shards": "1", "number_of_replicas": "0", "uuid": self.uuid,
                               "provided_name": self.name, "creation_date": str(self.created),
                               "version": {"created": "136327827"}})  # fmt: skip
        return {"aliases": {a: dict(p) for a, p in sorted(self.aliases.items())}, "mappings": self.schema.mappings,
                "settings": {"index": _stringify(index_settings)}}


def _stringify(value: Any) -> Any:
    # OpenSearch answers settings as strings ("max_result_window": "1000").
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


class Cluster:
    """Every index and alias; the lock makes index creation, deletion and alias changes atomic."""

    def __init__(self) -> None:
        self.indices: dict[str, Index] = {}
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ names
    def aliases(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for index in self.indices.values():
            for alias in index.aliases:
                out.setdefault(alias, []).append(index.name)
        return out

    def resolve(self, expression: str, *, allow_no_indices: bool = True, aliases: bool = True) -> list[Index]:
        """Comma-separated names, aliases and wildcards -> indices (OpenSearch's defaults:
        a concrete name that does not exist is a 404; a wildcard matching nothing is empty)."""
        with self.lock:
            names: list[str] = []
            alias_map = self.aliases() if aliases else {}
            for part in [p.strip() for p in expression.split(",") if p.strip()] or ["_all"]:
                if part in ("_all", "*"):
                    names += sorted(self.indices)
                elif "*" in part or "?" in part:
                    names += sorted(n for n in self.indices if fnmatch.fnmatchcase(n, part))
                    names += sorted(i for a, idx in alias_map.items() if fnmatch.fnmatchcase(a, part) for i in idx)
                elif part in self.indices:
                    names.append(part)
                elif part in alias_map:
                    names += sorted(alias_map[part])
                else:
                    raise index_not_found(part)
            if not names and not allow_no_indices:
                raise index_not_found(expression)
            return [self.indices[n] for n in dict.fromkeys(names)]

    def write_index(self, name: str) -> Index:
        """Where a write to ``name`` goes: the index, or the one index an alias points at."""
        with self.lock:
            if name in self.indices:
                return self.indices[name]
            targets = self.aliases().get(name)
            if not targets:
                raise EngineError(404, "index_not_found_exception",
                                  f"no such index [{name}] and [action.auto_create_index] is [false]",
                                  **{"resource.type": "index_expression", "resource.id": name, "index": name})
            writable = [t for t in targets if self.indices[t].aliases[name].get("is_write_index")]
            if len(targets) == 1 or len(writable) == 1:
                return self.indices[(writable or targets)[0]]
            raise illegal(f"no write index is defined for alias [{name}]. The write index may be explicitly "
                          "disabled using is_write_index=false or the alias points to multiple indices without "
                          "one being designated as a write index")

    # ------------------------------------------------------------------ indices
    def create(self, name: str, body: Mapping[str, Any]) -> Index:
        _validate_name(name)
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise EngineError(400, "parsing_exception", f"unknown key [{key}] for create index")
        built = schema_mod.build(body.get("settings") or {}, body.get("mappings") or {})
        with self.lock:
            if name in self.indices:
                existing = self.indices[name]
                raise EngineError(400, "resource_already_exists_exception",
                                  f"index [{name}/{existing.uuid}] already exists", index=name,
                                  index_uuid=existing.uuid)
            if name in self.aliases():
                raise EngineError(400, "invalid_index_name_exception",
                                  f"Invalid index name [{name}], already exists as alias", index=name)
            index = Index(name, built)
            for alias, props in (body.get("aliases") or {}).items():
                index.aliases[alias] = dict(props or {})
            self.indices[name] = index
            return index

    def delete(self, expression: str) -> None:
        with self.lock:
            for part in expression.split(","):
                if part in self.aliases() and part not in self.indices:
                    raise illegal(f"The provided expression [{part}] matches an alias, specify the corresponding "
                                  "concrete indices instead.")
            for index in self.resolve(expression, aliases=False):
                index.close()
                del self.indices[index.name]

    def update_aliases(self, actions: Iterable[Mapping[str, Any]]) -> None:
        """``POST /_aliases``: every action validated, then all applied at once."""
        with self.lock:
            plan: list[tuple[str, Index, str | None, dict[str, Any]]] = []
            for raw in actions:
                if not isinstance(raw, Mapping) or len(raw) != 1:
                    raise EngineError(400, "parsing_exception", "[aliases] an action must have exactly one key")
                (op, spec), = raw.items()
                if op not in ("add", "remove", "remove_index"):
                    raise EngineError(400, "parsing_exception", f"Unknown action [{op}]")
                index_names = _names(spec, "index", "indices")
                alias_names = _names(spec, "alias", "aliases") if op != "remove_index" else [None]
                extra = set(spec) - {"index", "indices", "alias", "aliases", "is_write_index", "must_exist"}
                if extra:
                    raise unsupported_action(op, extra)
                if not index_names:
                    raise EngineError(400, "action_request_validation_exception",
                                      "Validation Failed: 1: One of [index] or [indices] is required;")
                if not alias_names:
                    raise EngineError(400, "action_request_validation_exception",
                                      "Validation Failed: 1: One of [alias] or [aliases] is required;")
                for index in self.resolve(",".join(index_names), allow_no_indices=False, aliases=False):
                    for alias in alias_names:
                        if op == "add":
                            assert alias is not None
                            _validate_name(alias)
                            if alias in self.indices:
                                raise EngineError(400, "invalid_alias_name_exception",
                                                  f"Invalid alias name [{alias}]: an index or data stream exists "
                                                  "with the same name as the alias")
                            props = {"is_write_index": spec["is_write_index"]} if "is_write_index" in spec else {}
                            plan.append((op, index, alias, props))
                        elif op == "remove":
                            assert alias is not None
                            matched = [a for a in index.aliases if fnmatch.fnmatchcase(a, alias)]
                            if not matched and spec.get("must_exist", True) is not False:
                                raise EngineError(404, "aliases_not_found_exception", f"aliases [{alias}] missing",
                                                  **{"resource.type": "aliases", "resource.id": alias})
                            plan += [(op, index, a, {}) for a in matched]
                        else:
                            plan.append((op, index, None, {}))
            for op, index, alias, props in plan:
                if op == "add":
                    assert alias is not None
                    index.aliases[alias] = props
                elif op == "remove":
                    index.aliases.pop(alias or "", None)
                else:
                    index.close()
                    self.indices.pop(index.name, None)

    def refresh_all(self) -> int:
        return sum(index.refresh() for index in list(self.indices.values()))


def unsupported_action(op: str, extra: set[str]) -> EngineError:
    from local.search_engine.errors import unsupported

    return unsupported(f"alias action [{op}] parameter(s) {sorted(extra)}")


def _names(spec: Mapping[str, Any], one: str, many: str) -> list[Any]:
    out: list[Any] = []
    if one in spec:
        out.append(spec[one])
    if many in spec:
        value = spec[many]
        out += value if isinstance(value, list) else [value]
    return out


def _validate_name(name: str) -> None:
    if not name or name != name.lower() or name.startswith(("_", "-", "+")) or _BAD_NAME.search(name) \
            or name in (".", ".."):
        raise EngineError(400, "invalid_index_name_exception",
                          f"Invalid index name [{name}], must be lowercase, must not start with '_', '-' or '+', "
                          "must not contain '\\', '/', '*', '?', '\"', '<', '>', '|', ' ', ',', '#', ':'",
                          index=name)
