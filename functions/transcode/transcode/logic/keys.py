"""Where everything lives in the media bucket. Every key a step writes is deterministic, so retries
and re-runs overwrite instead of piling up.

Published output (`titles/{id}/hls/...`, plan-tier layout in `transcode.media.hls`) is written by
the encode steps themselves (segments, init segments) and by assemble (playlists); `work/{id}/`
holds only small JSON records of what each chunk and the audio wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

from transcode.media import hls


def work_prefix(title_id: str) -> str:
    return f"work/{title_id}/"


def chunk_meta_key(title_id: str, index: int) -> str:
    return f"work/{title_id}/chunks/meta/{index:05d}.json"


def audio_meta_key(title_id: str) -> str:
    return f"work/{title_id}/audio/meta.json"


def title_prefix(title_id: str) -> str:
    return f"titles/{title_id}/"


def hls_prefix(title_id: str) -> str:
    return f"titles/{title_id}/hls/"


def manifest_key(title_id: str) -> str:
    return f"{hls_prefix(title_id)}{hls.MASTER}"


def quality_report_key(title_id: str) -> str:
    # Beside hls/, not in it: no plan's CDN grant (a tier under hls/) covers it.
    return f"{title_prefix(title_id)}quality.json"


def rendition_prefix(title_id: str, name: str, caps: Sequence[int]) -> str:
    return hls_prefix(title_id) + hls.rendition_dir(name, caps)


def init_key(title_id: str, name: str, caps: Sequence[int]) -> str:
    return rendition_prefix(title_id, name, caps) + hls.INIT


def segment_key(title_id: str, name: str, caps: Sequence[int], index: int) -> str:
    return rendition_prefix(title_id, name, caps) + hls.segment_name(index)
