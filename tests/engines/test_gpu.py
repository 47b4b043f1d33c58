"""engines.gpu: the ZeroGPU decorator is a no-op off a Space, the generate threads are reused, device probing."""

from __future__ import annotations

import sys
import threading

import pytest

from engines import gpu


def test_decorator_is_a_no_op_off_zero_gpu(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)

    def work(x):
        return x * 2

    assert gpu.gpu(duration=5)(work) is work
    assert gpu.gpu(duration=lambda x: 5)(work)(21) == 42


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


def _nice(tid: int | None = None) -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, tid or threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread nice is Linux's")
def test_model_threads_run_at_a_lower_priority_than_the_server():
    """Issue 26 (10): a model's compute kept cheap events waiting under a crowd; model threads are nicer, the caller's
    thread (a server worker) is left as it was."""
    before = _nice()
    nice = gpu.generation_pool().submit(_nice).result()
    assert nice == min(19, before + gpu.MODEL_THREAD_NICE) and nice > before
    assert _nice() == before


def test_on_model_threads_computes_each_step_there_and_closes_the_steps():
    closed = []

    def steps():
        try:
            for i in range(5):
                yield i, threading.current_thread().name
        finally:
            closed.append(threading.current_thread().name)

    rows = []
    for i, name in gpu.on_model_threads(steps()):
        rows.append((i, name))
        if i == 2:
            break
    assert [i for i, _ in rows] == [0, 1, 2] and all(n.startswith("generate") for _, n in rows)
    assert closed and closed[0].startswith("generate")  # closed when the consumer stopped early
    assert list(gpu.on_model_threads(iter(range(3)))) == [0, 1, 2]  # an iterator without close()


def test_on_model_threads_raises_the_steps_error_in_the_caller():
    def steps():
        yield 1
        raise ValueError("step two failed")

    out = gpu.on_model_threads(steps())
    assert next(out) == 1
    with pytest.raises(ValueError, match="step two failed"):
        next(out)
