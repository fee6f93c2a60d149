"""Which AWS failures are an outage of a dependency (the caller may retry: 503) rather than a bug
(500): no connection, a timeout, throttling, or the service's own 5xx."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

_UNAVAILABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "LimitExceededException",
})


def is_outage(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | HTTPClientError):  # refused, reset, connect/read timeout
        return True
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in _UNAVAILABLE_CODES or status >= 500
    return False
