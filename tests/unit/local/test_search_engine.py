"""local.search_engine: OpenSearch's REST shapes and semantics for the subset the search service
uses (indices, mapping, versions, aliases, refresh, bulk), and its refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.search_engine import SearchEngineServer, serve

FOLDED = {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
BODY: dict[str, Any] = {
    "settings": {"index": {"max_result_window": 100}, "analysis": {
        "analyzer": {"folded": FOLDED},
        "normalizer": {"folded_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}}}},
    "mappings": {"dynamic": "strict", "properties": {
        "title": {"type": "text", "analyzer": "folded", "fields": {
            "exact": {"type": "keyword", "normalizer": "folded_keyword", "ignore_above": 256}}},
        "cast": {"type": "text", "analyzer": "folded"},
        "genres": {"type": "keyword"},
        "year": {"type": "integer"},
        "popularity": {"type": "float"}}},
}  # fmt: skip


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def __call__(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        data = None
        if isinstance(body, list):  # NDJSON (_bulk)
            data = "".join(json.dumps(line) + "\n" for line in body)
        elif body is not None:
            data = json.dumps(body)
        r = self.http.request(method, self.url + path, data=data, params=params,
                              headers={"content-type": "application/json"}, timeout=10)
        return r.status_code, (r.json() if r.content else None)

    def index(self, name: str = "t1", docs: dict[str, dict[str, Any]] | None = None) -> None:
        assert self("PUT", f"/{name}", BODY)[0] == 200
        for doc_id, doc in (docs or {}).items():
            assert self("PUT", f"/{name}/_doc/{doc_id}", doc)[0] == 201
        self("POST", f"/{name}/_refresh")

    def titles(self, query: dict[str, Any], index: str = "t1", **extra: Any) -> list[str]:
        status, body = self("POST", f"/{index}/_search", {"query": query, **extra})
        assert status == 200, body
        return [h["_source"]["title"] for h in body["hits"]["hits"]]


@pytest.fixture
def server() -> Iterator[SearchEngineServer]:
    srv = serve(refresh_interval=0)  # refreshes only when asked: visibility is under test
    yield srv
    srv.close()


@pytest.fixture
def api(server: SearchEngineServer) -> Api:
    return Api(server.url)


def _error(body: dict[str, Any]) -> str:
    assert body["error"]["root_cause"][0]["type"] == body["error"]["type"]
    return str(body["error"]["type"])


# --- cluster, indices, mapping -----------------------------------------------------------------


def test_info_health_and_an_unserved_endpoint(api: Api) -> None:
    status, info = api("GET", "/")
    assert status == 200 and info["version"]["distribution"] == "opensearch"
    assert api("HEAD", "/")[0] == 200
    assert api("GET", "/_cluster/health")[1]["status"] == "green"
    status, body = api("POST", "/t1/_update_by_query", {})
    assert status == 400 and _error(body) == "illegal_argument_exception" and body["status"] == 400


def test_index_lifecycle_and_its_errors(api: Api) -> None:
    api.index("titles-1")
    status, body = api("PUT", "/titles-1", BODY)
    assert status == 400 and _error(body) == "resource_already_exists_exception"
    assert _error(api("PUT", "/Bad", BODY)[1]) == "invalid_index_name_exception"
    status, body = api("PUT", "/t2", {"mappings": {"properties": {"when": {"type": "date"}}}})
    assert status == 400 and "not supported" in body["error"]["reason"]
    assert list(api("GET", "/titles-*")[1]) == ["titles-1"]
    assert api("GET", "/nothing-*") == (200, {})
    status, body = api("GET", "/missing")
    assert status == 404 and _error(body) == "index_not_found_exception"
    described = api("GET", "/titles-1")[1]["titles-1"]
    assert described["mappings"]["dynamic"] == "strict" and described["settings"]["index"]["max_result_window"] == "100"
    assert api("HEAD", "/titles-1")[0] == 200
    assert api("DELETE", "/titles-1") == (200, {"acknowledged": True})
    assert api("HEAD", "/titles-1")[0] == 404
    assert _error(api("DELETE", "/titles-1")[1]) == "index_not_found_exception"


def test_strict_mapping_refuses_unknown_fields_and_bad_values(api: Api) -> None:
    api.index()
    status, body = api("PUT", "/t1/_doc/a", {"title": "Heat", "director": "Mann"})
    assert status == 400 and _error(body) == "strict_dynamic_mapping_exception"
    assert "[director]" in body["error"]["reason"]
    status, body = api("PUT", "/t1/_doc/a", {"title": "Heat", "year": "nineteen"})
    assert status == 400 and _error(body) == "mapper_parsing_exception"
    assert api("PUT", "/t1/_doc/a", {"title": "Heat", "year": "1995"})[0] == 201  # coerced, as OpenSearch does
    assert api("GET", "/t1/_doc/b")[0] == 404


# --- versions, refresh, bulk -------------------------------------------------------------------


def test_external_versions_conflict_with_409_on_equal_or_older(api: Api) -> None:
    api.index()
    assert api("PUT", "/t1/_doc/a", {"title": "Heat"}, version=3, version_type="external")[0] == 201
    for stale in (3, 2):
        status, body = api("PUT", "/t1/_doc/a", {"title": "Old"}, version=stale, version_type="external")
        assert status == 409 and _error(body) == "version_conflict_engine_exception"
    status, body = api("PUT", "/t1/_doc/a", {"title": "Heat 2"}, version=4, version_type="external")
    assert status == 200 and body["result"] == "updated" and body["_version"] == 4
    doc = api("GET", "/t1/_doc/a")[1]  # real-time: before any refresh
    assert doc["found"] and doc["_version"] == 4 and doc["_source"]["title"] == "Heat 2"


def test_internal_versions_count_writes(api: Api) -> None:
    api.index()
    assert api("PUT", "/t1/_doc/a", {"title": "Heat"})[1]["_version"] == 1
    assert api("PUT", "/t1/_doc/a", {"title": "Heat"})[1]["_version"] == 2


def test_searches_see_writes_after_a_refresh_only(api: Api) -> None:
    api.index()
    api("PUT", "/t1/_doc/a", {"title": "Heat"})
    assert api.titles({"match": {"title": "heat"}}) == []
    api("POST", "/t1/_refresh")
    assert api.titles({"match": {"title": "heat"}}) == ["Heat"]
    api("PUT", "/t1/_doc/b", {"title": "Heat Wave"}, refresh="true")
    assert sorted(api.titles({"match": {"title": "heat"}})) == ["Heat", "Heat Wave"]


def test_bulk_reports_each_item_with_409_for_stale_versions(api: Api) -> None:
    api.index()
    lines: list[Any] = []
    for doc_id, version, title in (("a", 2, "Heat"), ("b", 1, "Ronin"), ("a", 1, "Stale"), ("c", 1, None)):
        lines.append({"index": {"_index": "t1", "_id": doc_id, "version": version, "version_type": "external"}})
        lines.append({"title": title, "rating": 1} if title is None else {"title": title})
    status, body = api("POST", "/_bulk", lines, refresh="true")
    assert status == 200 and body["errors"] is True
    statuses = [item["index"]["status"] for item in body["items"]]
    assert statuses == [201, 201, 409, 400]
    assert body["items"][2]["index"]["error"]["type"] == "version_conflict_engine_exception"
    assert body["items"][3]["index"]["error"]["type"] == "strict_dynamic_mapping_exception"
    assert sorted(api.titles({"match_all": {}})) == ["Heat", "Ronin"]
    status, body = api("POST", "/_bulk", [{"index": {"_index": "nope", "_id": "x"}}, {"title": "x"}])
    assert body["items"][0]["index"]["status"] == 404  # no auto-create: an explicit refusal


# --- aliases -----------------------------------------------------------------------------------


def test_alias_swap_is_atomic_and_a_failing_action_applies_nothing(api: Api) -> None:
    api.index("titles-1", {"a": {"title": "Old Index"}})
    api.index("titles-2", {"a": {"title": "New Index"}})
    api("POST", "/_aliases", {"actions": [{"add": {"index": "titles-1", "alias": "titles"}}]})
    status, body = api("POST", "/_aliases", {"actions": [
        {"remove": {"index": "titles-1", "alias": "titles"}}, {"add": {"index": "missing", "alias": "titles"}}]})
    assert status == 404 and _error(body) == "index_not_found_exception"
    assert api("GET", "/_alias/titles")[1] == {"titles-1": {"aliases": {"titles": {}}}}  # unchanged
    swap = [{"remove": {"index": "titles-1", "alias": "titles"}}, {"add": {"index": "titles-2", "alias": "titles"}}]
    assert api("POST", "/_aliases", {"actions": swap})[0] == 200
    assert api("GET", "/_alias/titles")[1] == {"titles-2": {"aliases": {"titles": {}}}}
    assert api.titles({"match_all": {}}, index="titles") == ["New Index"]
    status, body = api("GET", "/_alias/nothing")
    assert status == 404 and body["error"] == "alias [nothing] missing"  # OpenSearch's own shape here
    api("POST", "/_aliases", {"actions": [{"remove_index": {"index": "titles-1"}}]})
    assert api("HEAD", "/titles-1")[0] == 404


def test_a_write_through_an_alias_of_two_indices_is_refused(api: Api) -> None:
    api.index("a1")
    api.index("a2")
    api("POST", "/_aliases", {"actions": [{"add": {"index": "a1", "alias": "both"}},
                                          {"add": {"index": "a2", "alias": "both"}}]})
    status, body = api("PUT", "/both/_doc/x", {"title": "x"})
    assert status == 400 and "no write index" in body["error"]["reason"]
    status, body = api("POST", "/both/_search", {})
    assert status == 400 and "not supported" in body["error"]["reason"]  # never a silent half answer


# --- text analysis, fuzziness, ranking ---------------------------------------------------------


WORDS = {"ab": "Ab", "story": "Story", "stork": "Stork", "amelie": "Amélie", "wonder": "Wonderland",
         "gardens": "Gardens"}  # fmt: skip


@pytest.fixture
def words(api: Api) -> Api:
    api.index("t1", {k: {"title": v, "popularity": 1.0} for k, v in WORDS.items()})
    return api


def _fuzzy(api: Api, text: str, prefix_length: int = 0) -> list[str]:
    return sorted(api.titles({"match": {"title": {"query": text, "fuzziness": "AUTO",
                                                  "prefix_length": prefix_length}}}))


def test_folding_finds_accented_titles_both_ways(words: Api) -> None:
    assert words.titles({"match": {"title": "amelie"}}) == ["Amélie"]
    assert words.titles({"match": {"title": "AMÉLIE"}}) == ["Amélie"]
    assert words.titles({"term": {"title.exact": "AMELIE"}}) == ["Amélie"]  # the normalizer applies to terms


def test_auto_fuzziness_edges(words: Api) -> None:
    assert _fuzzy(words, "ac") == []  # 2 chars: exact only
    assert _fuzzy(words, "ab") == ["Ab"]
    assert _fuzzy(words, "stor") == ["Stork", "Story"]  # 4 chars: 1 edit
    assert _fuzzy(words, "stxrx") == []  # 5 chars: 2 edits is too many
    assert _fuzzy(words, "stroy") == ["Story"]  # a transposition is one edit
    assert _fuzzy(words, "gadrens") == ["Gardens"]  # 7 chars: 2 edits allowed (a transposition counts 1)
    assert _fuzzy(words, "gxrdxns") == ["Gardens"]
    assert _fuzzy(words, "gxrdxnx") == []  # 3 edits


def test_prefix_length_keeps_the_first_letters_exact(words: Api) -> None:
    assert _fuzzy(words, "xtory") == ["Story"]
    assert _fuzzy(words, "xtory", prefix_length=1) == []
    assert _fuzzy(words, "sotry", prefix_length=1) == ["Story"]


def test_an_exact_word_outranks_its_fuzzy_neighbour(words: Api) -> None:
    # Lucene blends the variants' document frequencies: the rarer "stork" must not win "story".
    assert words.titles({"match": {"title": {"query": "story", "fuzziness": "AUTO"}}})[0] == "Story"


def test_exact_beats_prefix_beats_fuzzy_with_the_service_shape(api: Api) -> None:
    api.index("t1", {"1": {"title": "Toy Story"}, "2": {"title": "Toy Story 2"}, "3": {"title": "Tay Story Land"}})
    query = {"bool": {"should": [
        {"term": {"title.exact": {"value": "toy story", "boost": 40}}},
        {"prefix": {"title.exact": {"value": "toy story", "boost": 12}}},
        {"multi_match": {"query": "toy story", "fields": ["title^4"], "fuzziness": "AUTO", "operator": "and"}}],
        "minimum_should_match": 1}}  # fmt: skip
    assert api.titles(query) == ["Toy Story", "Toy Story 2", "Tay Story Land"]


def test_best_fields_takes_the_best_field_not_the_sum(api: Api) -> None:
    api.index("t1", {"both": {"title": "Hanks", "cast": ["Hanks", "Ryan"]}, "other": {"title": "Big"}})

    def score(fields: list[str], mtype: str = "best_fields") -> float:
        body = {"query": {"multi_match": {"query": "hanks", "fields": fields, "type": mtype}}}
        return float(api("POST", "/t1/_search", body)[1]["hits"]["hits"][0]["_score"])

    title, cast = score(["title"]), score(["cast"])
    assert title != pytest.approx(cast)
    assert score(["title", "cast"]) == pytest.approx(max(title, cast))  # dis_max, tie_breaker 0
    assert score(["title", "cast"], "most_fields") == pytest.approx(title + cast)
    assert score(["title^3", "cast"]) == pytest.approx(max(3 * title, cast))


# --- sort, paging, aggregations, highlight -----------------------------------------------------


def test_ties_order_by_popularity_then_title_even_when_thousands_tie(api: Api) -> None:
    api.index()
    docs = [(f"Title {i:04d}", float(i % 7)) for i in range(2500)]
    lines: list[Any] = []
    for i, (title, pop) in enumerate(docs):
        lines += [{"index": {"_index": "t1", "_id": str(i)}}, {"title": title, "popularity": pop}]
    assert api("POST", "/_bulk", lines, refresh="true")[1]["errors"] is False
    expected = [t for t, _ in sorted(docs, key=lambda d: (-d[1], d[0].lower()))]
    sort = ["_score", {"popularity": {"order": "desc"}}, {"title.exact": {"order": "asc"}}]
    query = {"constant_score": {"filter": {"prefix": {"title": "title"}}}}
    assert api.titles(query, sort=sort, size=10) == expected[:10]
    assert api.titles(query, sort=sort, size=10, **{"from": 30}) == expected[30:40]
    status, body = api("POST", "/t1/_search", {"query": query, "from": 95, "size": 10})
    assert status == 400 and "Result window is too large" in body["error"]["reason"]


def test_aggregations_count_what_the_query_keeps_and_must_not_drops(api: Api) -> None:
    api.index("t1", {"1": {"title": "A", "genres": ["Comedy", "Drama"], "year": 1995},
                     "2": {"title": "B", "genres": ["Comedy"], "year": 1999},
                     "3": {"title": "C", "genres": ["Horror"], "year": 2004},
                     "4": {"title": "D", "genres": ["Comedy"], "year": 1971}})
    body = {"query": {"bool": {"must_not": [{"range": {"year": {"lt": 1980}}}]}},
            "aggs": {"g": {"terms": {"field": "genres", "size": 2}},
                     "d": {"histogram": {"field": "year", "interval": 10, "min_doc_count": 1}}}}
    aggs = api("POST", "/t1/_search", body)[1]["aggregations"]
    assert aggs["g"]["buckets"] == [{"key": "Comedy", "doc_count": 2}, {"key": "Drama", "doc_count": 1}]
    assert aggs["g"]["sum_other_doc_count"] == 1
    assert aggs["d"]["buckets"] == [{"key": 1990.0, "doc_count": 2}, {"key": 2000.0, "doc_count": 1}]
    status, err = api("POST", "/t1/_search", {"aggs": {"x": {"terms": {"field": "title"}}}})
    assert status == 400 and "Text fields are not optimised" in err["error"]["reason"]


def test_highlight_wraps_matched_terms_in_the_given_tags(api: Api) -> None:
    api.index("t1", {"1": {"title": "Amélie of Montmartre", "cast": ["Audrey Tautou", "Mathieu Kassovitz"]}})
    body = {"query": {"bool": {"should": [{"match": {"title": {"query": "amelei", "fuzziness": "AUTO"}}},
                                          {"match": {"cast": "audrey"}}]}},
            "highlight": {"pre_tags": ["<b>"], "post_tags": ["</b>"],
                          "fields": {"title": {"number_of_fragments": 0}, "cast": {"number_of_fragments": 0}}}}
    hit = api("POST", "/t1/_search", body)[1]["hits"]["hits"][0]
    assert hit["highlight"] == {"title": ["<b>Amélie</b> of Montmartre"], "cast": ["<b>Audrey</b> Tautou"]}


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "kind"), [
    ({"query": {"fuzzy": {"title": "x"}}}, "illegal_argument_exception"),
    ({"query": {"no_such_query": {}}}, "parsing_exception"),
    ({"query": {"match": {"title": {"query": "x", "cutoff_frequency": 1}}}}, "parsing_exception"),
    ({"query": {"multi_match": {"query": "x", "fields": ["title"], "type": "cross_fields"}}},
     "illegal_argument_exception"),
    ({"sort": [{"title": "asc"}]}, "illegal_argument_exception"),
    ({"search_after": [1]}, "illegal_argument_exception"),
    ({"querry": {}}, "parsing_exception"),
])  # fmt: skip
def test_unsupported_or_invalid_dsl_is_a_400(api: Api, body: dict[str, Any], kind: str) -> None:
    api.index()
    status, answer = api("POST", "/t1/_search", body)
    assert status == 400 and _error(answer) == kind


def test_a_missing_index_is_a_404_with_the_index_named(api: Api) -> None:
    status, body = api("POST", "/nope/_search", {})
    assert status == 404 and _error(body) == "index_not_found_exception" and body["error"]["index"] == "nope"


def test_the_engine_process_exits_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    engine = subprocess.Popen([sys.executable, "-m", "local.search_engine", "--port", "0", "--parent-pid",
                               str(parent.pid)], stdout=subprocess.PIPE, cwd=os.getcwd())
    try:
        assert engine.stdout is not None and engine.stdout.readline().startswith(b"listening on http://")
        assert engine.poll() is None
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while engine.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.poll() is not None
    finally:
        for proc in (engine, parent):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"match": {"title": {"query": "toy", "fuzziness": "AUTO", "max_expansions": "x"}}}, 400),
        ({"match": {"title": {"query": "toy", "fuzziness": "AUTO", "max_expansions": 0}}}, 400),
        ({"match": {"title": {"query": "toy", "fuzziness": "AUTO", "prefix_length": -3}}}, 400),
        ({"match_phrase": {"title": {"query": "toy story", "slop": 10**12}}}, 400),
        ({"match_phrase": {"title": {"query": "toy story", "slop": -1}}}, 400),
        ({"match": {"title": {"query": "toy", "fuzziness": "AUTO", "max_expansions": 10**6}}}, 200),  # capped
        ({"prefix": {"title.exact": "t" * 2000}}, 200),  # longer than ignore_above: matches nothing
    ],
)
def test_out_of_range_options_are_400_as_in_opensearch(words: Api, query: dict[str, Any], status: int) -> None:
    """Values OpenSearch refuses are refused here too (a Tuning of 0 must not pass locally and fail in
    AWS), and nothing a client sends is a 500."""
    got, body = words("POST", "/t1/_search", {"query": query})
    assert got == status, body
    if status == 400:
        assert _error(body) in ("parsing_exception", "illegal_argument_exception")
