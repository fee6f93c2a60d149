"""The block `python -m local up` prints once everything answers: where each endpoint is, how to
sign in as the admin, and the next commands to try."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from local.state import KEPT, NOT_KEPT


def _shown(path: Path) -> str:
    """The path relative to the working directory when under it (what a newcomer types)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ready_block(endpoints: dict[str, Any], endpoints_file: Path, keep_state: bool = False) -> str:
    api, alb, aws = endpoints["api_url"], endpoints["alb_url"], endpoints["aws_endpoint_url"]
    where = _shown(endpoints_file)
    lines = [
        "",
        "Reelstack is up.",
        *([f"  web app    {endpoints['web_url']}   (open it in a browser; sign up, any 6-digit code confirms)"]
          if endpoints.get("web_url") else []),
        f"  HTTP API   {api}   (API Gateway; contract at {api}/openapi.json)",
        f"  ALB        {alb}   (the same services behind the load balancer)",
        f"  AWS        {aws}   (every AWS service the app uses)",
    ]
    if endpoints.get("search_url"):
        lines.append(f"  search     {endpoints['search_url']}   (OpenSearch API)")
    if endpoints.get("cdn_url"):
        edges = (endpoints.get("cdn") or {}).get("edges", [])
        lines.append(f"  cdn        {endpoints['cdn_url']}   (CloudFront: {len(edges)} edge caches, signed grants)")
    admin = endpoints.get("admin")
    if admin:
        lines.append(f"  admin      {admin['email']}   (password: admin.password in {where})")
    else:
        lines.append("  no admin account (started with --no-seed, or seeding failed: see the log above)")
    if keep_state:
        lines.append(f"  state      kept across restarts: {', '.join(KEPT)} (not: {', '.join(NOT_KEPT)})")
    else:
        lines.append("  state      NOT kept: the next start is empty (--keep-state keeps accounts, titles, objects)")
    lines += [
        f"  all of it  {where}   (removed again when the cloud stops)",
        "",
        "Try:",
        f"  curl -s {api}/billing/plans",
    ]
    if admin:
        lines.append(
            f"  python3 -c 'import json; a = json.load(open(\"{where}\"))[\"admin\"]; "
            f"print(json.dumps({{\"email\": a[\"email\"], \"password\": a[\"password\"]}}))' \\\n"
            f"    | curl -s -XPOST {api}/accounts/login -H 'content-type: application/json' -d @-"
        )
    lines += [
        f"  AWS_ENDPOINT_URL={aws} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        "AWS_DEFAULT_REGION=us-east-1 aws s3 ls",
        "",
        "Ctrl-C stops everything it started.",
        "",
    ]
    return os.linesep.join(lines)
