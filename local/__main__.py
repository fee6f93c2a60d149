"""`python -m local up`: run the whole platform locally in the foreground (Ctrl-C stops it all)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from local.cloud import LocalCloud, Settings


def _load(spec: str) -> Any:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the local cloud in the foreground")
    up.add_argument("--host", default=os.environ.get("REELSTACK_HOST", "127.0.0.1"))
    up.add_argument("--aws-port", type=int, default=int(os.environ.get("REELSTACK_AWS_PORT", 4566)))
    up.add_argument("--api-port", type=int, default=int(os.environ.get("REELSTACK_API_PORT", 4510)))
    up.add_argument("--alb-port", type=int, default=int(os.environ.get("REELSTACK_ALB_PORT", 4511)))
    up.add_argument("--state-dir", type=Path, default=Path(os.environ.get("REELSTACK_STATE_DIR", ".reelstack")))
    up.add_argument("--no-search", action="store_true", help="do not start the OpenSearch stand-in")
    up.add_argument("--verbose", "-v", action="store_true")
    up.add_argument("--no-seed", action="store_true", help="do not create the seeded admin account")
    up.add_argument("--extend", help=argparse.SUPPRESS)  # module:function(app) adding constructs (tests)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    cloud = LocalCloud(
        Settings(
            host=args.host,
            aws_port=args.aws_port,
            api_port=args.api_port,
            alb_port=args.alb_port,
            state_dir=args.state_dir.resolve(),
            search=not args.no_search,
            seed_admin=not args.no_seed,
            extend=_load(args.extend) if args.extend else None,
        ),
        progress=lambda m: print(m, flush=True),
    )

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print("starting the Reelstack local cloud ...", flush=True)
    try:
        cloud.start()
        cloud.wait()
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
