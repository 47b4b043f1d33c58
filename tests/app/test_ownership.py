"""With logins on, each user's work is their own and the server's files stay out of reach: evaluation runs (list,
get, "latest", resume) belong to the user who started them, over the API and MCP alike; arena matches can only be
voted on by their asker; local paths must lie inside the configured roots (``~`` refused); test-set ids match
literally (no SQL LIKE)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from app_helpers import SECRET_MARKER, serve_app
from gradio_client import Client
from gradio_client.exceptions import AppError

BOB_TOKEN = "bob-mcp-token-0123456789abcdef"
NO_MAPPING = ("", "", "", "", "", "", "")


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory, models_dir, fake_server):
    log = tmp_path_factory.mktemp("owners") / "app.log"
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_server.base_url,
           "OPENAI_API_KEY": SECRET_MARKER, "WORKBENCH_AUTH": "alice:alice-pass-1,bob:bob-pass-2",
           "WORKBENCH_MCP_TOKEN": f"bob:{BOB_TOKEN}"}
    proc, url = serve_app(env, log, args=("--mcp",))
    yield url
    proc.terminate()
    proc.wait(10)


def _load(client, source="example", example="short-qa", dataset=""):
    return client.predict(source, example, None, dataset, "", "", None, None, *NO_MAPPING, "auto",
                          api_name="/load_test_set")


def _run(client, set_id, system_prompt):
    return client.predict(set_id, ["openai:fake-echo"], "contains", "", "auto", 8, 0, system_prompt, 1, 1, 1e-6, "",
                          api_name="/run_evaluation")


def _mcp_latest(url: str) -> str:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        headers = {"Authorization": f"Bearer {BOB_TOKEN}"}
        async with streamablehttp_client(url + "gradio_api/mcp/", headers=headers, timeout=120) as (r, w, _):
            async with ClientSession(r, w) as session:
                await session.initialize()
                result = await session.call_tool("get_results", {"run_id": "latest"})
                return " ".join(getattr(c, "text", "") for c in result.content)

    return asyncio.run(run())


def test_runs_belong_to_the_user_who_started_them(shared_app):
    alice = Client(shared_app, auth=("alice", "alice-pass-1"), verbose=False)
    bob = Client(shared_app, auth=("bob", "bob-pass-2"), verbose=False)
    set_id = _load(alice)[-1]
    alice_run = _run(alice, set_id, "ALICE-PRIVATE-PROMPT")[4]
    for call in (lambda: bob.predict("latest", api_name="/get_results"),
                 lambda: bob.predict(alice_run, api_name="/get_results"),
                 lambda: bob.predict(alice_run, "qa-01", api_name="/item_details"),
                 lambda: bob.predict(alice_run, api_name="/resume_evaluation")):
        with pytest.raises(AppError, match="No stored run"):
            call()
    bob_run = _run(bob, _load(bob)[-1], "bob's prompt")[4]
    *_, bobs = bob.predict("latest", api_name="/get_results")
    assert bobs["run"]["id"] == bob_run and "ALICE-PRIVATE-PROMPT" not in json.dumps(bobs)
    *_, alices = alice.predict("latest", api_name="/get_results")
    assert alices["run"]["id"] == alice_run and "ALICE-PRIVATE-PROMPT" in json.dumps(alices)
    # an MCP client with Bob's token acts as Bob
    text = _mcp_latest(shared_app)
    assert bob_run in text and alice_run not in text and "ALICE-PRIVATE-PROMPT" not in text


def test_local_paths_stay_inside_the_roots(shared_app, models_dir):
    bob = Client(shared_app, auth=("bob", "bob-pass-2"), verbose=False)
    for path in ("/etc", "~", "~/.ssh", str(models_dir / ".." / "..")):
        with pytest.raises(AppError) as info:
            _load(bob, source="dataset", dataset=path)
        message = str(info.value)
        assert ("only inside" in message and str(models_dir) in message) or "'~' paths" in message \
            or "'..'" in message, message
    with pytest.raises(AppError, match="only inside"):
        bob.predict(["/etc"], "hi", True, api_name="/tokenize")
    # a dataset folder inside the models dir (a root) is read
    folder = models_dir / "datasets" / "qa"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text('{"question": "2+2?", "answer": "4"}\n')
    status = _load(bob, source="dataset", dataset=str(folder))[0]
    assert "1 item" in status


def test_an_arena_match_is_voted_on_only_by_its_asker(tmp_path, monkeypatch):
    from engines import arena
    from tabs.compare import handlers as compare

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    stats = {"tokens": 1, "tokens_per_s": 1, "ttft_s": 0, "device": "cpu", "quantization": "fp32"}
    monkeypatch.delenv("WORKBENCH_ARENA_DB", raising=False)
    match_id = arena.ArenaStore().open_match("openai:x", "openai:y", [stats, stats], owner="alice")
    before = len(arena.ArenaStore().votes())
    with pytest.raises(gr.Error, match="no match to vote on"):
        compare.arena_vote("a", match_id, SimpleNamespace(username="bob"))
    assert len(arena.ArenaStore().votes()) == before
    out = compare.arena_vote("a", match_id, SimpleNamespace(username="alice"))
    assert "saved" in out["reveal"] and len(arena.ArenaStore().votes()) == before + 1


def test_test_set_ids_match_literally(tmp_path):
    from engines.evals.sources import read_example
    from engines.evals.store import RunStore
    from engines.evals.testsets import build_testset, guess_mapping

    table = read_example("short-qa")
    testset = build_testset(table, guess_mapping(table.columns))
    store = RunStore(tmp_path / "evals.sqlite")
    digest = store.save_testset(testset)
    for wildcard in ("%%%%%%%%", "________", digest[:7] + "%", digest[:7] + "_"):
        assert store.load_testset(wildcard) is None, wildcard
    assert store.load_testset(digest[:8]).hash == digest and store.load_testset(digest).hash == digest


def test_local_path_policy(tmp_path, monkeypatch):
    import dataclasses

    from engines.config import Settings
    from engines.errors import ModelNotAllowed
    from engines.localpaths import local_path

    root, outside = tmp_path / "models", tmp_path / "secret"
    (root / "ok").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    settings = dataclasses.replace(Settings.from_env(), restrict_paths=True, models_dir=root)
    assert local_path(str(root / "ok"), settings) == (root / "ok").resolve()
    for bad in (str(outside), str(root / "link"), "~", "~/ok", "./"):
        with pytest.raises(ModelNotAllowed):
            local_path(bad, settings)
    open_settings = dataclasses.replace(settings, restrict_paths=False)
    assert local_path("~", open_settings) == Path.home()


def test_fine_tune_data_and_contamination_corpora_obey_the_roots(tmp_path, monkeypatch):
    import dataclasses

    from engines.config import Settings
    from engines.errors import ModelNotAllowed
    from engines.finetune.data import read_hub
    from tabs.evaluate.contamination import _corpus

    monkeypatch.setenv("WORKBENCH_RESTRICT_PATHS", "1")
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path))
    settings = dataclasses.replace(Settings.from_env(), models_dir=tmp_path)
    for path in ("/etc", "~"):
        with pytest.raises(ModelNotAllowed):
            read_hub(path, settings=settings)
        with pytest.raises(ModelNotAllowed):
            _corpus("", None, path)
