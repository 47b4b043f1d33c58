"""One context, every tab (issue 24): through the built app, a call of a Pipelines, Chat, Evaluate, Hub, arena or
Fine-tune handler reads no settings from the environment (``Settings.from_env``): the app binds its one
``Context.settings`` to each (``tabs.common.with_settings``) and the handlers pass it to the engines.

In process and fast: the app is built once (no model is loaded), each handler is found in ``demo.fns`` by its API name
and called with tiny inputs, or inputs refused at once with a clear engine error; the chat answers through the fake
OpenAI server, the Hub is offline (its offline state lists the local models)."""

from __future__ import annotations

import inspect

import gradio as gr
import pytest
from app_helpers import SECRET_MARKER, count_settings_reads
from tiny_pipelines import pl_models  # noqa: F401  (fixture)

import app
from engines.config import Settings
from engines.context import Context


@pytest.fixture(scope="module")
def demo(tmp_path_factory, models_dir):
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
        mp.setenv("WORKBENCH_DATA_DIR", str(data))
        yield app.build_demo(Context.build(Settings.from_env()))


@pytest.fixture()
def reads(monkeypatch, fake_server):
    """How many times ``Settings.from_env`` runs (the counter is cleared by the test before the call it counts)."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_MARKER)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = count_settings_reads(monkeypatch)
    return calls


def handler(demo, api_name: str):
    found = [f.fn for f in demo.fns.values() if f.api_name == api_name]
    assert len(found) == 1, f"no single event with api_name {api_name!r}"
    return found[0]


def outcome(fn, *args):
    """The handler's last update (a streaming handler runs to its end), or the gr.Error it raised."""
    try:
        out = fn(*args)
        return list(out)[-1] if inspect.isgenerator(out) else out
    except gr.Error as exc:
        return exc


def values(update: dict) -> dict:
    """An update keyed by component label (handlers' outputs are keyed by component)."""
    return {getattr(k, "label", None) or getattr(k, "elem_id", None): v for k, v in update.items()}


CALLS = {  # api name: (arguments, what the result says: a fragment of the error, or a check of the update)
    "pipeline_classify": (("sentiment-analysis", "../bad", "hi"), "relative parent paths are not accepted"),
    "pipeline_text": (("text-generation", "openai:chat-ctx", "hi"), "remote API model"),
    "chat": (("Hello", [], "openai:chat-ctx", "", 16, 0.0), lambda out: "Hello!" in values(out).values()),
    "load_test_set": (("example", "short-qa"), lambda out: len(values(out)["Set id (sha256)"]) == 64),
    "get_results": (("latest",), "No stored run"),
    "hub_search_models": (("qwen",), lambda out: "Offline mode is on" in str(values(out))),
    "hub_model": (("acme/chat-1b",), lambda out: "Offline mode is on" in str(values(out))),
    "arena_battle": ((["openai:chat-ctx", "openai:chat-ctx-2"], "hi", 16),
                     lambda out: len(values(out)["arena-match"]) > 0),  # a match to vote on: both answered
    "arena_leaderboard": ((), lambda out: "votes" in str(values(out)).lower()),
    "arena_vote": (("a", "no-such-match"), "no match to vote on"),
    "finetune_check": (("", "dataset", None, "../up"), "Give a Hub dataset id"),
    "finetune_runs": ((), lambda out: values(out)),
}


@pytest.mark.parametrize("api_name", list(CALLS))
def test_a_call_through_the_app_reads_no_settings(demo, reads, fake_server, api_name):
    for name in ("chat-ctx", "chat-ctx-2"):
        fake_server.respond(name, lambda messages: "Hello!")
    args, expected = CALLS[api_name]
    fn = handler(demo, api_name)
    reads.clear()
    out = outcome(fn, *args)
    if isinstance(expected, str):
        assert isinstance(out, gr.Error) and expected in str(out), out  # the refusal is the engine's own
    else:
        assert not isinstance(out, gr.Error) and expected(out), out
    assert reads["from_env"] == 0, f"{api_name} read the settings from the environment {reads['from_env']} times"


def test_a_pipeline_run_through_the_app_reads_no_settings(demo, reads, pl_models):  # noqa: F811
    """A model run too: its generation cap is the app's (it was read per run: the engine's runners read it)."""
    fn = handler(demo, "pipeline_text")
    outcome(fn, "text-generation", "Qwen/Qwen2.5-0.5B-Instruct", "Hello", "en-fr", 10, 60, 4)  # loads it once
    reads.clear()
    out = outcome(fn, "text-generation", "Qwen/Qwen2.5-0.5B-Instruct", "Hello world", "en-fr", 10, 60, 4)
    assert not isinstance(out, gr.Error) and values(out)["Output"].startswith("Hello world"), out
    assert reads["from_env"] == 0


def test_the_count_can_fail(demo, reads):
    """Called as a library (no context), the same handler reads the environment: the counter sees it."""
    from tabs.hub import handlers as hub

    reads.clear()
    assert "Offline mode is on" in hub.hub_search_models("qwen")["status"]
    assert reads["from_env"] > 0


def test_an_evaluation_run_through_the_app_reads_no_settings(demo, reads, fake_server, tmp_path):
    """A whole run, a code item included: the runner, its threads, the scoring and the sandbox read the app's
    settings (``Settings.current()`` inside a bound call): it was ~18 reads of the environment per run."""
    fake_server.respond("eval-ctx", lambda messages: "```python\ndef add(a, b):\n    return a + b\n\n\n"
                                                     "def sub(a, b):\n    return a - b\n```")
    path = tmp_path / "set.jsonl"
    path.write_text('{"prompt": "Write add(a, b).", "tests": "assert add(1, 2) == 3"}\n'
                    '{"prompt": "Write sub(a, b).", "tests": "assert sub(3, 1) == 2"}\n', encoding="utf-8")
    loaded = outcome(handler(demo, "load_test_set"), "upload", None, str(path))
    assert not isinstance(loaded, gr.Error), loaded
    set_id = values(loaded)["Set id (sha256)"]
    reads.clear()
    out = outcome(handler(demo, "run_evaluation"), set_id, ["openai:eval-ctx"])
    assert not isinstance(out, gr.Error), out
    assert "2/2" in str(values(out)), values(out)  # both programs ran in the sandbox and passed
    assert reads["from_env"] == 0, f"the run read the settings from the environment {reads['from_env']} times"


def test_threads_an_engine_starts_keep_the_calls_settings():
    """``in_this_call``: a worker thread sees the call's settings; a plain thread reads the environment."""
    import threading

    from engines.config import in_this_call, using_settings

    bound = Settings.from_env()
    seen = {}
    with using_settings(bound):
        assert Settings.current() is bound
        workers = [threading.Thread(target=in_this_call(lambda: seen.setdefault("kept", Settings.current()))),
                   threading.Thread(target=lambda: seen.setdefault("plain", Settings.current()))]
        for w in workers:
            w.start()
            w.join()
    assert seen["kept"] is bound and seen["plain"] is not bound
    assert Settings.current() is not bound  # the block is over
