"""Soak with fresh sessions: memory of the served app while every call comes without a reused session.

Serves ``python app.py`` (loopback) and sends ``--calls`` API calls (``/status`` and ``/chinchilla``, alternated,
``--threads`` at a time), each as a new session (``POST /gradio_api/call/<name>``, as curl or a script would).
Prints the server's memory (RSS) at start, after warm-up (the first ``--warmup`` calls: by then the session store
is full) and every tenth of the rest, then

  soak_growth_after_warmup: memory growth per 1,000 calls after warm-up vs during warm-up (flat: ≈ 0)

The per-address cap is raised for the soak (every call comes from 127.0.0.1), so the total cap is what holds;
``--max-sessions 10000`` shows Gradio's default for comparison.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, report  # noqa: F401  (ROOT puts tests/support on sys.path)

CALLS = {"status": [], "chinchilla": [8.0, 15.0, 0]}


def fresh_session_call(url: str, name: str, data: list) -> bool:
    """One call as a new session; True when it completed."""
    request = urllib.request.Request(f"{url}gradio_api/call/{name}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            event_id = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{url}gradio_api/call/{name}/{event_id}", timeout=120) as r:
            return b"event: complete" in r.read()
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    """Resident memory of the server process, in MB."""
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def drive(url: str, start: int, count: int, threads: int) -> int:
    """Send ``count`` fresh-session calls; return how many completed."""
    names = list(CALLS)

    def one(n: int) -> bool:
        name = names[n % len(names)]
        return fresh_session_call(url, name, CALLS[name])

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, range(start, start + count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls after warm-up")
    parser.add_argument("--warmup", type=int, default=600, help="calls before the 'after warm-up' reading")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-sessions", type=int, default=200, help="WORKBENCH_MAX_SESSIONS for the served app")
    args = parser.parse_args()

    from app_helpers import serve_app

    tmp = Path(tempfile.mkdtemp())
    env = {"HF_HUB_OFFLINE": "1", "WORKBENCH_MAX_SESSIONS": str(args.max_sessions),
           "WORKBENCH_MAX_SESSIONS_PER_ADDRESS": str(args.max_sessions), "WORKBENCH_ARENA_DB": str(tmp / "a.db")}
    proc, url = serve_app(env, tmp / "app.log", timeout=180)
    try:
        fresh_session_call(url, "status", [])  # imports done on the first call are not sessions
        start_mb = rss_mb(proc.pid)
        print(f"memory at start: {start_mb:.0f} MB (max sessions {args.max_sessions})", flush=True)
        began = time.perf_counter()
        ok = drive(url, 0, args.warmup, args.threads)
        warm_mb = rss_mb(proc.pid)
        print(f"after warm-up ({args.warmup} calls, {ok} completed): {warm_mb:.0f} MB", flush=True)
        done, step = 0, max(1, args.calls // 10)
        while done < args.calls:
            n = min(step, args.calls - done)
            ok = drive(url, args.warmup + done, n, args.threads)
            done += n
            print(f"  {args.warmup + done:6d} calls ({ok}/{n} completed): {rss_mb(proc.pid):.0f} MB", flush=True)
        end_mb = rss_mb(proc.pid)
        seconds = time.perf_counter() - began
        total = args.warmup + args.calls
        print(f"memory at end: {end_mb:.0f} MB after {total} fresh-session calls in {seconds:.0f} s")
        per_k_after = (end_mb - warm_mb) / args.calls * 1000
        per_k_warm = (warm_mb - start_mb) / args.warmup * 1000
        report("soak_growth_after_warmup", per_k_after, per_k_warm, unit="MB per 1,000 calls")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
