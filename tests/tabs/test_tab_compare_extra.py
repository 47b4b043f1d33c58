"""Compare part 2 panels through their API (gradio_client against a Blocks serving ``build_panels()``)."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError
from tiny_compare_extra import panels_server

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # resolves to a tiny model through the models dir
QWEN = "Qwen/Qwen2-7B-Instruct"


@pytest.fixture(scope="module")
def panels(models_dir, fake_server):
    from gradio_client import Client

    with panels_server(models_dir, fake_server.base_url) as url:
        yield Client(url, verbose=False)


def test_benchmark_scores(panels):
    status, table, chart, sources = panels.predict([LLAMA, QWEN, "openai:gpt-4o"], api_name="/benchmark_scores")
    assert "data-state='done'" in status
    headers = table["headers"]
    assert headers[0] == "model" and "MMLU" in headers
    rows = {r[0]: r for r in table["data"]}
    assert set(rows) == {"Llama 3.1 8B Instruct", "Qwen2 7B Instruct", "GPT-4o"}
    mmlu = headers.index("MMLU")
    assert isinstance(rows["Llama 3.1 8B Instruct"][mmlu], float)
    assert rows["GPT-4o"][mmlu] in (None, "", "NaN") or rows["GPT-4o"][mmlu] != rows["GPT-4o"][mmlu]
    assert sources["headers"] == ["model", "benchmark", "score", "setting", "date", "source"]
    assert all(r[5].startswith("https://") and r[4] for r in sources["data"])
    # one bar per percentage score, grouped by benchmark (a group label per benchmark), coloured by model
    assert chart.count("title='") == sum(1 for r in sources["data"] if r[1] != "Chatbot Arena Elo")
    assert chart.count(">MMLU<") == 1


def test_benchmark_scores_errors(panels):
    with pytest.raises(AppError, match="at least one model"):
        panels.predict([], api_name="/benchmark_scores")


def test_model_internals_config_only(panels):
    status, summary, kinds, chart, facts, layers, tree, code = panels.predict(LLAMA, "config", "4bit",
                                                                              api_name="/model_internals")
    assert "data-state" in status
    assert "meta device" in summary and "Linear4bit" in tree
    kind_rows = {r[0]: r[1] for r in kinds["data"]}
    assert {"embeddings", "attention", "mlp", "norms"} <= set(kind_rows)
    assert sum(kind_rows.values()) == sum(r[3] for r in layers["data"])
    assert any(r[1] == "Linear4bit" for r in layers["data"]) and any(r[1] == "Embedding" for r in layers["data"])
    assert dict(facts["data"])["KV heads"] == "2"
    assert "torch.device(\"meta\")" in code


def test_model_internals_errors(panels):
    with pytest.raises(AppError, match="does not publish"):
        panels.predict("openai:gpt-4o-mini", "config", "auto", api_name="/model_internals")
    with pytest.raises(AppError, match="Choose a model"):
        panels.predict("", "config", "auto", api_name="/model_internals")


def test_next_tokens_local(panels):
    status, visual, table, code, notebook = panels.predict(LLAMA, "", "The capital of France is", 6, 3, 0.0,
                                                           api_name="/next_tokens")
    assert notebook.endswith(".ipynb")
    assert "nt-chips" in visual and visual.count("nt-chip'") == len(table["data"])
    assert table["headers"][:4] == ["step", "chosen", "p(chosen)", "rank"] and "#3" in table["headers"]
    assert 1 <= len(table["data"]) <= 6 and all(r[3] == 1 for r in table["data"])
    assert "data-state='done'" in status and "transformers on cpu" in status
    assert "torch.topk" in code


def test_next_tokens_raw_by_default_and_the_text_read_is_shown(panels):
    # issue 27 item 6: raw text (a sentence to complete) by default, the chat template on request, both visible
    _, visual, _, code, _ = panels.predict(LLAMA, "", "The capital of France is", 2, 3, 0.0, api_name="/next_tokens")
    assert "the model read (raw text, no chat template, 6 tokens)" in visual
    assert "&lt;|begin_of_text|&gt;The capital of France is</pre>" in visual
    assert "prompt = 'The capital of France is'" in code and "apply_chat_template" not in code
    _, visual, _, code, _ = panels.predict(LLAMA, "", "The capital of France is", 2, 3, 0.0, "chat",
                                           api_name="/next_tokens")
    assert "(wrapped in the chat template" in visual and "&lt;|start_header_id|&gt;user" in visual
    assert "apply_chat_template" in code


def test_next_tokens_openai(panels, fake_server):
    fake_server.script("nt-model", "alpha beta gamma")
    status, visual, table, *_ = panels.predict("openai:nt-model", "", "hi", 8, 2, 0.0, api_name="/next_tokens")
    assert [r[1] for r in table["data"]] == ["alpha·", "beta·", "gamma"]
    assert "(stop)" in status and "remote" in status and "3 tokens" in status
    assert "always wrap the prompt in their chat template" in status and "[user] hi</pre>" in visual


def test_next_tokens_errors(panels):
    with pytest.raises(AppError, match="prompt is empty"):
        panels.predict(LLAMA, "", "   ", 4, 3, 0.0, api_name="/next_tokens")
    with pytest.raises(AppError, match="is a URL"):
        panels.predict("https://huggingface.co/gpt2", "", "hi", 4, 3, 0.0, api_name="/next_tokens")
