"""``python -m local.search_engine --port N [--host H] [--parent-pid PID] [--refresh-interval S]``.

Prints ``listening on http://host:port`` (the port it bound: ``--port 0`` picks a free one) on
stdout once it accepts connections. With ``--parent-pid`` it exits when that process is gone, so
a killed local cloud leaves no orphan engine (a polling check: PR_SET_PDEATHSIG would fire when
the THREAD that spawned it ends, and the local cloud spawns from a worker thread)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from local.search_engine.server import SearchEngineServer


def _watch_parent(pid: int, interval: float = 1.0) -> None:
    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass  # alive, another user's
            if os.getppid() != pid and os.getppid() == 1:
                os._exit(0)  # re-parented to init: the parent died and its pid may be reused

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m local.search_engine")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9200)
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this process exits")
    ap.add_argument("--refresh-interval", type=float, default=1.0, help="seconds between automatic refreshes")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = SearchEngineServer(args.host, args.port, args.refresh_interval)
    if args.parent_pid:
        _watch_parent(args.parent_pid)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"listening on {server.url}", flush=True)
    stop.wait()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
