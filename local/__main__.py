"""`python -m local up`: run the whole platform locally in the foreground (Ctrl-C stops it all)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from local.cloud import DEFAULT_ADMIN, LocalCloud, Settings
from local.ready import ready_block

ENVIRONMENT = f"""environment (each sets an option's default; the option wins):
  REELSTACK_HOST            address every server binds (--host)
  REELSTACK_AWS_PORT        port of the AWS endpoint (--aws-port)
  REELSTACK_API_PORT        port of the HTTP API (--api-port)
  REELSTACK_ALB_PORT        port of the ALB (--alb-port)
  REELSTACK_STATE_DIR       state directory (--state-dir)
  REELSTACK_CDN_PORT        port of the CDN front door, cdn_url (--cdn-port; default: any free port)
  REELSTACK_EDGES           edge caches behind the front door (--edges, default 4)
  REELSTACK_EDGE_CACHE_MB   each edge's cache size in MB (--edge-cache-mb, default 256)
  REELSTACK_KEEP_STATE      1: keep DynamoDB, Cognito users and S3 objects across restarts (--keep-state)
  REELSTACK_ADMIN_EMAIL     the demo admin's email (default {DEFAULT_ADMIN["email"]})
  REELSTACK_ADMIN_PASSWORD  the demo admin's password (default in the source: set your own)
  REELSTACK_WEB_PORT        port of the web app, web_url (default: any free port; `make up`: 4512)
  REELSTACK_SEED_CONTENT    1: publish the playable demo titles in the background once ready (`make up`)
  REELSTACK_STARTUP_TIMEOUT seconds the integration tests wait for start-up (tests only)

A stopped run's ports are free at once (connections left in TIME_WAIT do not count); a port
another process listens on stops the start with its name and role.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description="The Reelstack local cloud.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser(
        "up",
        help="start the local cloud in the foreground",
        description="Synthesize the CDK app, provision it into the local cloud and serve it until\n"
                    "Ctrl-C. Prints the endpoints when ready and writes them to STATE_DIR/endpoints.json\n"
                    "(removed when it stops).",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env = os.environ.get
    up.add_argument("--host", default=env("REELSTACK_HOST", "127.0.0.1"),
                    help="address every server binds (default: %(default)s)")
    up.add_argument("--aws-port", type=int, default=int(env("REELSTACK_AWS_PORT", "4566")),
                    help="port of the AWS endpoint, AWS_ENDPOINT_URL for SDKs and the aws CLI (default: %(default)s)")
    up.add_argument("--api-port", type=int, default=int(env("REELSTACK_API_PORT", "4510")),
                    help="port of the HTTP API (API Gateway stand-in) (default: %(default)s)")
    up.add_argument("--alb-port", type=int, default=int(env("REELSTACK_ALB_PORT", "4511")),
                    help="port of the Application Load Balancer stand-in (default: %(default)s)")
    up.add_argument("--cdn-port", type=int, default=int(env("REELSTACK_CDN_PORT", "0")),
                    help="port of the CDN front door (CloudFront stand-in); 0: any free port (default: %(default)s)")
    up.add_argument("--edges", type=int, default=int(env("REELSTACK_EDGES", "4")),
                    help="edge caches in the CDN fleet (default: %(default)s)")
    up.add_argument("--edge-cache-mb", type=int, default=int(env("REELSTACK_EDGE_CACHE_MB", "256")),
                    help="each edge cache's size in MB (default: %(default)s)")
    up.add_argument("--state-dir", type=Path, default=Path(env("REELSTACK_STATE_DIR", ".reelstack")),
                    help="where the synthesized app, function logs and endpoints.json go (default: %(default)s)")
    up.add_argument("--no-search", action="store_true",
                    help="do not start the OpenSearch stand-in (faster start; search calls fail)")
    up.add_argument("--keep-state", action="store_true",
                    default=os.environ.get("REELSTACK_KEEP_STATE", "") not in ("", "0", "false"),
                    help="keep DynamoDB, Cognito users and S3 objects across restarts, in STATE_DIR/kept "
                         "(REELSTACK_KEEP_STATE=1; default: start empty)")
    up.add_argument("--no-seed", action="store_true",
                    help="do not create the seeded admin account")
    up.add_argument("--verbose", "-v", action="store_true",
                    help="log every request and debug detail")
    up.add_argument("--extend", metavar="MODULE:FUNCTION",
                    help="call FUNCTION(app) to add constructs before synthesis (tests use it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.edges <= 64 or args.edge_cache_mb < 1:
        parser.error("--edges must be 1..64 and --edge-cache-mb at least 1 (REELSTACK_EDGES, REELSTACK_EDGE_CACHE_MB)")

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # One process serves the API front doors, moto and the stream pollers from threads sharing one
    # GIL. With CPython's default 5 ms switch interval a request thread whose reply has arrived can
    # wait 5 ms behind a busy poller or moto thread; 1 ms keeps such waits under the API's own cost
    # (request tails, issue 15: docs/benchmarks.md). It changes nothing in the functions' processes.
    sys.setswitchinterval(0.001)
    state_dir = args.state_dir.resolve()
    cloud = LocalCloud(
        Settings(
            host=args.host,
            aws_port=args.aws_port,
            api_port=args.api_port,
            alb_port=args.alb_port,
            state_dir=state_dir,
            search=not args.no_search,
            seed_admin=not args.no_seed,
            keep_state=args.keep_state,
            extend=args.extend,
            cdn_port=args.cdn_port,
            edges=args.edges,
            edge_cache_mb=args.edge_cache_mb,
        ),
        progress=lambda m: print(m, flush=True),
    )

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("starting the Reelstack local cloud ...", flush=True)
    try:
        endpoints = cloud.start()
        print(ready_block(endpoints, state_dir / "endpoints.json", args.keep_state), flush=True)
        cloud.wait()
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
