"""Load test (loopback only, bounded): concurrent clients drive every tab's API on tiny models.

Prints a table per phase: requests served, errors by kind, p50/p95 latency; then
  cheap_<endpoint>_p95_saturated: p95 latency of a CPU-only call (tokenize, status) while model events fill the
      model queue, vs the same call on the idle app (target ≤ 3), with a table of both
  busy_answer_s: how fast a full queue answers "busy" (target ≤ 1 s)

``--clients 30 [--duration 90] [--think 1.0] [--procs 4] [--gradio-client] [--model-clients K] [--bare]``: a crowd
instead. A third of the
clients run model events back to back (``/next_tokens`` on a 30M model, ``/compare``; gradio_client, streaming, a
process of their own), the rest call the cheap CPU-only endpoints like people do (a call, ``--think`` seconds, the
next; started spread over one think time, pauses ± 50 %), spread over ``--procs``
processes, over plain HTTP through the app's queue (``POST /gradio_api/call/<name>``
and its result stream: what the server adds to a call); ``--gradio-client`` makes them gradio_client calls instead
(its own ~70 ms a call, and ~1 core of client work on a 2-core machine, included). Prints idle vs crowd p50/p95
per cheap endpoint and
  crowd_<endpoint>_p95: the crowd's p95 vs the idle p95 (target ≤ 3)
``--model-clients 0``: cheap clients only. ``--bare``: the same idle sample and crowd of cheap clients against
``bench/bare_app.py``, a bare Gradio app whose handlers do next to nothing: the part of the ratio that Gradio and
this machine (the clients share its cores) add by themselves.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, bench_lm_dir, report

CLIENTS = 16
REQUESTS_PER_CLIENT = 4
BUDGET_S = 300  # the whole phase stops by itself after this


def start(env: dict[str, str], log: Path):
    from app_helpers import serve_app

    return serve_app(env, log, timeout=120)


def calls(paths: dict[str, Path], pipes: dict[str, Path]) -> dict[str, tuple]:
    """One representative call per tab: endpoint → (args...)."""
    lm = str(paths["lm-qwen2"])
    fields = {"headers": ["name", "type", "values", "min", "max", "description"],
              "data": [["name", "string", "", "", "", ""], ["age", "int", "", "1", "99", ""]]}
    return {
        "/tokenize": ([str(paths["tok-llama"])], "Hello load test " * 20, True),
        "/pipeline_classify": ("sentiment-analysis", str(pipes["sentiment"]), "I love it", "", False, 3),
        "/compare": ([lm, "openai:fake-echo"], "Be brief.", "Hi there", 16, 0.0, "auto", True),
        "/next_tokens": (lm, "", "The capital of France is", 4, 3, 0.0),
        "/generate_rows": ("people", fields, 3, "openai:synth", 0.8, True, 5, 3, 0),
        "/model_facts": ([lm], "all"),
        "/chinchilla": (8.0, 15.0, 0),
        "/run_python": ("print(sum(range(1000)))", 1, 10),
    }


def run_phase(url: str, plan: dict[str, tuple]) -> dict[str, list]:
    from gradio_client import Client

    results: dict[str, list] = {name: [] for name in plan}
    deadline = time.monotonic() + BUDGET_S
    names = list(plan)

    def client_loop(i: int):
        client = Client(url, verbose=False)
        for k in range(REQUESTS_PER_CLIENT):
            if time.monotonic() > deadline:
                return
            name = names[(i + k) % len(names)]
            start = time.perf_counter()
            try:
                job = client.submit(*plan[name], api_name=name)
                job.result(timeout=max(1, deadline - time.monotonic()))
                results[name].append(("ok", time.perf_counter() - start))
            except Exception as exc:  # every failure is counted by kind
                kind = "busy" if "queue" in str(exc).lower() and "full" in str(exc).lower() else type(exc).__name__
                results[name].append((kind, time.perf_counter() - start))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client_loop, range(CLIENTS)))
    return results


def print_table(title: str, results: dict[str, list]) -> None:
    print(f"\n{title}")
    print(f"{'endpoint':22} {'served':>6} {'errors':24} {'p50 s':>7} {'p95 s':>7}")
    for name, rows in results.items():
        ok = sorted(t for kind, t in rows if kind == "ok")
        errors = Counter(kind for kind, _ in rows if kind != "ok")
        p50 = statistics.median(ok) if ok else float("nan")
        p95 = ok[min(len(ok) - 1, int(0.95 * len(ok)))] if ok else float("nan")
        print(f"{name:22} {len(ok):6d} {dict(errors)!s:24} {p50:7.2f} {p95:7.2f}")


def cheap_calls(tok: str) -> dict[str, tuple]:
    """The CPU-only calls that must stay responsive: endpoint → args."""
    return {"/tokenize": ([tok], "responsive?", True), "/status": ()}


def sample(url: str, plan: dict[str, tuple], n: int = 20) -> dict[str, list[float]]:
    """Latencies of ``n`` calls of each endpoint in ``plan``, one at a time (what one user waits)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    out: dict[str, list[float]] = {name: [] for name in plan}
    for _ in range(n):
        for name, args in plan.items():
            start = time.perf_counter()
            client.predict(*args, api_name=name)
            out[name].append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def saturated(url: str, lm: str, plan: dict[str, tuple], workers: int = 4) -> dict[str, list[float]]:
    """Sample ``plan`` while ``workers`` clients keep the model queue full (more model events than it runs)."""
    from gradio_client import Client

    stop = threading.Event()

    def keep_busy():
        client = Client(url, verbose=False)
        while not stop.is_set():
            try:
                client.predict(lm, "", "busy busy", 40, 3, 0.0, api_name="/next_tokens")
            except Exception:  # the server is shutting down at the end of the phase
                return

    threads = [threading.Thread(target=keep_busy, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    time.sleep(3)  # the queue has filled
    try:
        return sample(url, plan)
    finally:
        stop.set()
        for t in threads:
            t.join(120)


def print_cheap(idle: dict[str, list[float]], busy: dict[str, list[float]]) -> None:
    print("\nCPU-only calls, idle vs the model queue saturated (4 clients running /next_tokens)")
    print(f"{'endpoint':12} {'idle p50':>9} {'idle p95':>9} {'busy p50':>9} {'busy p95':>9} {'p95 ratio':>9}")
    for name in idle:
        print(f"{name:12} {statistics.median(idle[name]):9.3f} {p95(idle[name]):9.3f} "
              f"{statistics.median(busy[name]):9.3f} {p95(busy[name]):9.3f} {p95(busy[name]) / p95(idle[name]):9.2f}")
    for name in idle:
        report(f"cheap_{name.strip('/')}_p95_saturated", p95(busy[name]), p95(idle[name]))


def busy_answer(url: str, lm: str) -> tuple[float, int]:
    """Flood a tiny queue with model events; return how fast the first 'queue full' answer came."""
    from gradio_client import Client

    firsts: list[float] = []
    lock = threading.Lock()

    def one(_):
        client = Client(url, verbose=False)
        start = time.perf_counter()
        try:
            client.predict(lm, "", "Tell me a long story", 60, 3, 0.0, api_name="/next_tokens")
        except Exception as exc:
            if "queue" in str(exc).lower():
                with lock:
                    firsts.append(time.perf_counter() - start)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(one, range(12)))
    return (min(firsts) if firsts else float("nan")), len(firsts)


def crowd_cheap_calls(paths: dict[str, Path]) -> dict[str, tuple]:
    """The cheap endpoints the crowd's cheap clients call (and the idle sample measures)."""
    lm = str(paths["lm-qwen2"])
    return {"/tokenize": ([str(paths["tok-llama"])], "Hello crowd " * 20, True), "/status": (),
            "/model_facts": ([lm], "all"), "/chinchilla": (8.0, 15.0, 0),
            "/decode": (str(paths["tok-llama"]), "1, 150, 290")}


def _model_clients(url: str, plan: list[tuple], n: int, duration: float, errors) -> None:
    """In a process of its own (so parsing their streams doesn't slow the cheap clients' process): ``n`` clients
    running model events back to back for ``duration`` s; counts failures in ``errors``."""
    from gradio_client import Client

    conns = [Client(url, verbose=False) for _ in range(n)]
    deadline = time.monotonic() + duration

    def loop(i: int):
        k = i
        while time.monotonic() < deadline:
            args, api = plan[k % len(plan)]
            k += 1
            try:
                conns[i].predict(*args, api_name=api)
            except Exception:  # counted: a model event refused or failed under the crowd
                with errors.get_lock():
                    errors.value += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def raw_call(url: str, name: str, args: tuple) -> float:
    """Seconds for one call of ``name`` over plain HTTP through the app's queue (``POST /gradio_api/call/<name>``,
    then its result stream), as curl or any HTTP client calls the API."""
    from bench_soak import fresh_session_call

    start = time.perf_counter()
    if not fresh_session_call(url, name.strip("/"), list(args)):
        raise RuntimeError(f"the raw {name} call failed")
    return time.perf_counter() - start


def _cheap_clients(url: str, cheap: dict[str, tuple], first: int, n: int, total: int, start_at: float,
                   duration: float, think: float, gradio: bool, out) -> None:
    """In a process of its own: ``n`` cheap clients (numbered from ``first`` of ``total``), each calling the cheap
    endpoints in turn with ``think`` s (± 50 %, at random) between calls, from ``start_at`` (a ``time.time()``) for
    ``duration`` s; puts ``(latencies per endpoint, errors)`` on ``out``. The clients start spread over one think
    time and their pauses vary, as people's do: started together with fixed pauses, 20 clients called in lockstep
    bursts of 20 calls at once, every second, and measured the burst."""
    import random
    lat: dict[str, list[float]] = {name: [] for name in cheap}
    errors: Counter = Counter()
    names = list(cheap)
    conns = []
    if gradio:
        from gradio_client import Client

        conns = [Client(url, verbose=False) for _ in range(n)]
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + duration

    def loop(i: int):
        k = first + i
        rng = random.Random(k)
        time.sleep(think * k / total)
        while time.monotonic() < deadline:
            name = names[k % len(names)]
            k += 1
            try:
                if gradio:
                    t0 = time.perf_counter()
                    conns[i].predict(*cheap[name], api_name=name)
                    lat[name].append(time.perf_counter() - t0)
                else:
                    lat[name].append(raw_call(url, name, cheap[name]))
            except Exception as exc:  # counted by kind
                errors[f"{name} {type(exc).__name__}"] += 1
            time.sleep(think * rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((lat, errors))


def crowd(url: str, model_plan: list[tuple], cheap: dict[str, tuple], clients: int, duration: float,
          think: float, procs: int, gradio: bool, n_model: int) -> tuple[dict[str, list[float]], Counter]:
    """Run ``clients`` clients for ``duration`` s: a third run model events back to back (gradio_client, streaming,
    a process of their own), the rest call the cheap endpoints with ``think`` s between calls, spread over
    ``procs`` processes (people's clients run on their own machines: 20 client threads in one Python process
    measured that process's own GIL queue, ~1 core of client work on this 2-core machine, not the server). Returns
    the cheap calls' latencies per endpoint and the errors."""
    import multiprocessing

    n_cheap = clients - n_model
    ctx = multiprocessing.get_context("spawn")
    model_errors = ctx.Value("i", 0)
    models = ctx.Process(target=_model_clients, args=(url, model_plan, n_model, duration + 15, model_errors))
    if n_model:
        models.start()
    out = ctx.Queue()
    start_at = time.time() + 15  # the model clients connect and start (gradio_client fetches the whole config)
    share = [n_cheap // procs + (1 if i < n_cheap % procs else 0) for i in range(procs)]
    firsts = [sum(share[:i]) for i in range(procs)]
    workers = [ctx.Process(target=_cheap_clients, args=(url, cheap, first, n, n_cheap, start_at, duration, think,
                                                         gradio, out))
               for first, n in zip(firsts, share, strict=True) if n]
    for w in workers:
        w.start()
    lat: dict[str, list[float]] = {name: [] for name in cheap}
    errors: Counter = Counter()
    for _ in workers:
        part, errs = out.get(timeout=duration + 600)
        for name, values in part.items():
            lat[name] += values
        errors.update(errs)
    for w in workers:
        w.join(60)
    if n_model:
        models.join(300)
    if model_errors.value:
        errors["model events failed"] = model_errors.value
    return lat, errors


def print_crowd(idle: dict[str, list[float]], busy: dict[str, list[float]], clients: int, duration: float,
                think: float, how: str, n_model: int) -> None:
    print(f"\nCheap calls ({how}), idle (one client) vs a crowd of {clients} clients for {duration:.0f} s "
          f"({n_model} running model events back to back, {clients - n_model} cheap clients, {think} s between calls)")
    print(f"{'endpoint':16} {'idle p50':>9} {'idle p95':>9} {'crowd n':>8} {'crowd p50':>10} {'crowd p95':>10} "
          f"{'p95 ratio':>9}")
    for name in idle:
        if not busy[name]:
            print(f"{name:16} no call completed under the crowd")
            continue
        ratio = p95(busy[name]) / p95(idle[name])
        print(f"{name:16} {statistics.median(idle[name]):9.3f} {p95(idle[name]):9.3f} {len(busy[name]):8d} "
              f"{statistics.median(busy[name]):10.3f} {p95(busy[name]):10.3f} {ratio:9.2f}")
    for name in idle:
        if busy[name]:
            report(f"crowd_{name.strip('/').replace(' ', '_')}_p95", p95(busy[name]), p95(idle[name]))


def start_bare(log: Path):
    """Serve ``bench/bare_app.py`` (the cheap API names, doing next to nothing) on a free port; (process, url)."""
    import subprocess

    from app_helpers import free_port, wait_until_up

    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_app.py"), str(port)], stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(proc, url, log, timeout=300)
    return proc, url


def idle_sample(url: str, cheap: dict[str, tuple]) -> dict[str, list[float]]:
    """100 calls of each cheap endpoint, one at a time, over plain HTTP, after 2 to warm up (a p95 of 20 was the
    19th value: one slow call moved it by half)."""
    return {name: [raw_call(url, name, args) for _ in range(102)][2:] for name, args in cheap.items()}


def main_bare(clients: int, duration: float, think: float, procs: int, gradio: bool) -> None:
    """``--clients N --bare``: the same idle sample and crowd of cheap clients (no model clients: it has no models)
    against a bare Gradio app whose handlers do next to nothing: the part of the crowd's p95 that Gradio and this
    machine's shared cores add by themselves."""
    import tiny_models

    paths = tiny_models.build_all()
    tmp = Path(tempfile.mkdtemp())
    proc, url = start_bare(tmp / "bare.log")
    try:
        cheap = crowd_cheap_calls(paths)
        idle = idle_sample(url, cheap)
        busy, errors = crowd(url, [], cheap, clients, duration, think, procs, gradio, 0)
        print_crowd(idle, busy, clients, duration, think, "bare Gradio, plain HTTP through the queue", 0)
        print(f"errors under the crowd: {dict(errors) or 'none'}")
    finally:
        proc.terminate()
        proc.wait(10)


def main_crowd(clients: int, duration: float, think: float, procs: int, gradio: bool, n_model: int) -> None:
    """``--clients N``: idle sample, then the crowd, on one served app."""
    import tiny_models
    from fake_openai import FakeOpenAI

    paths = tiny_models.build_all()
    bench_lm = str(bench_lm_dir())
    tmp = Path(tempfile.mkdtemp())
    with FakeOpenAI(api_key="load-key") as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "load-key", "HF_HUB_OFFLINE": "1",
               "WORKBENCH_ARENA_DB": str(tmp / "arena.db")}
        proc, url = start(env, tmp / "app-crowd.log")
        try:
            cheap = crowd_cheap_calls(paths)
            if gradio:
                sample(url, cheap, n=2)  # warm: tokenizers and facts are loaded once
                idle = sample(url, cheap)
            else:
                idle = idle_sample(url, cheap)
            model_plan = [((bench_lm, "", "The crowd waits for", 40, 3, 0.0), "/next_tokens"),
                          (([str(paths["lm-qwen2"]), "openai:fake-echo"], "Be brief.", "Hi", 16, 0.0, "auto", True),
                           "/compare")]
            busy, errors = crowd(url, model_plan, cheap, clients, duration, think, procs, gradio, n_model)
            how = "gradio_client" if gradio else "plain HTTP through the queue"
            print_crowd(idle, busy, clients, duration, think, how, n_model)
            print(f"errors under the crowd: {dict(errors) or 'none'}")
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Load test of the served app (loopback only)")
    parser.add_argument("--clients", type=int, default=0, help="run the crowd phase with this many clients instead")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of crowd (with --clients)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a cheap client's calls")
    parser.add_argument("--procs", type=int, default=4, help="processes the crowd's cheap clients run in")
    parser.add_argument("--model-clients", type=int, default=None,
                        help="how many of the clients run model events (default a third; 0 = a crowd of cheap "
                             "clients only, to tell the model's share of a slowdown from the crowd's own)")
    parser.add_argument("--bare", action="store_true",
                        help="the same crowd of cheap clients (no model clients) against a bare Gradio app whose "
                             "handlers do next to nothing (bench/bare_app.py): what Gradio and the machine add")
    parser.add_argument("--gradio-client", action="store_true",
                        help="cheap clients call through gradio_client (its own ~70 ms per call included)")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support")]
    if args.clients and args.bare:
        main_bare(args.clients, args.duration, args.think, args.procs, args.gradio_client)
        return
    if args.clients:
        n_model = max(1, args.clients // 3) if args.model_clients is None else args.model_clients
        main_crowd(args.clients, args.duration, args.think, args.procs, args.gradio_client, n_model)
        return
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support")]
    import tiny_models
    import tiny_pipelines
    from fake_openai import FakeOpenAI

    paths = tiny_models.build_all()
    pipes = tiny_pipelines.build_all()
    tmp = Path(tempfile.mkdtemp())
    with FakeOpenAI(api_key="load-key") as server:
        server.script("synth", '{"name": "Ann", "age": 31}\n{"name": "Bo", "age": 44}\n{"name": "Cy", "age": 52}')
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "load-key", "HF_HUB_OFFLINE": "1",
               "WORKBENCH_ARENA_DB": str(tmp / "arena.db")}
        proc, url = start(env, tmp / "app.log")
        try:
            cheap = cheap_calls(str(paths["tok-llama"]))
            sample(url, cheap, n=2)  # warm: the tokenizer is loaded once
            idle = sample(url, cheap)
            busy = saturated(url, str(bench_lm_dir()), cheap)  # a 30M model: real CPU work
            print_cheap(idle, busy)
            results = run_phase(url, calls(paths, pipes))
            print_table(f"{CLIENTS} clients x {REQUESTS_PER_CLIENT} requests, every tab", results)
        finally:
            proc.terminate()
            proc.wait(10)
        proc, url = start({**env, "WORKBENCH_QUEUE_SIZE": "2"}, tmp / "app-small-queue.log")
        try:
            seconds, count = busy_answer(url, str(paths["lm-llama"]))
            print(f"busy_answer_s: {seconds:.3f} ({count} of 12 requests told the queue is full; target ≤ 1 s)")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
