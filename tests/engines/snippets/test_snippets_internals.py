"""engines.snippets.internals (re-exported as engines.internals.code_snippet): code that reproduces an
inspection, for a local folder (run here), a Hub id and an API model (run against the fake server)."""

from __future__ import annotations

import pytest

from engines import internals
from engines.snippets import internals as snippet


def test_reexported_under_the_old_name():
    assert internals.code_snippet is snippet.code_snippet


@pytest.mark.parametrize("source", ["config", "weights"])
@pytest.mark.parametrize("model", ["/models/tiny-llama", "Qwen/Qwen2.5-0.5B-Instruct", "openai:gpt-4o-mini",
                                   "hf:org/name", "ollama:llama3.2"])
def test_snippet_compiles(model, source):
    code = snippet.code_snippet(model, source)
    compile(code, "snippet", "exec")
    if ":" in model:
        assert "from openai import OpenAI" in code and "transformers" not in code
    else:
        assert f"MODEL = {model!r}" in code
        assert ("from_config" in code) == (source == "config")


def test_config_snippet_runs_on_a_local_model_and_counts_what_the_engine_counts(tiny, capsys):
    folder = str(tiny["lm-llama"])
    exec(snippet.code_snippet(folder, "config"), {})  # noqa: S102  (our own generated code)
    printed = capsys.readouterr().out
    total = internals.inspect_model(folder, source="config", quantization="bf16").total_params
    assert f"{total:,} parameters" in printed and "LlamaForCausalLM" in printed


def test_remote_snippet_runs_against_the_server(remote_env, capsys):
    code = snippet.code_snippet("openai:fake-echo")
    assert "OPENAI_API_KEY" in code and remote_env.base_url not in code  # keys and URLs come from the environment
    exec(code, {})  # noqa: S102  (our own generated code)
    assert "fake-echo" in capsys.readouterr().out
