"""What the sandbox reports about this machine, and where it refuses to run code."""

from __future__ import annotations

import ctypes
import warnings

import pytest

from engines import errors, sandbox
from engines.sandbox import Limits

ROOMY = Limits(wall_s=15, cpu_s=15)


def test_reports_isolation_and_budget_mode():
    mode, budget = sandbox.isolation(), sandbox.budget_mode()
    warnings.warn(f"sandbox isolation mode here: {mode}, budget: {budget} ({sandbox.describe()})", stacklevel=1)
    assert mode in sandbox.MODES and budget in sandbox.BUDGET_MODES


def test_describe_shows_budget_beside_isolation():
    line = sandbox.describe()
    assert line.startswith("Isolation:")
    assert sandbox.describe_budget() in line and "Budget per job: 1024 MB" in line
    assert ("cgroup v2" in line) == (sandbox.budget_mode() == "cgroup")


def test_budget_mode_can_be_forced_to_the_fallback(monkeypatch):
    monkeypatch.setenv("WORKBENCH_BUDGET", "rlimit+watchdog")
    assert sandbox.budget_mode() == "rlimit+watchdog"
    assert "watchdog" in sandbox.describe_budget(Limits(memory_mb=256))
    assert "256 MB" in sandbox.describe_budget(Limits(memory_mb=256))


def test_refuses_without_isolation_on_a_space(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SANDBOX", "none")
    monkeypatch.setenv("SPACE_ID", "someone/workbench")
    with pytest.raises(errors.Unsupported, match="disabled on this deployment"):
        sandbox.run_python("print(1)")
    monkeypatch.delenv("SPACE_ID")
    monkeypatch.delenv("WORKBENCH_ALLOW_UNSANDBOXED", raising=False)
    with pytest.raises(errors.Unsupported, match="WORKBENCH_ALLOW_UNSANDBOXED=1"):
        sandbox.run_python("print(1)")
    monkeypatch.setenv("WORKBENCH_ALLOW_UNSANDBOXED", "1")
    r = sandbox.run_python("import os\nprint(sorted(os.environ))\n", limits=ROOMY)
    assert r.ok and r.isolation == "none" and "OPENAI_API_KEY" not in r.stdout


def test_server_is_not_dumpable():
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_public_names_importable_from_the_package():
    for name in ("Limits", "RunResult", "Compiler", "MODES", "isolation", "describe", "check_allowed",
                 "detect_compiler", "run_python", "compile_cpp", "compile_and_run_cpp", "landlock_abi",
                 "seccomp_program", "make_non_dumpable", "budget_mode", "describe_budget"):
        assert hasattr(sandbox, name), name
