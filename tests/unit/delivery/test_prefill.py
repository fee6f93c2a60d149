"""delivery.logic.prefill with its real adapters: signed GETs over HTTP to a stand-in CDN that
checks the grant, and the ledger in (moto) DynamoDB."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from delivery.dal.cdn_http import CdnHttp
from delivery.dal.dynamo_ledger import DynamoPrefillLedger
from delivery.logic.prefill import PrefillPolicy, master_keys, prefill_title
from delivery.models.errors import BadEvent, PrefillDenied, PrefillIncomplete
from delivery.models.events import TitlePublished
from delivery.models.prefill import ClaimOutcome

from tests.unit.delivery.conftest import TIERS, FakeCdnServer, published_event, title_objects

POLICY = PrefillPolicy(prefill_seconds=300, hot_seconds=60, base_copies=1, max_copies=3, lease_s=600)


def _detail(title_id: str = "T1", version: int = 1, **kw: Any) -> TitlePublished:
    return TitlePublished.model_validate(published_event(title_id, version, **kw)["detail"])


def _cdn(signer: Any, title_id: str = "T1", **kw: Any) -> CdnHttp:
    return CdnHttp(signer, f"titles/{title_id}/", backoff_s=0.0, **kw)


def _run(signer: Any, ledger_table: Any, detail: TitlePublished, **kw: Any) -> Any:
    return prefill_title(detail, _cdn(signer, detail.title_id), DynamoPrefillLedger(ledger_table), POLICY, **kw)


def test_fills_playlists_init_and_the_first_five_minutes(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=320)
    result = _run(signer, ledger_table, _detail())
    fetched = Counter(cdn_server.fetched())
    assert cdn_server.refusals == []
    assert max(fetched.values()) == 1, "each object is fetched once"
    keys = set(fetched)
    # 4 masters (title + 3 tiers), 5 media playlists, 5 inits, 75 segments (0..296 s) x 5 renditions.
    assert sum(k.endswith("master.m3u8") for k in keys) == 4
    assert sum(k.endswith("playlist.m3u8") for k in keys) == 5
    assert sum(k.endswith("init.mp4") for k in keys) == 5
    segments = [k for k in keys if k.endswith(".m4s")]
    assert len(segments) == 75 * 5
    assert max(int(k[-9:-4]) for k in segments) == 74  # seg_00074 starts at 296 s; 300 s+ not fetched
    assert result.outcome is ClaimOutcome.CLAIMED and result.filled == 4 + 5 + 5 + 375
    assert result.renditions == 5 and result.missing == []
    assert set(TIERS) == {k.split("/")[-2] for k in keys if k.endswith("init.mp4")}


def test_copies_more_for_what_every_session_fetches(cdn_server: FakeCdnServer, signer: Any, ledger_table: Any) -> None:
    cdn_server.objects = title_objects("T1", duration_s=80)
    _run(signer, ledger_table, _detail())
    copies = {key: header for key, header in cdn_server.requests}
    assert copies["titles/T1/hls/master.m3u8"] == "2"
    assert copies["titles/T1/hls/cap2160/cap1080/cap720/720p/init.mp4"] == "2"
    assert copies["titles/T1/hls/cap2160/cap1080/cap720/720p/seg_00000.m4s"] == "2"  # starts at 0 s
    assert copies["titles/T1/hls/cap2160/cap1080/cap720/720p/seg_00014.m4s"] == "2"  # 56 s
    assert copies["titles/T1/hls/cap2160/cap1080/cap720/720p/seg_00015.m4s"] == "1"  # 60 s


def test_expected_popularity_moves_the_whole_title(cdn_server: FakeCdnServer, signer: Any, ledger_table: Any) -> None:
    cdn_server.objects = title_objects("T1", duration_s=20)  # all of it in the first minute
    _run(signer, ledger_table, _detail(expected_popularity="high"))
    assert {h for _, h in cdn_server.requests} == {"3"}
    cdn_server.objects |= title_objects("T2", duration_s=80)
    cdn_server.requests.clear()
    _run(signer, ledger_table, _detail("T2", expected_popularity="low"))
    assert {h for _, h in cdn_server.requests} == {"1"}


def test_redelivered_event_fills_nothing(cdn_server: FakeCdnServer, signer: Any, ledger_table: Any) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    assert _run(signer, ledger_table, _detail()).outcome is ClaimOutcome.CLAIMED
    first = len(cdn_server.requests)
    again = _run(signer, ledger_table, _detail())
    assert again.outcome is ClaimOutcome.DONE and again.filled == 0
    assert len(cdn_server.requests) == first
    # An older version than the one filled is ignored too.
    assert _run(signer, ledger_table, _detail(version=0)).outcome is ClaimOutcome.DONE
    assert len(cdn_server.requests) == first


def test_a_new_version_with_the_same_segments_refreshes_playlists_only(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    _run(signer, ledger_table, _detail(version=1))
    cdn_server.requests.clear()
    result = _run(signer, ledger_table, _detail(version=2))  # e.g. a metadata edit re-announced
    assert result.outcome is ClaimOutcome.CLAIMED and result.media_unchanged
    assert cdn_server.fetched() and all(k.endswith(".m3u8") for k in cdn_server.fetched())
    # A re-transcode that changed the output (here: longer) fetches its segments again.
    cdn_server.objects = title_objects("T1", duration_s=60)
    cdn_server.requests.clear()
    result = _run(signer, ledger_table, _detail(version=3))
    assert not result.media_unchanged
    assert sum(k.endswith(".m4s") for k in cdn_server.fetched()) == 15 * 5


def test_a_failed_newer_attempt_keeps_what_the_last_fill_covered(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    _run(signer, ledger_table, _detail(version=1))
    cdn_server.fail["titles/T1/hls/master.m3u8"] = [503] * 3
    with pytest.raises(PrefillIncomplete):
        _run(signer, ledger_table, _detail(version=2))
    cdn_server.requests.clear()
    assert _run(signer, ledger_table, _detail(version=2)).media_unchanged  # the retry


def test_a_series_announcement_has_nothing_to_prefill(signer: Any, ledger_table: Any) -> None:
    detail = TitlePublished.model_validate({"title_id": "S1", "version": 1, "kind": "series", "status": "READY"})
    result = _run(signer, ledger_table, detail)
    assert result.outcome is ClaimOutcome.SKIPPED
    assert "Item" not in ledger_table.get_item(Key={"pk": "PREFILL#S1"})


def test_concurrent_duplicate_sees_a_live_lease(ledger_table: Any) -> None:
    ledger = DynamoPrefillLedger(ledger_table)
    assert ledger.claim("T1", 3, now=1000, lease_s=600).outcome is ClaimOutcome.CLAIMED
    assert ledger.claim("T1", 3, now=1001, lease_s=600).outcome is ClaimOutcome.BUSY
    # The lease ran out (the first invocation died without releasing): the next delivery takes over.
    assert ledger.claim("T1", 3, now=1601, lease_s=600).outcome is ClaimOutcome.CLAIMED
    ledger.complete("T1", 3, now=1700, filled=10, size=100, media="m1")
    assert ledger.claim("T1", 3, now=99999, lease_s=600).outcome is ClaimOutcome.DONE
    item = ledger_table.get_item(Key={"pk": "PREFILL#T1"})["Item"]
    assert item["state"] == "DONE" and item["filled"] == 10 and item["bytes"] == 100
    assert ledger.claim("T1", 4, now=99999, lease_s=600).previous_media == "m1"


def test_a_stale_finish_does_not_touch_a_newer_claim(ledger_table: Any) -> None:
    ledger = DynamoPrefillLedger(ledger_table)
    ledger.claim("T1", 1, now=1000, lease_s=600)
    ledger.claim("T1", 2, now=1001, lease_s=600)
    ledger.complete("T1", 1, now=1002, filled=1, size=1, media="m")  # the v1 run finishing late
    item = ledger_table.get_item(Key={"pk": "PREFILL#T1"})["Item"]
    assert item["version"] == 2 and item["state"] == "FILLING" and "media" not in item


def test_server_errors_are_retried_then_the_title_is_released_for_the_next_delivery(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    seg = "titles/T1/hls/cap2160/2160p/seg_00003.m4s"
    cdn_server.fail[seg] = [503, 502]  # two failures, the third attempt succeeds
    assert _run(signer, ledger_table, _detail()).outcome is ClaimOutcome.CLAIMED
    assert Counter(cdn_server.fetched())[seg] == 3

    cdn_server.objects |= title_objects("T2", duration_s=40)
    bad = "titles/T2/hls/cap2160/2160p/seg_00003.m4s"
    cdn_server.fail[bad] = [503] * 3
    with pytest.raises(PrefillIncomplete, match="1 objects failed"):
        _run(signer, ledger_table, _detail("T2"))
    item = ledger_table.get_item(Key={"pk": "PREFILL#T2"})["Item"]
    assert item["state"] == "FAILED" and item["lease_until"] == 0
    # SQS redelivers: the retry claims at once and completes.
    assert _run(signer, ledger_table, _detail("T2")).outcome is ClaimOutcome.CLAIMED


def test_missing_objects_are_reported_not_retried(cdn_server: FakeCdnServer, signer: Any, ledger_table: Any) -> None:
    objects = title_objects("T1", duration_s=40)
    del objects["titles/T1/hls/cap2160/2160p/init.mp4"]
    cdn_server.objects = objects
    result = _run(signer, ledger_table, _detail())
    assert result.missing == ["titles/T1/hls/cap2160/2160p/init.mp4"]
    assert Counter(cdn_server.fetched())["titles/T1/hls/cap2160/2160p/init.mp4"] == 1


def test_a_refused_grant_is_an_error_not_a_silent_skip(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any, public_pem: bytes
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    cdn_server.public_keys = {"KOTHER": public_pem}  # the CDN trusts another key id
    with pytest.raises(PrefillDenied):
        _run(signer, ledger_table, _detail())
    assert set(cdn_server.refusals) == {"unknown_key"}
    assert ledger_table.get_item(Key={"pk": "PREFILL#T1"})["Item"]["state"] == "FAILED"


def test_out_of_time_stops_and_releases(cdn_server: FakeCdnServer, signer: Any, ledger_table: Any) -> None:
    cdn_server.objects = title_objects("T1", duration_s=400)

    def stop_after_10_segments() -> bool:
        # The clock stand-in: "time is up" once the CDN has served ten segments.
        return sum(k.endswith(".m4s") for k in cdn_server.fetched()) >= 10

    with pytest.raises(PrefillIncomplete, match="out of time"):
        _run(signer, ledger_table, _detail(), should_stop=stop_after_10_segments)
    inits = [k for k in cdn_server.fetched() if k.endswith("init.mp4")]
    assert len(inits) == 5, "init segments go first"
    assert sum(k.endswith(".m4s") for k in cdn_server.fetched()) < 10 + 8 * 5, "nothing new starts after the stop"


def test_unreachable_cdn_fails_fast(signer: Any, ledger_table: Any) -> None:
    signer.cdn_url = "http://127.0.0.1:9"  # discard port: connection refused
    cdn = CdnHttp(signer, "titles/T1/", backoff_s=0.0, timeout_s=1.0)
    with pytest.raises(PrefillIncomplete):
        prefill_title(_detail(), cdn, DynamoPrefillLedger(ledger_table), POLICY)


@pytest.mark.parametrize(
    "manifest",
    ["titles/T2/hls/master.m3u8", "work/T1/master.m3u8", "titles/T1/../T2/hls/master.m3u8", "titles/T1/hls/a.mp4"],
)
def test_playlists_outside_the_title_are_a_bad_event(manifest: str) -> None:
    with pytest.raises(BadEvent):
        master_keys(_detail(manifest_path=manifest))


def test_a_master_that_points_elsewhere_fetches_nothing_outside(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    cdn_server.objects = {
        "titles/T1/hls/master.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../../T2/hls/p.m3u8\n",
    }
    result = _run(signer, ledger_table, _detail(playback_tiers=[]))
    assert cdn_server.fetched() == ["titles/T1/hls/master.m3u8"]
    assert result.filled == 1 and result.renditions == 0


def test_the_local_front_door_takes_the_prefill_functions_copies(ledger_table: Any) -> None:
    """The real client against the real local fleet: the front door honours the copies header only
    with the platform's prefill grant, which CdnHttp sends (a viewer's grant alone is refused)."""
    from reelstack_common.cdn_signing import CdnSigner

    from local.cdn.behaviors import Distribution
    from local.cdn.fleet import Fleet, FleetSettings
    from local.ports import free_port
    from tests.unit.local.cdn_fakes import KEY_ID, KEYS, FakeOrigin

    origin = FakeOrigin()
    for key, body in title_objects("T1", duration_s=20).items():
        origin.add(key, body)
    fleet = Fleet(FleetSettings("127.0.0.1", free_port(), "unused", "media", edges=3, cache_mb=8,
                                distribution=Distribution(public_keys={KEY_ID: KEYS.public_pem})), origin=origin)
    fleet.start()
    try:
        signer = CdnSigner(cdn_url=fleet.url, key_pair_id=KEY_ID, private_key_pem=KEYS.private_pem)
        result = _run(signer, ledger_table, _detail(expected_popularity="high"))
        assert result.missing == [] and result.filled == len(origin.objects)
        copies = fleet.front_door.prefill_copies
        assert set(copies) == set(origin.objects) and set(copies.values()) == {3}
        master = "titles/T1/hls/master.m3u8"
        assert {e for e, edge in fleet.edges.items() if master in edge.cache} == set(fleet.edges)
    finally:
        fleet.stop()
