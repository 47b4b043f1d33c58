"""The backend registry and protocol: a reference finds its backend (an unknown prefix is a clear error), features
ask capability flags, OpenAI-compatible servers stream tool calls and score text (vLLM's completions echo), named
endpoints (WORKBENCH_ENDPOINTS) add prefixes — all through the real ``openai`` client against the fake server."""

from __future__ import annotations

import json
import math

import pytest
from fake_openai import fake_logprobs, split_pieces

from engines import errors
from engines.backends import registry
from engines.chat import stream_chat, validate_messages
from engines.evals import choice_logprobs

HI = [{"role": "user", "content": "What is the weather in Paris?"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function",
           "function": {"name": "get_weather", "description": "Weather of a city", "parameters": CITY}}


def run(model, messages, **kw):
    text, calls, stats = "", None, None
    for chunk in stream_chat(model, messages, **kw):
        text += chunk.text
        calls = chunk.tool_calls or calls
        stats = chunk.stats or stats
    return text, calls, stats


def test_each_reference_finds_its_backend(tiny):
    assert registry.backend_for(str(tiny["lm-llama"])).name == "transformers"
    for model in ("openai:gpt-4o-mini", "hf:org/name", "ollama:llama3.2"):
        assert registry.backend_for(model).name == "openai-compatible"


def test_an_unknown_prefix_is_a_clear_error_not_a_silent_default():
    with pytest.raises(errors.InvalidModelRef, match=r"no backend serves the prefix 'vllm:'.*openai:, hf:, ollama:"):
        registry.resolve("vllm:meta-llama/Llama-3.1-8B")


def test_capabilities_say_what_each_backend_can_do(tiny, monkeypatch):
    local = registry.capabilities(str(tiny["lm-llama"]))
    assert local.local and local.logprobs and local.tokenize and local.tools and not local.vision
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    api = registry.capabilities("openai:gpt-4o-mini")
    assert api.tools and api.vision and not api.local and not api.logprobs  # api.openai.com: no prompt logprobs
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # anywhere (Groq, Together...): not assumed
    assert not registry.capabilities("openai:my-model").logprobs
    assert not registry.capabilities("ollama:llama3.2").logprobs
    monkeypatch.setenv("WORKBENCH_ENDPOINTS", "vllm=http://127.0.0.1:9/v1")  # named: a vLLM-like server
    assert registry.capabilities("vllm:my-model").logprobs


def test_a_missing_capability_names_the_backends_that_have_it(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(errors.Unsupported, match=r"Log-likelihood scoring needs log-probabilities.*transformers"):
        choice_logprobs("hf:org/name", "Q:", [" a", " b"])


def test_an_image_for_a_text_only_backend_is_refused_before_loading(tiny, tmp_path):
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    msgs = [{"role": "user",
             "content": [{"type": "text", "text": "what is this"}, {"type": "image", "path": str(image)}]}]
    with pytest.raises(errors.Unsupported, match=r"image input.*openai-compatible, or a local image-text-to-text"):
        next(stream_chat(str(tiny["lm-llama"]), msgs))


def test_remote_tool_calls_stream_and_the_answer_uses_the_result(remote_env):
    remote_env.script_tool_calls("fake-tools", ("get_weather", '{"city": "Paris"}'), then="It is sunny in Paris.")
    text, calls, stats = run("openai:fake-tools", HI, tools=[WEATHER])
    assert text == "" and stats.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.parsed()) for c in calls] == [("call_0", "get_weather", {"city": "Paris"})]
    sent = remote_env.requests[-1]["body"]
    assert sent["tools"] == [WEATHER]
    history = HI + [{"role": "assistant", "content": "", "tool_calls": [c.as_message_part() for c in calls]},
                    {"role": "tool", "tool_call_id": "call_0", "name": "get_weather", "content": "sunny, 21 C"}]
    text, calls, stats = run("openai:fake-tools", history, tools=[WEATHER])
    assert text == "It is sunny in Paris." and calls is None and stats.finish_reason == "stop"
    sent = remote_env.requests[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_0", "name": "get_weather", "content": "sunny, 21 C"}


def test_two_parallel_tool_calls_keep_their_own_arguments(remote_env):
    remote_env.script_tool_calls("fake-tools2", ("get_weather", '{"city": "Paris"}'),
                                 ("get_weather", '{"city": "Lima, Peru"}'))
    _, calls, _ = run("openai:fake-tools2", HI, tools=[WEATHER])
    assert [c.parsed()["city"] for c in calls] == ["Paris", "Lima, Peru"] and calls[0].id != calls[1].id


def test_an_image_goes_to_the_server_as_an_image_url_part(remote_env, tmp_path):
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    remote_env.script("fake-vision", "a dot")
    msgs = [{"role": "user", "content": [{"type": "text", "text": "what"}, {"type": "image", "path": str(image)}]}]
    assert run("openai:fake-vision", msgs)[0] == "a dot"
    part = remote_env.requests[-1]["body"]["messages"][0]["content"][1]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")


def expected_loglikelihood(context: str, continuation: str) -> float:
    """What the fake server's echo gives the continuation: its words are tokens, scored by ``fake_logprobs``."""
    stripped = context.rstrip()
    text = stripped + context[len(stripped):] + continuation
    pieces = split_pieces(text)
    values = [e["logprob"] for e in fake_logprobs(pieces, 1)]
    total, at = 0.0, 0
    for piece, value in zip(pieces, values, strict=True):
        at += len(piece)
        if at > len(stripped):
            total += value
    return total


@pytest.fixture()
def vllm(remote_env, monkeypatch):
    """The fake server named as a vLLM endpoint (WORKBENCH_ENDPOINTS)."""
    monkeypatch.setenv("WORKBENCH_ENDPOINTS", f"vllm={remote_env.base_url}")
    monkeypatch.setenv("VLLM_API_KEY", remote_env.api_key)
    return remote_env


def test_remote_choice_loglikelihoods_come_from_the_completions_echo(vllm):
    remote_env = vllm
    remote_env.script("fake-vllm", "unused")
    scores = choice_logprobs("vllm:fake-vllm", "The capital of France is", [" Paris", " Rome in Italy"])
    assert scores == pytest.approx([expected_loglikelihood("The capital of France is", c)
                                    for c in (" Paris", " Rome in Italy")])
    body = remote_env.requests[-1]["body"]
    assert body["echo"] is True and body["prompt"] == "The capital of France is Rome in Italy"
    assert all(math.isfinite(s) and s < 0 for s in scores)


def test_a_server_without_prompt_logprobs_says_so(vllm, monkeypatch):
    monkeypatch.setattr(vllm, "supports_completions", False)
    vllm.script("fake-chat-only", "unused")
    with pytest.raises(errors.Unsupported, match="completions"):
        choice_logprobs("vllm:fake-chat-only", "Q:", [" a"])


def test_a_named_endpoint_adds_a_prefix(remote_env, monkeypatch):  # and bad pairs are skipped
    monkeypatch.setenv("WORKBENCH_ENDPOINTS", f"vllm={remote_env.base_url}, bad name=http://x, tgi=ftp://x")
    monkeypatch.setenv("VLLM_API_KEY", remote_env.api_key)
    remote_env.script("served-llama", "hello from vllm")
    text, _, stats = run("vllm:served-llama", [{"role": "user", "content": "hi"}])
    assert text == "hello from vllm" and stats.backend == "vllm"
    assert registry.capabilities("vllm:served-llama").logprobs
    with pytest.raises(errors.InvalidModelRef, match="prefix 'tgi:'"):
        registry.resolve("tgi:model")


def test_tool_messages_and_parts_are_validated():
    clean = validate_messages([
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "function": {"name": "f",
                                                                                      "arguments": {"x": 1}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}])
    assert clean[0]["content"] == "a\nb"
    assert json.loads(clean[1]["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    with pytest.raises(errors.InvalidInput, match="tool_call_id"):
        validate_messages([{"role": "user", "content": "q"}, {"role": "tool", "content": "x"}])
    with pytest.raises(errors.InvalidInput, match="content part"):
        validate_messages([{"role": "user", "content": [{"type": "video", "path": "x"}]}])
    with pytest.raises(errors.InvalidInput, match="Tool 1"):
        next(stream_chat("openai:x", [{"role": "user", "content": "q"}], tools=[{"type": "function"}]))


def test_evaluate_scores_choices_by_log_likelihood_on_a_vllm_endpoint(vllm, tmp_path, monkeypatch):
    from engines import evals
    from engines.evals.testsets import Item
    from engines.evals.testsets import TestSet as Set

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    store = evals.RunStore.default()
    vllm.script("ll-model", "unused")
    items = [Item(id=f"c{i}", kind="choice", question=f"Question {i}: which one?",
                 choices=["right answer", "wrong", "also wrong"], answer=0) for i in range(3)]
    before = len(vllm.requests)
    final = list(evals.start_run(Set(name="mc", source="test", items=items), ["vllm:ll-model"], store=store))[-1]
    assert final.status == "complete"
    paths = [r["path"] for r in vllm.requests[before:]]
    assert len(paths) == 9 and all(p.endswith("/v1/completions") for p in paths)  # one echo per choice, no chat
    results = store.results(final.run.id)
    assert {r.method for r in results} == {"loglikelihood"} and len(results) == 3
    first = next(r for r in results if r.item_id == "c0")
    assert first.detail["loglikelihoods"] == pytest.approx(
        choice_logprobs("vllm:ll-model", first.detail["context"], [" right answer", " wrong", " also wrong"]))
