"""The Hub tab through its API (gradio_client) on a Blocks with the Hub tab and stand-in receiving tabs, against
the fake Hub (tests/support/fake_hub.py). The real app registers the Hub tab once the lead wires it in app.py."""

from __future__ import annotations

import gradio as gr
import pytest
from app_helpers import SECRET_MARKER
from fake_hub import served_hub
from gradio_client.exceptions import AppError

from engines import hub as engine
from tabs.common import Links
from tabs.hub import handlers as hub_tab

API = ("hub_search_models", "hub_model", "hub_search_datasets", "hub_dataset", "hub_dataset_rows",
       "hub_search_spaces", "hub_space")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_hub(tmp_path_factory.mktemp("hf-cache"), SECRET_MARKER) as (url, fake):
        yield url, fake
    engine.clear_cache()


@pytest.fixture(scope="module")
def hub_client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


@pytest.fixture(autouse=True)
def _fresh():
    engine.clear_cache()


def test_api_names_and_free_text_filters(hub_client):
    endpoints = hub_client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {f"/{name}" for name in API} <= set(endpoints)
    params = {p["parameter_name"]: p for p in endpoints["/hub_search_models"]["parameters"]}
    assert params["task"]["type"] == {"type": "string"}  # suggestions, not an enum MCP would enforce
    assert params["min_params_b"]["parameter_default"] is None


def test_search_models_table(hub_client):
    status, table = hub_client.predict("", "text-generation", "", "", "not gated", None, None, "likes",
                                       api_name="/hub_search_models")
    assert "data-state='done'" in status and "2 models" in status
    assert table["headers"] == ["Model", "Task", "Params", "Downloads", "Likes", "License", "Gated", "Updated"]
    assert table["data"][0] == ["acme/chat-1b", "text-generation", "1.1B", "120K", "420", "apache-2.0", "no",
                                "2025-06-01"]
    status, table = hub_client.predict("acme", "", "", "", "any", 0, 0, "downloads", api_name="/hub_search_models")
    assert len(table["data"]) == 8  # the browser sends 0 for an empty number box: no bound, not "at most 0"
    status, table = hub_client.predict("nothing-like-this", api_name="/hub_search_models")
    assert "No models match" in status and table["data"] == []


def test_search_datasets_and_spaces(hub_client):
    status, table = hub_client.predict("", "question-answering", "", "downloads", api_name="/hub_search_datasets")
    assert table["data"][0][:3] == ["acme/qa-pairs", "question-answering", "1K<n<10K"]
    status, table = hub_client.predict("", "gradio", "likes", api_name="/hub_search_spaces")
    assert [r[:2] for r in table["data"]] == [["acme/chat-demo", "gradio"]]


def test_open_model(hub_client):
    status, facts, card = hub_client.predict("acme/chat-1b", api_name="/hub_model")
    assert "Opened acme/chat-1b" in status
    assert "safetensors headers" in facts and "4-bit (NF4)" in facts and "bf16" in facts
    assert "model.safetensors" in facts and "apache-2.0" in facts and "Card front matter" in facts
    assert card.startswith("# Acme Chat 1B") and "Training details" not in card
    status, facts, _ = hub_client.predict("acme/gated-8b", api_name="/hub_model")
    assert "gated (manual)" in facts


def test_open_dataset_and_page(hub_client):
    status, facts, card, rows, page = hub_client.predict("acme/reviews", "", "", api_name="/hub_dataset")
    assert "2 splits" in status and "class(negative, positive)" in facts and "25" in facts
    assert rows["headers"] == ["#", "text", "label"] and len(rows["data"]) == 10
    assert page == "Rows 1–10 of 25 · default / train"
    status, rows, page = hub_client.predict("acme/reviews", "default", "test", 10, api_name="/hub_dataset_rows")
    assert page == "Rows 11–12 of 12 · default / test" and [r[0] for r in rows["data"]] == [10, 11]
    status, facts, *_ = hub_client.predict("acme/no-viewer", "", "", api_name="/hub_dataset")
    assert "data-state='warning'" in status and "not available" in status


def test_open_space(hub_client):
    status, facts = hub_client.predict("acme/docker-api", api_name="/hub_space")
    assert "docker" in status and "t4-small (requested)" in facts and "sleeping" in facts


@pytest.mark.parametrize(("api", "args", "message"), [
    ("/hub_model", ("acme/missing",), "No model 'acme/missing'"),
    ("/hub_model", ("https://huggingface.co/gpt2",), "is a URL"),
    ("/hub_model", ("acme/rate-limited",), "rate-limiting"),
    ("/hub_search_models", ("boom",), "HTTP 500"),
    ("/hub_dataset", ("acme/missing-set", "", ""), "No dataset"),
    ("/hub_dataset_rows", ("acme/reviews", "", "", 0), "Choose a config and a split"),
    ("/hub_space", ("",), "Give a Space id"),
])
def test_errors_are_specific(hub_client, api, args, message):
    with pytest.raises(AppError, match=message) as info:
        hub_client.predict(*args, api_name=api)
    assert "Traceback" not in str(info.value) and SECRET_MARKER not in str(info.value)


