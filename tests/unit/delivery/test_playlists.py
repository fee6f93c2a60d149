"""delivery.logic.playlists: what a player fetches first, and nothing outside the title."""

from __future__ import annotations

from delivery.logic.playlists import parse_master, parse_media, resolve

from tests.unit.delivery.conftest import master_playlist, media_playlist

ROOT = "titles/T1/"
MASTER = "titles/T1/hls/master.m3u8"


def test_master_lists_variants_and_audio_resolved_against_the_master() -> None:
    text = master_playlist(["cap2160/2160p/playlist.m3u8", "cap2160/cap1080/cap720/audio/playlist.m3u8"])
    assert parse_master(text, MASTER, ROOT) == [
        "titles/T1/hls/cap2160/cap1080/cap720/audio/playlist.m3u8",
        "titles/T1/hls/cap2160/2160p/playlist.m3u8",
    ]


def test_master_ignores_uris_outside_the_title() -> None:
    text = "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-STREAM-INF:BANDWIDTH=1",
            "../../T2/hls/720p/playlist.m3u8",
            "#EXT-X-STREAM-INF:BANDWIDTH=1",
            "https://evil.example/x.m3u8",
            "#EXT-X-STREAM-INF:BANDWIDTH=1",
            "/titles/T1/abs.m3u8",
            "#EXT-X-STREAM-INF:BANDWIDTH=1",
            "ok/playlist.m3u8",
            '#EXT-X-MEDIA:TYPE=AUDIO,URI="../../../work/T1/a.m3u8"',
        ]
    )
    assert parse_master(text, MASTER, ROOT) == ["titles/T1/hls/ok/playlist.m3u8"]


def test_media_playlist_until_the_buffer_is_full() -> None:
    key = "titles/T1/hls/cap2160/720p/playlist.m3u8"
    parsed = parse_media(media_playlist(100, 4.0), key, ROOT, until_s=300)
    assert parsed.init_keys == ["titles/T1/hls/cap2160/720p/init.mp4"]
    assert len(parsed.segments) == 75  # segments starting at 0, 4, ..., 296
    assert parsed.segments[0].key == "titles/T1/hls/cap2160/720p/seg_00000.m4s"
    assert parsed.segments[-1].start_s == 296.0


def test_uneven_segments_and_short_titles() -> None:
    key = "titles/T1/hls/a/playlist.m3u8"
    text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:6.006,\ns0.m4s\n#EXTINF:5.5,\ns1.m4s\n#EXT-X-ENDLIST\n"
    parsed = parse_media(text, key, ROOT, until_s=300)
    assert [s.key.rsplit("/", 1)[1] for s in parsed.segments] == ["s0.m4s", "s1.m4s"]
    assert parsed.segments[1].start_s == 6.006
    assert len(parse_media(text, key, ROOT, until_s=6.0).segments) == 1  # s1 starts at 6.006
    assert len(parse_media(text, key, ROOT, until_s=6.01).segments) == 2


def test_media_playlist_with_garbage_is_skipped_line_by_line() -> None:
    key = "titles/T1/hls/a/playlist.m3u8"
    text = "#EXTM3U\n#EXTINF:abc,\nbad.m4s\n#EXTINF:-5,\nneg.m4s\nno-extinf.m4s\n#EXTINF:2,\ngood.m4s\n"
    assert [s.key for s in parse_media(text, key, ROOT, 300).segments] == ["titles/T1/hls/a/good.m4s"]
    assert parse_master(text, key, ROOT) == []


def test_resolve() -> None:
    assert resolve("titles/T1/hls/master.m3u8", "a/../b/p.m3u8", ROOT) == "titles/T1/hls/b/p.m3u8"
    assert resolve("titles/T1/hls/master.m3u8", "../../T10/x", ROOT) is None
    assert resolve("titles/T1/hls/master.m3u8", "p.m3u8?token=1", ROOT) is None
    assert resolve("titles/T1/hls/master.m3u8", "", ROOT) is None
