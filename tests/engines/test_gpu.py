"""engines.gpu: the ZeroGPU decorator is a no-op off a Space, the generate threads are reused and run model work at a
lower CPU priority, device probing."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from engines import gpu
from engines.config import Settings, using_settings

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")


def _nice() -> int:
    """The calling thread's nice value (Linux: PRIO_PROCESS with 0 is the calling thread)."""
    return os.getpriority(os.PRIO_PROCESS, 0)


def _in_new_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_off_zero_gpu_the_decorated_body_runs_on_the_model_threads(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)

    def work(x):
        """Doubles x."""
        return x * 2, threading.current_thread().name, gpu.on_a_model_thread()

    def steps(n):
        for i in range(n):
            yield i, threading.current_thread().name

    def nested(x):  # a model thread calling model work runs it itself: it never waits for a thread of its own pool
        return threading.current_thread().name, gpu.gpu(duration=5)(work)(x)[1]

    wrapped = gpu.gpu(duration=5)(work)
    value, thread, flagged = wrapped(21)
    assert value == 42 and thread.startswith("generate") and flagged and wrapped.__doc__ == "Doubles x."
    outer, inner = gpu.gpu(duration=lambda x: 5)(nested)(2)
    assert outer == inner and outer.startswith("generate")
    assert all(name.startswith("generate") for _, name in gpu.gpu()(steps)(3))
    assert [i for i, _ in gpu.gpu()(steps)(3)] == [0, 1, 2]
    assert not gpu.on_a_model_thread() and gpu.gpu(model_threads=False)(work) is work


def test_decorator_wraps_with_spaces_gpu_on_zero_gpu(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("spaces")

    def GPU(duration):  # noqa: N802  (the real package's name)
        calls.append(duration)
        return lambda fn: (lambda *a, **k: ("on gpu", fn(*a, **k)))

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACE_ID", "me/space")
    monkeypatch.setenv("SPACES_ZERO_GPU", "1")

    def work(x):
        """Doubles x."""
        return x * 2

    wrapped = gpu.gpu(duration=30)(work)
    assert wrapped(2) == ("on gpu", 4) and calls == [30] and wrapped.__doc__ == "Doubles x."


def test_generation_pool_reuses_its_threads():
    pool = gpu.generation_pool()
    assert gpu.generation_pool() is pool
    names = {pool.submit(lambda: threading.current_thread().name).result() for _ in range(20)}
    assert names and all(n.startswith("generate") for n in names) and len(names) <= 8


def test_device_and_memory_probes_on_this_machine():
    assert gpu.torch_device() in ("cuda", "mps", "cpu")
    memory = gpu.gpu_memory()
    assert memory is None or {"allocated", "peak", "free", "total", "name"} <= set(memory)


@linux_only
def test_lowering_a_threads_priority_leaves_the_rest_of_the_process_as_it_was():
    base = _nice()

    def lowered():
        changed = gpu.lower_this_threads_priority(3)
        return changed, _nice(), _in_new_thread(_nice)  # a thread it starts (torch's OpenMP workers) inherits it

    changed, mine, child = _in_new_thread(lowered)
    assert changed and mine == child == min(19, base + 3)
    assert _nice() == base and _in_new_thread(_nice) == base  # other threads are left alone
    assert _in_new_thread(lambda: (gpu.lower_this_threads_priority(0), _nice())) == (False, base)


@linux_only
def test_generation_pool_threads_compute_at_the_lower_priority(monkeypatch):
    base = _nice()
    monkeypatch.setattr(gpu, "_POOL", None)  # a pool made under this test's settings
    monkeypatch.setenv("WORKBENCH_MODEL_NICE", "7")
    try:
        assert gpu.generation_pool().submit(_nice).result() == min(19, base + 7)
    finally:
        gpu.generation_pool().shutdown()


def test_on_model_threads_steps_a_generator_on_the_pool_with_the_calls_settings_and_closes_it():
    closed = []

    def steps():
        try:
            for i in range(5):
                yield i, threading.current_thread().name, Settings.current().max_new_tokens
        finally:
            closed.append(threading.current_thread().name)

    with using_settings(Settings(max_new_tokens=77)):
        rows = list(gpu.on_model_threads(steps()))
    assert [r[0] for r in rows] == list(range(5))
    assert all(name.startswith("generate") for _, name, _ in rows) and {r[2] for r in rows} == {77}
    assert len(closed) == 1

    closed.clear()
    stream = gpu.on_model_threads(steps())
    assert next(stream)[0] == 0 and next(stream)[0] == 1
    stream.close()  # the user pressed Stop: the model's generator ends now
    assert len(closed) == 1


def test_model_threads_are_niced_on_a_space_only_by_default(monkeypatch):
    """Locally a nice counts against every program on the machine: with 4 busy programs the suite's models, at
    nice 10, got ~10 % of a core each and the loaded run took 40 min instead of 25. On a Space the container is the
    app's own."""
    monkeypatch.delenv("WORKBENCH_MODEL_NICE", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert Settings.from_env().model_nice == 0
    monkeypatch.setenv("SPACE_ID", "me/workbench")
    assert Settings.from_env().model_nice == 10
    monkeypatch.setenv("WORKBENCH_MODEL_NICE", "3")
    assert Settings.from_env().model_nice == 3
