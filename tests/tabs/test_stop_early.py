"""A Stop pressed as soon as the page shows "Running" stops that run (the Compare browser test's Stop was lost twice
in whole quiet suites: the run ended "Done 2 of 2 finished").

The run's handler made its stop flag when its body began, one step after its "running" update went out; a Stop in
between set the last run's flag (or found none) and the new run went on to its end. Now ``on(..., stop_flag=...)``
puts the new flag in the session's holder before "running" goes out. In process: the app is built once, the
handler is called as Gradio calls it, and Stop arrives right after the first update."""

from __future__ import annotations

import threading

import pytest

import app
from engines.config import Settings
from engines.context import Context

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # tiny stand-ins through the models dir
QWEN = "Qwen/Qwen2-7B-Instruct"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, models_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
        mp.setenv("WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield app.build_demo(Context.build(Settings.from_env()))


def _event(demo, api_name: str):
    found = [f for f in demo.fns.values() if f.api_name == api_name]
    assert len(found) == 1
    return found[0]


def _status(update: dict) -> str:
    return next(v for k, v in update.items() if getattr(k, "elem_id", None) == "cmp-status")


@pytest.mark.parametrize("stopped_before_the_first_update", [False, True])
def test_a_stop_right_after_running_shows_stops_that_run(demo, stopped_before_the_first_update):
    from tabs.compare.side import stop_run

    event = _event(demo, "compare")
    holder = {}
    if stopped_before_the_first_update:  # a Stop of an earlier run that ended: its flag is set and stays there
        holder["stop"] = threading.Event()
        holder["stop"].set()
    run = event.fn([LLAMA, QWEN], "", "Tell me a story", 300, 0.0, "auto", False, False, holder)
    first = next(run)
    assert "Starting the models" in _status(first)
    if stopped_before_the_first_update:
        assert not holder["stop"].is_set()  # a new run starts with a new flag: the old Stop doesn't stop it
    stop_run(holder)  # Stop, as soon as the page shows "Running"
    last = list(run)[-1]
    assert "data-state='stopped'" in _status(last) and "2 stopped (their text so far stays)" in _status(last)
