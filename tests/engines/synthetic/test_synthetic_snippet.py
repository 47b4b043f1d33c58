"""engines.snippets.synthetic (re-exported as engines.synthetic.code_snippet): code that reproduces a batch."""

from __future__ import annotations

from synthetic_samples import jsonl, row, run

from engines import synthetic as syn
from engines.snippets.synthetic import rows_code


def test_code_snippet_is_valid_python(remote_env):
    remote_env.script("synth-code", jsonl(row(1)))
    _, stats = run("synth-code", 1)
    snippet = syn.code_snippet(stats)
    compile(snippet, "snippet", "exec")
    assert "OpenAI(" in snippet and "'synth-code'" in snippet and "test-key" not in snippet
    stats.model = "Qwen/Qwen2.5-0.5B-Instruct"
    local = syn.code_snippet(stats)
    compile(local, "snippet", "exec")
    assert "AutoModelForCausalLM" in local


def test_snippet_uses_the_shared_pieces_and_hides_local_paths(tmp_path):
    messages = [{"role": "user", "content": "Write 2 rows"}]
    for kind, marker in [("hf", "HF_TOKEN"), ("ollama", "OLLAMA_HOST"), ("openai", "max_completion_tokens")]:
        code = rows_code(f"{kind}:some-model", messages, temperature=0.5, max_new_tokens=99)
        compile(code, "snippet", "exec")
        assert marker in code and "'some-model'" in code and "json.loads" in code
    local = rows_code(str(tmp_path), messages, quantization="4bit")
    compile(local, "snippet", "exec")
    assert str(tmp_path) not in local and "path/to/model" in local and "BitsAndBytesConfig" in local
    assert "do_sample=True" in local
    greedy = rows_code("org/name", messages, temperature=0.0)
    assert "'org/name'" in greedy and "do_sample=False" in greedy
