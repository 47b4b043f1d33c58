"""stream_chat: local families stream token by token; remote prefixes through the fake server; errors."""

from __future__ import annotations

import time

import pytest
from tiny_models import CAUSAL_ARCHS

from engines import errors
from engines.chat import ChatChunk, GenerationStats, stream_chat
from engines.quant import resolve_quantization

SYSTEM_USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me a story."}]


def run(model, messages=SYSTEM_USER, **kw):
    chunks = list(stream_chat(model, messages, **kw))
    assert all(isinstance(c, ChatChunk) for c in chunks)
    assert chunks[-1].stats is not None and all(c.stats is None for c in chunks[:-1])
    return chunks


@pytest.mark.parametrize("arch", list(CAUSAL_ARCHS))
def test_local_families_stream_with_stats(tiny, arch):
    chunks = run(str(tiny[f"lm-{arch}"]), max_new_tokens=16)
    stats = chunks[-1].stats
    assert isinstance(stats, GenerationStats)
    assert 1 <= stats.tokens <= 16 and stats.prompt_tokens > 5
    assert stats.total_s >= stats.ttft_s > 0 and stats.tokens_per_s > 0
    assert stats.backend == "transformers" and stats.device == "cpu" and stats.quantization == "fp32"
    assert stats.memory_bytes > 0


def test_stream_is_incremental(tiny):
    stamps, texts = [], []
    for chunk in stream_chat(str(tiny["lm-llama"]), SYSTEM_USER, max_new_tokens=40, temperature=1.0):
        if chunk.text:
            stamps.append(time.perf_counter())
            texts.append(chunk.text)
    assert len(texts) > 3
    assert stamps[-1] > stamps[0]


def test_gemma_template_folds_system_with_notice(tiny):
    chunks = run(str(tiny["lm-gemma2"]), max_new_tokens=4)
    assert chunks[0].notice and "system" in chunks[0].notice


def test_cache_hit_reports_no_load(tiny):
    model = str(tiny["lm-qwen2"])
    run(model, max_new_tokens=2)
    again = run(model, max_new_tokens=2)[-1].stats
    assert again.cache_hit and again.load_s < 0.05


def test_context_window_refusal_names_both_numbers(tiny):
    long_prompt = [{"role": "user", "content": "hello world " * 200}]
    with pytest.raises(errors.ContextTooLong, match=r"max new tokens is 64: \d+ exceeds the 256-token context"):
        list(stream_chat(str(tiny["lm-llama"]), long_prompt, max_new_tokens=64))


def test_closing_the_stream_stops_generation(tiny):
    from engines.loading import load_causal_lm
    from engines.refs import parse_ref

    model = str(tiny["lm-llama"])
    lm, *_ = load_causal_lm(parse_ref(model), "auto")
    calls = []
    hook = lm.model.register_forward_hook(lambda *args: calls.append(1))
    try:
        stream = stream_chat(model, SYSTEM_USER, max_new_tokens=200, temperature=1.0)
        for chunk in stream:
            if chunk.text:
                break
        stream.close()  # returns once the generate worker has stopped
        after_close = len(calls)
        time.sleep(0.3)
        assert len(calls) == after_close < 100
    finally:
        hook.remove()


@pytest.mark.parametrize(("messages", "message"), [
    ([], "non-empty list"),
    ([{"role": "user", "content": "   "}], "prompt is empty"),
    ([{"role": "wizard", "content": "hi"}], "role 'wizard'"),
    ([{"role": "user", "content": 5}], "must be a string"),
    ("hello", "non-empty list"),
])
def test_bad_messages(tiny, messages, message):
    with pytest.raises(errors.InvalidInput, match=message):
        list(stream_chat(str(tiny["lm-llama"]), messages))


