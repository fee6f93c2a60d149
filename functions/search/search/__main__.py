"""``python -m search reindex``: rebuild the index from the catalog table and swap the alias.

Run from the repository root with the service and the shared layer on the path::

    PYTHONPATH=functions/search:layers/shared/python .venv/bin/python -m search reindex \\
        --endpoints .reelstack/endpoints.json      # the local cloud's endpoints file

With ``--endpoints`` the search URL, the AWS endpoint and the catalog table come from the local
cloud's endpoints.json; otherwise from the environment (SEARCH_ENDPOINT, CATALOG_TABLE and the
usual AWS settings), as in the Lambda function.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path


def _use_local_cloud(path: Path) -> None:
    endpoints = json.loads(path.read_text())
    tables = endpoints["resources"]["tables"]
    os.environ["SEARCH_ENDPOINT"] = endpoints["search_url"]
    os.environ["AWS_ENDPOINT_URL"] = endpoints["aws_endpoint_url"]
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoints["dynamodb_endpoint_url"]
    os.environ.setdefault("AWS_DEFAULT_REGION", endpoints.get("region", "us-east-1"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ["CATALOG_TABLE"] = next(name for lid, name in tables.items() if lid.startswith("MediaCatalogTable"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("reindex", help="rebuild the index from the catalog table, then swap the alias")
    cmd.add_argument("--endpoints", type=Path, help="the local cloud's endpoints.json")
    args = parser.parse_args(argv)
    if args.endpoints:
        _use_local_cloud(args.endpoints)

    from search.logic.reindex import reindex
    from search.wiring import catalog, title_index

    report = reindex(catalog(), title_index(), progress=lambda n: print(f"  {n} titles", file=sys.stderr))
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
