"""One training run at a time (WORKBENCH_MAX_TRAINING_RUNS): a second Start or Resume is refused while a worker
trains, naming the run; live processes are counted, so a crashed worker doesn't block; two Starts at once can't both
pass. Runs here are far longer than the test (a tiny model trains ~50 steps/s) and every worker is killed."""

from __future__ import annotations

import threading

import pytest
import tiny_finetune as tf

from engines import errors
from engines import finetune as ft

LONG = {"max_steps": 1_000_000, "save_steps": 1_000_000, "eval_steps": 1_000_000}


@pytest.fixture()
def started(ft_root, done_run):
    """Run ids started by the test; their workers are killed at the end."""
    ids: list[str] = []
    yield ids
    for run_id in ids:
        tf.kill_run(ft_root / run_id)
    tf.wait_for(lambda: ft.runs.training_runs(), lambda busy: not set(ids) & set(busy), timeout=60)


def _training(run_id: str) -> ft.RunView:
    return tf.wait_for(lambda: ft.read_run(run_id), lambda v: v.state == "running" or not v.live)


@pytest.mark.slow
def test_a_second_start_is_refused_while_a_run_trains_and_a_crashed_worker_does_not_block(tiny, started, ft_root):
    prep = tf.prepare(tiny["lm-llama"], **LONG)
    first = ft.start_run(prep)
    started.append(first.id)
    assert _training(first.id).state == "running"
    before = {p.name for p in ft_root.iterdir()}
    with pytest.raises(errors.Busy, match=f"A run is training: {first.id}. Stop it or wait"):
        ft.start_run(prep)
    with pytest.raises(errors.Busy, match=first.id):
        ft.check_training_slot()
    assert {p.name for p in ft_root.iterdir()} == before  # a refused run leaves no folder behind
    tf.kill_run(ft_root / first.id)  # the worker dies without a word: its record still says "running"
    tf.wait_for(lambda: ft.runs.training_runs(), lambda busy: first.id not in busy, timeout=60)
    second = ft.start_run(prep)  # the crashed worker holds no slot
    started.append(second.id)
    assert ft.read_run(first.id).state == "crashed"
    with pytest.raises(errors.Busy, match=second.id):
        ft.resume_run(first.id)  # resuming trains too


def test_two_starts_at_once_start_one_worker(tiny, started):
    prep = tf.prepare(tiny["lm-llama"], **LONG)
    barrier, outcomes = threading.Barrier(3), []

    def start():
        barrier.wait()
        try:
            outcomes.append(ft.start_run(prep).id)
        except errors.Busy as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ids = [o for o in outcomes if isinstance(o, str)]
    started.extend(ids)
    assert len(ids) == 1 and sum(isinstance(o, errors.Busy) for o in outcomes) == 2
    assert ft.runs.training_runs() == ids


def test_the_limit_is_a_setting(tiny, started, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_TRAINING_RUNS", "2")
    prep = tf.prepare(tiny["lm-llama"], **LONG)
    started.append(ft.start_run(prep).id)
    started.append(ft.start_run(prep).id)
    with pytest.raises(errors.Busy, match="2 runs are training: .*trains 2 runs at a time"):
        ft.start_run(prep)
