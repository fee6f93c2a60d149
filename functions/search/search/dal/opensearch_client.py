"""The opensearch-py client, configured from the environment only.

``SEARCH_ENDPOINT``: the domain endpoint. A bare host (what CloudFormation's ``DomainEndpoint``
gives) means ``https://<host>`` with SigV4-signed requests (IAM access to the domain, service
"es", the function's own credentials); a URL with a scheme is used as is and signed only when it
is https (the local cloud's local.search_engine is plain http on localhost).

opensearch-py is imported on first use, not at module import: a handler module must import with
no environment (routes are read in a child interpreter) and the import cost lands on the first
request only.
"""

from __future__ import annotations

import os
from typing import Any

SERVICE = "es"


def endpoint_url(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        return ""
    return raw if "://" in raw else f"https://{raw}"


def client(endpoint: str, *, timeout_s: float, retries: int) -> Any:
    from opensearchpy import OpenSearch, RequestsAWSV4SignerAuth, RequestsHttpConnection

    url = endpoint_url(endpoint)
    https = url.startswith("https://")
    auth = None
    if https:
        import boto3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        credentials = boto3.Session().get_credentials()
        auth = RequestsAWSV4SignerAuth(credentials, region, SERVICE)
    return OpenSearch(
        hosts=[url],
        http_auth=auth,
        use_ssl=https,
        verify_certs=https,
        connection_class=RequestsHttpConnection,
        timeout=timeout_s,
        max_retries=retries,
        retry_on_timeout=retries > 0,
        pool_maxsize=10,
    )
