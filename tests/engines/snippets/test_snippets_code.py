"""engines.snippets.code (behind engines.codeconv.show_code): code that asks a model for the C++ and writes
main.cpp, for a local model and an API model (run against the fake server)."""

from __future__ import annotations

import os

import pytest
import tiny_code as tc

from engines import codeconv
from engines.snippets.code import conversion_code

MESSAGES = [{"role": "user", "content": "convert 'this' \"program\"\n```python\nprint(1)\n```"}]


@pytest.mark.parametrize("model", ["/models/tiny-coder", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "openai:gpt-4o-mini",
                                   "hf:Qwen/Qwen2.5-Coder-32B-Instruct", "ollama:qwen2.5-coder"])
def test_snippet_compiles(model):
    code = conversion_code(model, MESSAGES, "g++ -O3 main.cpp -o main")
    compile(code, "snippet", "exec")
    assert "# then: g++ -O3 main.cpp -o main && ./main" in code and f"messages = {MESSAGES!r}" in code
    if ":" in model:
        assert "OpenAI(" in code and f"model={model.split(':', 1)[1]!r}" in code
    else:
        assert f"AutoModelForCausalLM.from_pretrained({model!r}" in code


def test_show_code_builds_on_the_conversion_messages(tiny):
    local = codeconv.show_code(str(tiny["lm-qwen2"]), tc.PYTHON)
    compile(local, "snippet", "exec")
    assert repr(codeconv.convert_messages(tc.PYTHON)) in local
    assert local == conversion_code(str(tiny["lm-qwen2"]), codeconv.convert_messages(tc.PYTHON),
                                    codeconv._compile_command())


def test_remote_snippet_reads_the_endpoint_from_the_environment(monkeypatch):
    # regression: the endpoint's base URL was baked into the snippet (a private server's address in shared code)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.1.2.3:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-in-snippets")
    code = codeconv.show_code("openai:gpt-4o-mini", tc.PYTHON)
    assert "10.1.2.3" not in code and "sk-not-in-snippets" not in code
    assert "client = OpenAI()" in code and "OPENAI_API_KEY" in code
    hf = codeconv.show_code("hf:Qwen/Qwen2.5-Coder-32B-Instruct", tc.PYTHON)
    assert "os.environ['HF_TOKEN']" in hf and "HF_API_BASE_URL" in hf


def test_a_hub_id_served_from_the_models_dir_stays_a_hub_id(models_dir, monkeypatch):
    # regression: the snippet named the server's folder for a Hub id found in WORKBENCH_MODELS_DIR
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    code = codeconv.show_code("Qwen/Qwen2.5-0.5B-Instruct", tc.PYTHON)
    assert "from_pretrained('Qwen/Qwen2.5-0.5B-Instruct'" in code and str(models_dir) not in code


def test_remote_snippet_runs_against_the_server(remote_env, tmp_path, monkeypatch):
    remote_env.script("code-snippet", tc.REPLY_OK)
    code = codeconv.show_code("openai:code-snippet", tc.PYTHON)
    monkeypatch.chdir(tmp_path)
    exec(code, {})  # noqa: S102  (our own generated code)
    assert (tmp_path / "main.cpp").read_text().strip() == tc.CPP_OK.strip()
    assert os.environ["OPENAI_API_KEY"] not in code
