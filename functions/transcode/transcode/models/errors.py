"""Error vocabulary of the workflow.

Step Functions sees a Lambda failure as `Error` = the exception's class name (the runtime's
`errorType`), so class names are part of the contract with `statemachines/transcode.asl.json`:
the names in `PERMANENT_ERRORS` are never retried (retrying cannot fix a bad upload), everything
else is retried with backoff before the workflow gives up.
"""

from __future__ import annotations


class TranscodeError(Exception):
    """Base class; the message ends up in the title's `failure_reason` for permanent errors."""


class MediaRejected(TranscodeError):
    """The uploaded file cannot become a title; the message tells a person what to do."""


class InvalidEvent(TranscodeError):
    """The execution input is not an upload of `uploads/{title_id}/source` in the ingest bucket."""


class TitleNotFound(TranscodeError):
    """No catalog item exists for the uploaded title (it must be created before the upload)."""


class Superseded(TranscodeError):
    """A newer upload of the same title took over; this run must not publish or clean up."""


class ConfigError(TranscodeError):
    """The function's environment is wrong; retrying will not help."""


class TransientError(TranscodeError):
    """Worth retrying (throttling, injected faults)."""


class FfmpegError(TranscodeError):
    """ffmpeg exited non-zero for a reason not attributable to the source; retried."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(f"{message}: {stderr_tail}" if stderr_tail else message)
        self.stderr_tail = stderr_tail


class OutputMismatch(TranscodeError):
    """An output broke an invariant (frame count, missing chunk); retried, then fails the title."""


PERMANENT_ERRORS: tuple[str, ...] = (
    MediaRejected.__name__,
    InvalidEvent.__name__,
    TitleNotFound.__name__,
    Superseded.__name__,
    ConfigError.__name__,
)
