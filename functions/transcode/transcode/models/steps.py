"""The state machine's payloads: one model per step input and output.

`statemachines/transcode.asl.json` builds each task's input from these outputs (Parameters,
ItemSelector, ResultPath), so field names are the contract with the definition: rename one here and
the ASL changes with it. Inputs ignore fields they do not use (a state carries its whole history);
outputs are dumped with `step_output` (JSON mode, aliases), as Lambda returns them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transcode.media.chunks import Chunk
from transcode.media.encode import VideoParams
from transcode.media.ladder import Rendition
from transcode.media.probe import MediaInfo
from transcode.media.quality import QualitySums
from transcode.models.errors import InvalidEvent


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def step_output(result: BaseModel) -> dict[str, Any]:
    """What a handler returns to Step Functions: plain JSON, field aliases as on the wire."""
    return result.model_dump(mode="json", by_alias=True)


# --- probe: the S3 "Object Created" event in, the job (or a refusal) out --------------------------

class UploadedObject(Payload):
    key: str = ""
    size: int | None = None
    etag: str | None = None


class UploadedBucket(Payload):
    name: str = ""


class UploadDetail(Payload):
    bucket: UploadedBucket = UploadedBucket()
    object: UploadedObject = UploadedObject()


class UploadEvent(Payload):
    """Probe's input, the execution input: EventBridge "Object Created" from S3. Every field is
    optional here; `logic.upload.parse_upload` says what a usable upload is (InvalidEvent else)."""

    id: str | None = None
    source: str | None = None
    detail_type: str | None = Field(default=None, alias="detail-type")
    detail: UploadDetail = UploadDetail()

    @classmethod
    def parse(cls, raw: Any) -> UploadEvent:
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InvalidEvent(f"not an S3 Object Created event: {exc.error_count()} invalid fields "
                               f"({exc.errors()[0]['loc']})") from exc


class SourceObject(Payload):
    """The uploaded source as probe found it (HEAD), read by every encoding step."""

    bucket: str
    key: str
    size: int
    etag: str


class Job(Payload):
    """Probe's output when it claimed the title: the execution's state from here on."""

    claimed: Literal[True] = True
    title_id: str
    job_id: str
    source: SourceObject
    media: MediaInfo


class NotAwaitingSource(Payload):
    """Probe's output when the title was not waiting for its source: the execution ends here."""

    claimed: Literal[False] = False
    title_id: str
    job_id: str
    title_status: str | None


# --- plan ------------------------------------------------------------------------------------------

class PlanInput(Payload):
    media: MediaInfo


class Plan(Payload):
    """Plan's output, at $.plan: the ladder and the chunk grid."""

    fps: str  # "30000/1001"
    total_frames: int
    duration_s: float
    chunk_seconds: int
    segment_seconds: int
    quality_every: int
    video: VideoParams
    renditions: list[Rendition]
    chunks: list[Chunk]


# --- encode (Map over chunks || audio) --------------------------------------------------------------

class EncodeChunkInput(Payload):
    title_id: str
    job_id: str | None = None
    source: SourceObject
    video: VideoParams
    renditions: list[Rendition]
    chunk: Chunk
    quality_every: int = 1
    attempt: int = 0  # $$.State.RetryCount


class EncodedChunk(Payload):
    index: int
    frames: int


class SegmentMeta(Payload):
    """One published CMAF segment: title-wide number, exact duration, size and MD5 (its ETag)."""

    index: int
    duration_s: float
    bytes: int
    md5: str


class TrackSegments(Payload):
    """What one step wrote of one rendition (or the audio): its init segment and segments."""

    init_md5: str  # every chunk's init segment of a rendition is the same object: same bytes
    codec: str
    segments: list[SegmentMeta]


class ChunkMeta(Payload):
    """work/{title_id}/chunks/meta/{index}.json, written last: its presence means a complete chunk
    (every segment and part row it lists is written)."""

    index: int
    start_frame: int
    frames: int
    job_id: str | None = None
    bytes: dict[str, int]
    tracks: dict[str, TrackSegments] = {}
    quality: dict[str, QualitySums] = {}
    encode_s: float = 0.0
    total_s: float = 0.0


class AudioMeta(Payload):
    """work/{title_id}/audio/meta.json: the title's audio, segmented on the video's grid."""

    job_id: str | None = None
    channels: int
    source_channels: int
    track: TrackSegments


class EncodeAudioInput(Payload):
    title_id: str
    job_id: str | None = None
    source: SourceObject
    media: MediaInfo
    duration_s: float | None = None
    segment_seconds: int | None = None  # the plan's grid (the setting's value when absent)
    attempt: int = 0


class AudioTrack(Payload):
    """Encode-audio's output ($.encoded.audio): key (of its `AudioMeta`) None for a source without
    audio."""

    key: str | None
    channels: int = 0
    source_channels: int = 0


# --- assemble, publish -------------------------------------------------------------------------------

class AssembleInput(Payload):
    title_id: str
    job_id: str
    plan: Plan
    audio: AudioTrack | None = None


class RenditionSummary(Payload):
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str


class PlaybackTier(Payload):
    """One plan tier of the layout (contract B): what a plan with cap >= max_height may play."""

    max_height: int
    prefix: str  # "titles/{id}/hls/cap2160/cap1080/cap720/"
    master: str  # prefix + "master.m3u8"
    renditions: list[str]


class TitleOutputs(Payload):
    """What publish reads of assemble's output."""

    manifest_path: str
    renditions: list[RenditionSummary]
    duration_s: float
    playback_tiers: list[PlaybackTier] = []


class Assembled(TitleOutputs):
    """Assemble's output, at $.assembled."""

    frames: int
    parts: int
    has_audio: bool
    quality: dict[str, dict[str, Any]]


class PublishInput(Payload):
    title_id: str
    job_id: str
    assembled: TitleOutputs


class Published(Payload):
    title_id: str
    status: Literal["READY"] = "READY"
    manifest_path: str
    event_id: str
    version: int | None = None


# --- fail (every Catch) ----------------------------------------------------------------------------

class StepError(Payload):
    """What a Catch stores at $.error."""

    error: str | None = Field(default=None, alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class PlannedRendition(Payload):
    name: str | None = None


class PlannedRenditions(Payload):
    renditions: list[PlannedRendition] = []


class FailInput(Payload):
    """The state at the failing step plus $.error: the job (or part of it) once probe claimed the
    title, the raw S3 event when probe failed. Lenient on purpose: the fail step must run whatever
    broke before it."""

    title_id: str | None = None
    job_id: str | None = None
    plan: PlannedRenditions | None = None
    error: StepError = StepError()
    # the raw event's fields, when probe failed
    id: str | None = None
    source: Any = None  # "aws.s3" on the raw event, the SourceObject on the job
    detail: UploadDetail | None = None


class Failed(Payload):
    title_id: str | None
    status: Literal["FAILED", "NOT_OWNED", "IGNORED"]
    failure_reason: str
    deleted: int
