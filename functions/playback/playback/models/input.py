"""Request bodies. Unknown fields are rejected so a typo is a 400, not a silently ignored field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Ids are hex uuids elsewhere in Reelstack; the bound keeps hostile keys out of DynamoDB keys.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Rendition = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
# 2**53: the largest integer a JSON client (JavaScript) can count to exactly.
MAX_SEQ = 2**53
# Milliseconds are all a player reports; rounding also keeps DynamoDB numbers in range (1e-300 is
# valid JSON and a valid float, but boto3's Decimal context raises Underflow on it: a 500).
_ms = AfterValidator(lambda v: round(v, 3))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class StartSessionRequest(_Strict):
    profile_id: Id
    title_id: Id


class HeartbeatRequest(_Strict):
    # A negative position is malformed; one past the end is checked against the title (400 too).
    position_s: Annotated[float, Field(ge=0, le=10 * 24 * 3600), _ms]
    seq: int = Field(ge=0, le=MAX_SEQ)
    rendition: Rendition | None = None
    buffer_s: Annotated[float, Field(ge=0, le=3600), _ms] | None = None
    state: Literal["playing", "paused", "seeking"] = "playing"
