"""Stop and start `python -m local up` several times in a row, as a newcomer does with Ctrl-C.

Each cycle starts the local cloud in its own process group on fixed ports, waits for
endpoints.json, sends a few requests to both edges (the server side closing those connections at
stop leaves the ports in TIME_WAIT, as after a newcomer's curl), then sends SIGINT to the whole
group (what a terminal's Ctrl-C does: the jsii kernel, workers and servers all get it) and starts
the next cycle at once. Prints JSON: per cycle
the seconds to ready and to stop, the exit code, whether endpoints.json outlived the stop, and
any traceback printed.

    python -m bench.local_restart [--cycles 3] [--search] [--seed] [--keep-state] [--port-base 45500]
    (--search --seed: what `make up` starts)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cycle(state_dir: Path, ports: dict[str, int], flags: list[str], timeout_s: float) -> dict[str, object]:
    log = state_dir / f"up-{time.time_ns()}.log"
    cmd = [sys.executable, "-m", "local", "up", "--state-dir", str(state_dir),
           "--aws-port", str(ports["aws"]), "--api-port", str(ports["api"]), "--alb-port", str(ports["alb"])]
    cmd += flags
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    endpoints = state_dir / "endpoints.json"
    t0 = time.perf_counter()
    started = time.time()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    ready_s = None
    while time.perf_counter() - t0 < timeout_s and proc.poll() is None:
        if endpoints.exists() and endpoints.stat().st_mtime >= started:  # not a stale file from a last run
            ready_s = time.perf_counter() - t0
            break
        time.sleep(0.1)
    if ready_s is not None:
        edges = json.loads(endpoints.read_text())
        for url in (edges["api_url"] + "/billing/plans", edges["api_url"] + "/openapi.json",
                    edges["alb_url"] + "/no/such/route"):
            urllib_get(url)
    t1 = time.perf_counter()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    text = log.read_text()
    return {
        "ready_s": round(ready_s, 1) if ready_s is not None else None,
        "stop_s": round(time.perf_counter() - t1, 1),
        "exit_code": code,
        "endpoints_json_after_stop": endpoints.exists(),
        "traceback": "Traceback" in text,
        "port_refused": "is in use" in text,
        "tail": text.strip().splitlines()[-3:] if ready_s is None or "Traceback" in text else [],
    }


def urllib_get(url: str) -> None:
    import urllib.error
    import urllib.request

    with contextlib.suppress(urllib.error.HTTPError):  # any answer will do: the connection was served
        urllib.request.urlopen(url, timeout=30).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--search", action="store_true", help="start the OpenSearch stand-in too")
    parser.add_argument("--seed", action="store_true", help="seed the admin account too (as `make up` does)")
    parser.add_argument("--keep-state", action="store_true", help="pass --keep-state (each start restores the last)")
    parser.add_argument("--port-base", type=int, default=45500, help="aws, api and alb ports are base+0..2")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for each start")
    args = parser.parse_args()
    ports = {"aws": args.port_base, "api": args.port_base + 1, "alb": args.port_base + 2}
    with tempfile.TemporaryDirectory(prefix="reelstack-restart-") as tmp:
        flags = [*([] if args.search else ["--no-search"]), *([] if args.seed else ["--no-seed"]),
                 *(["--keep-state"] if args.keep_state else [])]
        runs = [cycle(Path(tmp), ports, flags, args.timeout) for _ in range(args.cycles)]
    print(json.dumps({"bench": "local_restart", "flags": flags, "cycles": runs,
                      "all_came_up": all(r["ready_s"] is not None for r in runs)}, indent=2))


if __name__ == "__main__":
    main()
