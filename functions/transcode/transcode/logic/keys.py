"""Where everything lives in the media bucket. Every key a step writes is deterministic, so retries
and re-runs overwrite instead of piling up."""

from __future__ import annotations


def work_prefix(title_id: str) -> str:
    return f"work/{title_id}/"


def chunk_key(title_id: str, rendition: str, index: int) -> str:
    return f"work/{title_id}/chunks/{rendition}/{index:05d}.mp4"


def chunk_meta_key(title_id: str, index: int) -> str:
    return f"work/{title_id}/chunks/meta/{index:05d}.json"


def audio_key(title_id: str) -> str:
    return f"work/{title_id}/audio/audio.mp4"


def title_prefix(title_id: str) -> str:
    return f"titles/{title_id}/"


def hls_prefix(title_id: str) -> str:
    return f"titles/{title_id}/hls/"


def manifest_key(title_id: str) -> str:
    return f"{hls_prefix(title_id)}master.m3u8"