def test_bad_generation_settings(tiny):
    with pytest.raises(errors.InvalidInput, match="max_new_tokens"):
        list(stream_chat(str(tiny["lm-llama"]), SYSTEM_USER, max_new_tokens=0))
    with pytest.raises(errors.InvalidInput, match="temperature"):
        list(stream_chat(str(tiny["lm-llama"]), SYSTEM_USER, temperature=5))
    with pytest.raises(errors.InvalidInput, match="Unknown quantization"):
        list(stream_chat(str(tiny["lm-llama"]), SYSTEM_USER, quantization="3bit"))


def test_quantization_policy():
    assert resolve_quantization("auto", "cuda", 8.0) == ("4bit", None)
    assert resolve_quantization("auto", "cuda", 0.5) == ("bf16", None)
    assert resolve_quantization("auto", "cpu", 8.0) == ("fp32", None)
    chosen, notice = resolve_quantization("4bit", "cpu", 8.0)
    assert chosen == "fp32" and "needs a CUDA GPU" in notice
    assert resolve_quantization("bf16", "cpu", 1.0) == ("bf16", None)


def test_explicit_4bit_on_cpu_falls_back_visibly(tiny):
    chunks = run(str(tiny["lm-phi3"]), max_new_tokens=2, quantization="4bit")
    assert "needs a CUDA GPU" in chunks[0].notice
    assert chunks[-1].stats.quantization == "fp32"


# ------------------------------------------------------------------------------------------------ remote


def test_openai_prefix_streams_through_the_client(remote_env):
    chunks = run("openai:fake-long", max_new_tokens=100)
    text = "".join(c.text for c in chunks)
    assert text.split() == [f"w{i}" for i in range(60)]
    assert len([c for c in chunks if c.text]) == 60
    stats = chunks[-1].stats
    assert stats.tokens == 60 and stats.ttft_s > 0 and stats.device == "remote"
    request = remote_env.requests[-1]
    assert request["body"]["stream"] is True and request["body"]["max_completion_tokens"] == 100
    assert request["body"]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_hf_prefix_uses_hf_token_and_router_url(remote_env):
    chunks = run("hf:fake-echo", max_new_tokens=50)
    assert "".join(c.text for c in chunks).startswith("echo: Tell me a story.")
    assert remote_env.requests[-1]["body"]["max_tokens"] == 50


def test_ollama_prefix_needs_no_key(monkeypatch):
    from fake_openai import FakeOpenAI

    with FakeOpenAI(api_key=None) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.host_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        chunks = run("ollama:fake-echo")
    assert "".join(c.text for c in chunks).startswith("echo:")


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(errors.MissingApiKey, match="OPENAI_API_KEY"):
        list(stream_chat("openai:gpt-4o-mini", SYSTEM_USER))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(errors.MissingApiKey, match="HF_TOKEN"):
        list(stream_chat("hf:meta-llama/Llama-3.1-8B-Instruct", SYSTEM_USER))


@pytest.mark.parametrize(("model", "error", "message"), [
    ("openai:fake-500", errors.RemoteError, "500"),
    ("openai:fake-429", errors.RemoteError, "rate limiting"),
    ("openai:no-such-model", errors.ModelNotFound, "does not serve a model named 'no-such-model'"),
    ("openai:fake-context", errors.ContextTooLong, "maximum context length"),
    ("openai:fake-midstream-error", errors.RemoteError, "broke off after 3 chunks"),
])
def test_remote_errors_are_typed(remote_env, model, error, message):
    with pytest.raises(error, match=message):
        list(stream_chat(model, SYSTEM_USER))


def test_rejected_key_is_never_echoed(remote_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret-value-123456")
    with pytest.raises(errors.MissingApiKey) as info:
        list(stream_chat("openai:fake-echo", SYSTEM_USER))
    assert "401" in str(info.value) and "sk-wrong-secret-value-123456" not in str(info.value)


def test_unreachable_server(monkeypatch):
    from app_helpers import free_port

    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with pytest.raises(errors.RemoteError, match="Cannot reach"):
        list(stream_chat("openai:gpt-4o-mini", SYSTEM_USER))
