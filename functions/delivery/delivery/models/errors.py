"""Why a prefill did not finish. A raised error returns the SQS message (retry, then the DLQ)."""

from __future__ import annotations


class BadEvent(Exception):
    """The message can never be processed (not JSON, not TitlePublished, invalid detail): dropped."""


class PrefillIncomplete(Exception):
    """Some objects could not be fetched (5xx, timeouts, out of time): the title is retried; what
    was filled is an edge hit the next time."""


class PrefillDenied(Exception):
    """The CDN refused our own grant (403): wrong key pair or secret. Retried, then the DLQ, where
    it is visible; never silently dropped."""


class PurgeFailed(Exception):
    """The CDN did not take the purge of a withdrawn title (throttled, 5xx, refused): the record is
    retried, then lands in the dead-letter queue."""


class PurgeThrottled(PurgeFailed):
    """CloudFront has as many wildcard invalidations in progress as it allows (15): they take
    minutes, so the record comes back after a growing delay rather than the queue's visibility."""


class OutOfTime(Exception):
    """Not enough of the invocation left for one more CDN call within its timeouts: the record is
    returned untouched and comes back with the queue's visibility."""
