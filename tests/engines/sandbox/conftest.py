"""Sandbox fixtures: ``mode`` runs a test in every isolation mode that works here, ``budget`` in every budget mode
(ids name the mode); ``gone`` waits until no process with a marker in its command line is left."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engines import sandbox
from engines.sandbox import cgroups, commands, probes


def _available(mode: str) -> bool:
    if mode == "bwrap":
        return probes.bwrap_works()
    return sandbox.landlock_abi() >= 1 and commands.python_for_jobs() is not None


@pytest.fixture(params=["bwrap", "landlock"])
def mode(request, monkeypatch) -> str:
    if not _available(request.param):
        pytest.skip(f"isolation mode '{request.param}' does not work on this machine")
    monkeypatch.setenv("WORKBENCH_SANDBOX", request.param)
    assert sandbox.isolation() == request.param
    return request.param


@pytest.fixture(params=["cgroup", "rlimit+watchdog"])
def budget(request, monkeypatch) -> str:
    if request.param == "cgroup" and cgroups.parent() is None:
        pytest.skip("no cgroup v2 group with the memory and pids controllers can be made on this machine")
    monkeypatch.setenv("WORKBENCH_BUDGET", request.param)
    assert sandbox.budget_mode() == request.param
    return request.param


def leftovers(marker: str) -> list[int]:
    """Pids whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def gone() -> Callable[[str, float], bool]:
    def wait(marker: str, within: float = 5.0) -> bool:
        deadline = time.monotonic() + within
        while leftovers(marker):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    return wait
