"""Load test (loopback only, bounded): concurrent clients drive every tab's API on tiny models.

Prints a table per phase: requests served, errors by kind, p50/p95 latency; then
  busy_answer_s: how fast a full queue answers "busy" (target ≤ 1 s)
  cpu_event_p50_under_gpu_load: a tokenizer call's latency while model events fill the GPU queue, vs idle
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, report

CLIENTS = 16
REQUESTS_PER_CLIENT = 4
BUDGET_S = 300  # the whole phase stops by itself after this


def start(env: dict[str, str], log: Path):
    from conftest import serve_app

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


def tokenize_latency(url: str, tok: str, n: int = 8) -> float:
    from gradio_client import Client

    client = Client(url, verbose=False)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.predict([tok], "responsive?", True, api_name="/tokenize")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def main() -> None:
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
            idle = tokenize_latency(url, str(paths["tok-llama"]))
            results = run_phase(url, calls(paths, pipes))
            print_table(f"{CLIENTS} clients x {REQUESTS_PER_CLIENT} requests, every tab", results)
            stop = threading.Event()

            def keep_gpu_busy():
                from gradio_client import Client

                client = Client(url, verbose=False)
                while not stop.is_set():
                    try:
                        client.predict(str(paths["lm-llama"]), "", "busy busy", 40, 3, 0.0, api_name="/next_tokens")
                    except Exception:  # the server is shutting down at the end of the phase
                        return

            workers = [threading.Thread(target=keep_gpu_busy, daemon=True) for _ in range(3)]
            for w in workers:
                w.start()
            time.sleep(2)
            loaded = tokenize_latency(url, str(paths["tok-llama"]))
            stop.set()
            for w in workers:
                w.join(60)
            report("cpu_event_p50_under_gpu_load", loaded, idle)
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