def test_offline_state_lists_local_models(hub_client, monkeypatch, tmp_path):
    from engines.config import Settings
    from tabs.common import with_settings

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read per call, in this process (the app is served in-process)
    status, table = hub_client.predict("chat", api_name="/hub_search_models")
    assert "data-state='warning'" in status and "Offline mode is on" in status and "available locally" in status
    assert table["headers"] == ["Model", "Where", "Size"]
    # the models dir is a setting, read once with the app's: handlers bound to settings that name this one list it
    (tmp_path / "models" / "Qwen" / "Qwen2.5-0.5B-Instruct").mkdir(parents=True)
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    settings = Settings.from_env()
    table = with_settings(hub_tab.hub_search_models, settings)("chat")["table"]
    assert ["Qwen/Qwen2.5-0.5B-Instruct", "models dir", "—"] in table.values.tolist()
    facts = with_settings(hub_tab.hub_model, settings)("acme/chat-1b")["facts"]
    assert "Hub unreachable" in facts and "Qwen/Qwen2.5-0.5B-Instruct" in facts


def test_offline_dataset_and_space_searches_say_what_was_searched(monkeypatch, tmp_path):
    """Offline, a dataset or Space search said "Showing the 0 models available locally" over a table of models."""
    from tabs.hub import handlers as tab
    from tabs.hub.view import DATASET_COLUMNS, SPACE_COLUMNS

    (tmp_path / "models" / "Qwen" / "Qwen2.5-0.5B-Instruct").mkdir(parents=True)
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for out, word, columns in ((tab.hub_search_datasets("squad"), "Datasets", DATASET_COLUMNS),
                               (tab.hub_search_spaces("chat"), "Spaces", SPACE_COLUMNS)):
        assert "Offline mode is on" in out["status"] and f"{word} cannot be searched offline" in out["status"]
        assert "0 models" not in out["status"] and "Showing the" not in out["status"]
        assert list(out["table"].columns) == list(columns) and out["table"].empty


def test_nothing_secret_in_any_output(hub_client):
    outputs = [hub_client.predict("acme/chat-1b", api_name="/hub_model"),
               hub_client.predict("acme/reviews", "", "", api_name="/hub_dataset"),
               hub_client.predict("", api_name="/hub_search_models")]
    assert SECRET_MARKER not in repr(outputs)


def test_pickers_keep_their_labels_in_the_ui(served):
    """Regression: ChoiceBox / ModelBox sent only choices and value to the browser (Gradio builds the UI config from
    the class's __init__ parameters), so every picker showed "Dropdown" and lost multiselect."""
    import json
    import urllib.request

    with urllib.request.urlopen(served[0] + "config", timeout=30) as r:
        config = json.load(r)
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c.get("type") == "dropdown"}
    assert props["hub-m-task"]["label"] == "Task" and props["hub-m-id"]["label"] == "Model id"
    assert props["hub-d-split"]["label"] == "Split" and props["dummy-compare-models"]["multiselect"] is True


# ------------------------------------------------------------------------------------------------ sending


def test_only_registered_targets_get_a_button():
    links = Links()
    with gr.Blocks():
        with gr.Tabs() as links.tabs:
            with gr.Tab("Compare", id="compare"):
                links.register("compare.models", "compare", gr.Dropdown([], multiselect=True,
                                                                         allow_custom_value=True))
        opened = gr.State(None)
        declared = hub_tab._wire_sends(hub_tab.MODEL_SENDS, links, opened)
        links.resolve()
    assert len(declared) == len(hub_tab.MODEL_SENDS)
    assert [(link.targets, link.button.elem_id) for link in links.wired] == [(("compare.models",),
                                                                              "hub-send-compare-models")]
    assert len(links.left_out) == len(hub_tab.MODEL_SENDS) - 1
    assert hub_tab._wire_sends(hub_tab.MODEL_SENDS, None, opened) == []
    show = hub_tab._show_sends(declared, links)  # an unregistered target's button never shows
    shown = [b.elem_id for b, u in show({"id": "x", "capabilities": ["chat", "tokenizer"]}).items() if u["visible"]]
    assert shown == ["hub-send-compare-models"]


def test_send_appends_to_a_multiselect_and_selects_the_tab():
    links = Links()
    with gr.Blocks():
        with gr.Tabs() as links.tabs:
            with gr.Tab("Compare", id="compare"):
                models = gr.Dropdown([], multiselect=True, allow_custom_value=True, max_choices=3)
                links.register("compare.models", "compare", models)
            with gr.Tab("Pipelines", id="pipelines"):
                model, task = gr.Textbox(), gr.Dropdown(["text-generation"])
                links.register("pipelines.model", "pipelines", model)
                links.register("pipelines.task", "pipelines", task)
    compare, pipelines = (next(s for s in hub_tab.MODEL_SENDS if s.target == t)
                          for t in ("compare.models", "pipelines.model"))
    send = hub_tab._payload(compare, links)
    out = send({"id": "acme/chat-1b"}, ["a", "b", "acme/chat-1b", "c"])
    assert out == {"compare.models": ["b", "c", "acme/chat-1b"]}  # moved last, at most max_choices
    send = hub_tab._payload(pipelines, links)
    out = send({"id": "acme/chat-1b", "pipeline_task": "text-generation"}, "old")
    assert out == {"pipelines.model": "acme/chat-1b", "pipelines.task": "text-generation"}
    assert send(None) == {}


def test_buttons_follow_the_model_capabilities():
    with gr.Blocks():
        buttons = [(spec, gr.Button()) for spec in hub_tab.MODEL_SENDS]
    show = hub_tab._show_sends(buttons)
    shown = {spec.target for spec, b in buttons
             if show({"id": "x", "capabilities": ["speech", "tokenizer"]})[b]["visible"]}
    assert shown == {"minutes.asr", "tokenizers.tokenizers"}
    assert not any(u["visible"] for u in show(None).values())
