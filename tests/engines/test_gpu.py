"""engines.gpu: the ZeroGPU decorator is a no-op off a Space, the generate threads are reused, device probing."""

from __future__ import annotations

import threading

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
