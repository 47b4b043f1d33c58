"""The cgroup v2 mechanics, against a directory laid out like a cgroup (the real kernel path runs in every budget
test where this machine delegates a cgroup v2 group; see ``budget`` in conftest)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from engines.sandbox import cgroups
from engines.sandbox.budget import CgroupBudget
from engines.sandbox.limits import Limits


def test_job_group_gets_the_budget(tmp_path):
    group = cgroups.JobCgroup(tmp_path, memory_mb=256, nproc=12)
    assert group.path.parent == tmp_path and group.path.name.startswith(cgroups.PREFIX)
    assert (group.path / "memory.max").read_text() == str(256 * 2**20)
    assert (group.path / "pids.max").read_text() == "12"
    assert (group.path / "memory.oom.group").read_text() == "1"


def test_join_prefix_writes_the_pid_then_execs(tmp_path):
    group = cgroups.JobCgroup(tmp_path, memory_mb=64, nproc=8)
    done = subprocess.run([*group.join_argv(), "/bin/sh", "-c", "echo $$"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0
    assert (group.path / "cgroup.procs").read_text().strip() == done.stdout.strip()  # same process: exec, no fork


def test_join_failure_stops_the_job(tmp_path):
    group = cgroups.JobCgroup(tmp_path, memory_mb=64, nproc=8)
    (group.path / "cgroup.procs").mkdir()  # unwritable
    done = subprocess.run([*group.join_argv(), "/bin/echo", "ran"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 126 and "ran" not in done.stdout


def test_oom_events_are_read(tmp_path):
    group = cgroups.JobCgroup(tmp_path, memory_mb=64, nproc=8)
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n")
    assert not group.oom_killed()
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 1\n")
    assert group.oom_killed()


def test_no_cgroup_v2_parent_means_the_fallback(monkeypatch, tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")  # no memory, no pids
    (tmp_path / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroups, "_mount", lambda: Path("/sys/fs/cgroup"))
    monkeypatch.setenv("WORKBENCH_CGROUP", str(tmp_path))
    cgroups.parent.cache_clear()
    try:
        assert cgroups.parent() is None
    finally:
        cgroups.parent.cache_clear()


def test_cgroup_budget_reports_an_oom(monkeypatch, tmp_path):
    from engines.sandbox.scratch import Job

    monkeypatch.setattr(cgroups, "parent", lambda: tmp_path)
    budget = CgroupBudget(Limits(memory_mb=64), Job(mode="none", scratch=tmp_path / "scratch", uid=None))
    (tmp_path / "scratch").mkdir()
    (budget.group.path / "memory.events").write_text("oom_kill 1\n")
    assert budget.check(1) == "memory"
    monkeypatch.setattr(cgroups.JobCgroup, "remove", lambda self, wait_s=5.0: None)
    assert budget.finish() == "memory"
