"""A run the server has just started reads *starting* until its worker reports, and *crashed* only once that very
process is gone: a just-spawned worker's command line reads empty until its exec completes, and a refresh can
arrive while the server spawns (issue 27, item 1)."""

from __future__ import annotations

import psutil
import pytest
import tiny_finetune as tf

from engines import finetune as ft
from engines.finetune import jobs, runs


@pytest.fixture()
def slow_start(monkeypatch):
    fake = tf.SlowStart()
    monkeypatch.setattr(jobs.subprocess, "Popen", fake)
    yield fake
    fake.kill()


def test_a_just_spawned_worker_that_has_not_reported_is_starting_not_crashed(tiny, ft_root, slow_start):
    run = ft.start_run(tf.prepare(tiny["lm-llama"]))
    assert run.state == "starting" and run.live and run.process_alive, (run.state, run.message)
    assert "ended unexpectedly" not in run.message
    again = ft.read_run(run.id)
    assert again.state == "starting" and again.process_alive
    proc = slow_start.procs[-1]
    proc.kill()
    proc.wait()
    gone = ft.read_run(run.id)
    assert gone.state == "crashed" and not gone.process_alive and gone.resumable


def test_a_refresh_while_the_server_spawns_reads_starting(tiny, ft_root, monkeypatch):
    folder = {}
    fake = tf.SlowStart(peek=lambda: ft.read_run(folder["id"]))
    monkeypatch.setattr(jobs.subprocess, "Popen", fake)
    real_new_id = runs.new_run_id

    def new_id(display):
        folder["id"] = real_new_id(display)
        return folder["id"]

    monkeypatch.setattr(runs, "new_run_id", new_id)
    try:
        ft.start_run(tf.prepare(tiny["lm-llama"]))
    finally:
        fake.kill()
    [seen] = fake.seen
    assert seen.state == "starting", (seen.state, seen.message)


def test_a_pid_reused_by_another_process_is_not_the_worker(tiny, ft_root, slow_start):
    run = ft.start_run(tf.prepare(tiny["lm-llama"]))
    spawned = runs.read_json(run.folder / "spawn.json")
    runs.write_json(run.folder / "spawn.json", {**spawned, "created": spawned["created"] - 100})
    assert psutil.pid_exists(spawned["pid"])
    assert ft.read_run(run.id).state == "crashed"


def test_a_worker_that_finishes_while_its_run_is_read_reads_done_not_crashed(tiny, ft_root, slow_start, monkeypatch):
    """Seen in a loaded run: Stop answered "not running (it is crashed)" for a run that had just finished. The run was
    read as "running" from status.json, then the worker wrote "done" and exited before its process was checked: a
    dead worker with a live record read as crashed."""
    run = ft.start_run(tf.prepare(tiny["lm-llama"]))
    runs.write_json(run.folder / "status.json", {"state": "running", "pid": slow_start.procs[-1].pid, "step": 19})
    alive = runs.worker_alive

    def finishes_meanwhile(pid, folder, created=None):  # between reading the record and checking the process
        runs.write_json(folder / "status.json",
                        {"state": "done", "pid": pid, "step": 20, "message": "Done: 20 steps."})
        proc = slow_start.procs[-1]
        proc.kill()
        proc.wait()
        return alive(pid, folder, created)

    monkeypatch.setattr(runs, "worker_alive", finishes_meanwhile)
    view = ft.read_run(run.id)
    assert view.state == "done" and view.message == "Done: 20 steps." and not view.process_alive
