"""Tunables of the playback rules (the wiring reads them from the environment)."""

from __future__ import annotations

from dataclasses import dataclass

FINISHED_FRACTION = 0.95  # past ~95 % (the credits) a title counts as watched
POSITION_TOLERANCE_S = 1.0  # a player's clock at the very end may read a little past the duration


@dataclass(frozen=True)
class Settings:
    heartbeat_interval_s: int = 5
    # Six missed heartbeats: a stalled network recovers, a closed tab frees its slot in 30 s.
    lease_s: int = 30
    # One heartbeat in N goes to the view stream (transitions always do): ~30 s of viewing a sample.
    heartbeat_event_every: int = 6
    # The transcoder's HLS segment duration, for titles whose item does not carry it.
    segment_seconds: float = 2.0
    # A grant must outlive the viewing: the title's duration plus slack for pauses, within bounds.
    grant_slack_s: int = 1800
    grant_min_s: int = 900
    grant_max_s: int = 6 * 3600
    # A heartbeat answers with a fresh grant once the current one has less than this left, so a long
    # pause or a title longer than its first grant never loses the CDN mid-session.
    grant_renew_before_s: int = 600

    def grant_ttl(self, duration_s: float) -> int:
        return int(min(self.grant_max_s, max(self.grant_min_s, duration_s + self.grant_slack_s)))
