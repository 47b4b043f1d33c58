"""Evaluate's code items and the sandbox: they share the one sandbox slot with every other caller, and a run whose
worst-case sandbox time is over the deployment's bound is refused before anything runs."""

from __future__ import annotations

import threading

import pytest

from engines import errors, evals, sandbox
from engines.evals.testsets import Item
from engines.evals.testsets import TestSet as Set
from engines.sandbox import execute


def _sandbox_ok() -> bool:
    try:
        sandbox.check_allowed()
    except errors.Unsupported:
        return False
    return True


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture()
def running(monkeypatch) -> dict[str, int]:
    """Counts programs running in the sandbox now ("now"), at most at once ("peak") and in all ("total"): a
    program is running while ``execute._collect`` reads its output and waits for it."""
    counts = {"now": 0, "peak": 0, "total": 0}
    lock = threading.Lock()
    original = execute._collect

    def counted(*args, **kwargs):
        with lock:
            counts["now"] += 1
            counts["total"] += 1
            counts["peak"] = max(counts["peak"], counts["now"])
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                counts["now"] -= 1

    monkeypatch.setattr(execute, "_collect", counted)
    return counts


def _code_set(n: int) -> Set:
    return Set("code", "t", [Item(id=str(i), kind="code", question=f"Write f ({i})", tests="assert f() == 1")
                             for i in range(n)])


@pytest.mark.skipif(not _sandbox_ok(), reason="no sandbox works on this machine")
def test_evaluate_and_direct_runs_share_the_sandbox_slot(remote_env, running, monkeypatch):
    # regression: Evaluate ran its code items outside the sandbox slot, 4 programs at once (5-6 with the Code tab)
    from engines.evals import items

    # what is tested is the slot, not the clock: a 0.3 s program hit Evaluate's 10 s limit (12.8 s) in a loaded run
    monkeypatch.setitem(items.SANDBOX_LIMITS, "wall_s", 120.0)
    remote_env.respond("slow-coder", lambda m: "```python\nimport time\ntime.sleep(0.3)\ndef f():\n    return 1\n```")
    store = evals.RunStore.default()
    events = evals.start_run(_code_set(8), ["openai:slow-coder"], evals.RunConfig(parallel=4), store=store)
    direct: list[sandbox.RunResult] = []

    def run_direct():
        for _ in range(3):
            direct.append(sandbox.run_python("import time\ntime.sleep(0.3)\nprint('direct')\n"))

    others = [threading.Thread(target=run_direct) for _ in range(2)]
    for t in others:
        t.start()
    final = list(events)[-1]
    for t in others:
        t.join(300)
    assert final.status == "complete" and final.done == 8
    assert all(r.score == 1.0 for r in store.results(final.run.id))
    assert len(direct) == 6 and all(r.ok and r.stdout == "direct\n" for r in direct)
    assert running["total"] == 14
    assert running["peak"] == 1, running


def test_over_budget_run_is_refused_before_anything_runs(remote_env, running, monkeypatch):
    # regression: nothing bounded a run's sandbox time (1,000 items × 20 samples × 6 models × 10 s could be asked)
    monkeypatch.setenv("WORKBENCH_MAX_EVAL_SANDBOX_S", "1000")
    remote_env.respond("coder", lambda m: "```python\ndef f():\n    return 1\n```")
    store = evals.RunStore.default()
    before = len(remote_env.requests)
    models = ["openai:coder", "openai:coder-2"]
    config = evals.RunConfig(samples=3, temperature=0.8)
    with pytest.raises(errors.InvalidInput) as caught:
        next(evals.start_run(_code_set(17), models, config, store=store))
    message = str(caught.value)
    assert "up to 1,020 s of sandbox time (17 code items × 3 samples × 2 models × 10 s per program)" in message
    assert "bound of 1,000 s (WORKBENCH_MAX_EVAL_SANDBOX_S)" in message
    assert running["total"] == 0 and len(remote_env.requests) == before and store.list_runs() == []


def test_run_within_the_bound_starts(remote_env, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_EVAL_SANDBOX_S", "1000")
    remote_env.respond("coder", lambda m: "```python\ndef f():\n    return 1\n```")
    config = evals.RunConfig(samples=3, temperature=0.8)
    first = next(evals.start_run(_code_set(16), ["openai:coder", "openai:coder-2"], config))  # 960 s: allowed
    assert first.status == "running"
