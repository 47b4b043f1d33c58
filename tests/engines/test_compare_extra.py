"""Compare part 2 engines: benchmark glossary and score file, model internals, next-token table, fake logprobs."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil

import openai
import pytest

from engines import benchmarks, errors, registry
from engines.chat import stream_chat
from engines.internals import KINDS, inspect_model
from engines.next_token import TokenStep, next_token_table

ISSUE_BENCHMARKS = {"arc", "drop", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k", "elo", "humaneval",
                    "multipl_e", "gpqa", "bbh", "math_lvl5", "ifeval", "musr", "mmlu_pro"}
USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me a story."}]


# ------------------------------------------------------------------------------------------------ benchmarks


def test_glossary_is_complete():
    assert set(benchmarks.BENCHMARKS) == ISSUE_BENCHMARKS
    for b in benchmarks.BENCHMARKS.values():
        assert b.format in benchmarks.FORMATS
        assert all(len(text) > 15 for text in (b.evaluates, b.limits)) and b.size and b.url.startswith("https://")
        assert b.low < b.high
    formats = {b.format for b in benchmarks.BENCHMARKS.values()}
    assert formats == set(benchmarks.FORMATS)  # each format is represented
    rows = benchmarks.glossary_rows()
    assert len(rows) == 16 and {"benchmark", "evaluates", "format", "size", "known limits", "link"} <= set(rows[0])
    assert len(benchmarks.LEADERBOARDS) == 6 and all(lb.url.startswith("https://") for lb in benchmarks.LEADERBOARDS)
    assert {name for name, _ in benchmarks.LIMITS} >= {"Contamination", "Narrow scope", "Overfitting",
                                                       "Inconsistent harnesses"}


def test_score_file_is_valid():
    data = json.loads(benchmarks.SCORES_PATH.read_text())
    assert benchmarks.validate_scores(data) == []
    scores = benchmarks.load_scores()
    assert len(scores) == len(data["scores"]) > 0
    for s in scores:
        assert registry.get(s.model) is not None
        spec = benchmarks.BENCHMARKS[s.benchmark]
        assert spec.low <= s.value <= spec.high
        assert s.source.startswith("https://") and s.date[:4].isdigit()


@pytest.mark.parametrize(("change", "problem"), [
    ({"model": "acme/not-in-catalog"}, "not in the catalog"),
    ({"benchmark": "vibes"}, "benchmark 'vibes'"),
    ({"value": 130.0}, "outside 0..100"),
    ({"value": "high"}, "not a number"),
    ({"source": ""}, "source link"),
    ({"date": "last year"}, "not YYYY-MM"),
    ({"extra": 1}, "unknown fields"),
])
def test_score_validation_catches_bad_entries(change, problem):
    data = json.loads(benchmarks.SCORES_PATH.read_text())
    bad = copy.deepcopy(data)
    bad["scores"][0].update(change)
    problems = benchmarks.validate_scores(bad)
    assert any(problem in p for p in problems), problems
    dup = copy.deepcopy(data)
    dup["scores"].append(dict(dup["scores"][0]))
    assert any("duplicate" in p for p in benchmarks.validate_scores(dup))


def test_invalid_score_file_refused(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps({"version": 1, "scores": [{"model": "x", "benchmark": "mmlu", "value": 1}]}))
    with pytest.raises(errors.WorkbenchError, match="invalid"):
        benchmarks.load_scores(path)


def test_score_matrix_blank_where_unpublished():
    llama, gpt = "meta-llama/Llama-3.1-8B-Instruct", "openai:gpt-4o"
    columns, rows = benchmarks.score_matrix([llama, f"hf:{llama}", gpt])
    assert columns[0] == "model" and len(columns) == 17
    assert rows[0]["MMLU"] is not None and rows[0]["DROP"] is None
    assert rows[1]["MMLU"] == rows[0]["MMLU"]  # hf: serves the same weights
    assert all(v is None for k, v in rows[2].items() if k != "model")
    with pytest.raises(errors.InvalidInput, match="not in the catalog"):
        benchmarks.scores_for(["acme/unknown"])
    with pytest.raises(errors.InvalidInput, match="at least one model"):
        benchmarks.scores_for([])


# ------------------------------------------------------------------------------------------------ internals


@pytest.mark.parametrize("arch", ["llama", "gemma2", "mixtral", "starcoder2"])
def test_internals_counts_add_up(tiny, arch, monkeypatch):
    from engines import internals

    measured = {}
    real = internals.layer_rows

    def spy(model):  # the very model inspected, for num_parameters()
        measured["num_parameters"] = model.num_parameters()
        return real(model)

    monkeypatch.setattr(internals, "layer_rows", spy)
    r = inspect_model(str(tiny[f"lm-{arch}"]), source="weights", quantization="fp32")
    assert r.total_params == sum(r.by_kind.values()) == sum(row.params for row in r.layers)
    assert r.total_params == measured["num_parameters"]
    assert set(r.by_kind) == set(KINDS)
    assert r.by_kind["embeddings"] > 0 and r.by_kind["attention"] > 0 and r.by_kind["mlp"] > 0
    assert r.by_kind["norms"] > 0 and r.by_kind["other"] == 0
    assert r.loaded_weights and r.device == "cpu" and r.quantization == "fp32"
    assert r.memory_bytes == 4 * r.total_params
    assert all(row.dtype == "float32" for row in r.layers)
    head = next(row for row in r.layers if row.name == "lm_head")
    if head.tied_to:  # a tied head shares the embedding matrix: counted once, under embeddings
        assert head.params == 0 and head.tied_to == "model.embed_tokens.weight"
    assert "DecoderLayer" in r.module_tree
    facts = dict(r.config)
    assert facts["layers"] == 2 and facts["hidden size"] == 64 and facts["KV heads"] == 2
    assert facts["attention heads"] == 4 and "grouped-query" in facts["attention"]


def test_internals_meta_path_needs_only_config(tiny, tmp_path):
    folder = tmp_path / "only-config"
    folder.mkdir()
    shutil.copy(tiny["lm-llama"] / "config.json", folder / "config.json")  # no weights, no tokenizer
    r = inspect_model(str(folder), source="config", quantization="fp32")
    loaded = inspect_model(str(tiny["lm-llama"]), source="weights", quantization="fp32")
    assert not r.loaded_weights and r.device == "meta" and r.files_read == ["config.json"]
    for kind in ("embeddings", "attention", "mlp", "norms"):  # the same architecture, without a single weight
        assert r.by_kind[kind] == loaded.by_kind[kind]
    assert dict(r.config)["context length"] == 256


def test_internals_meta_params_are_meta(tiny, monkeypatch):
    from engines import internals

    seen = {}
    real = internals.layer_rows

    def spy(model):
        seen["devices"] = {p.device.type for p in model.parameters()}
        return real(model)

    monkeypatch.setattr(internals, "layer_rows", spy)
    inspect_model(str(tiny["lm-qwen2"]), source="config")
    assert seen["devices"] == {"meta"}


def test_internals_4bit_preview_shows_linear4bit(tiny):
    r = inspect_model(str(tiny["lm-llama"]), source="config", quantization="4bit")
    by_class = {row.module for row in r.layers}
    assert "Linear4bit" in by_class and "Embedding" in by_class
    q = [row for row in r.layers if row.module == "Linear4bit"]
    assert q and all(row.kind in ("attention", "mlp") and "4-bit" in row.quantization for row in q)
    kept = [row for row in r.layers if row.kind in ("embeddings", "norms")]
    assert kept and all(row.quantization == "none" and row.dtype == "bfloat16" for row in kept)
    assert r.memory_bytes < r.memory_at["bf16"] < r.memory_at["fp32"]
    assert r.memory_at["4bit"] == r.memory_bytes
    assert r.notice and "CUDA" in r.notice


def test_internals_errors(tiny):
    with pytest.raises(errors.Unsupported, match="API"):
        inspect_model("openai:gpt-4o-mini")
    with pytest.raises(errors.InvalidInput, match="source"):
        inspect_model(str(tiny["lm-llama"]), source="disk")
    with pytest.raises(errors.InvalidInput, match="quantization"):
        inspect_model(str(tiny["lm-llama"]), quantization="2bit")


# ------------------------------------------------------------------------------------------------ next token


@pytest.mark.parametrize("arch", ["llama", "gemma2", "qwen2"])
def test_next_token_matches_stream_chat_at_temperature_0(tiny, arch):
    from transformers import AutoTokenizer

    model = str(tiny[f"lm-{arch}"])
    rows = list(next_token_table(model, USER, steps=10, top_k=5, temperature=0.0))
    assert 1 <= len(rows) <= 10 and all(isinstance(r, TokenStep) for r in rows)
    assert [r.step for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert len(r.candidates) == 5
        assert sum(c.prob for c in r.candidates) <= 1.0 + 1e-6
        probs = [c.prob for c in r.candidates]
        assert probs == sorted(probs, reverse=True)
        assert r.rank == 1 and r.candidates[0].token_id == r.token_id  # argmax
        assert math.isclose(r.prob, math.exp(r.logprob), rel_tol=1e-4)
        assert r.entropy_bits > 0 and r.seconds > 0
    assert rows[-1].finish_reason in ("stop", "length")
    streamed = "".join(c.text for c in stream_chat(model, USER, max_new_tokens=10, temperature=0.0))
    tok = AutoTokenizer.from_pretrained(model)
    assert tok.decode([r.token_id for r in rows], skip_special_tokens=True) == streamed
    if arch == "gemma2":
        assert rows[0].notice and "system" in rows[0].notice


def test_next_token_raw_text_continues_the_words_and_shows_what_was_read(tiny):
    # issue 27 item 6: the view always wrapped "The capital of France is" in the chat template, invisibly
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = str(tiny["lm-llama"])
    text = [{"role": "user", "content": "The capital of France is"}]
    raw = list(next_token_table(model, text, steps=4, top_k=3, prompt_format="raw"))
    assert raw[0].prompt_text == "<|begin_of_text|>The capital of France is" and raw[0].prompt_format == "raw"
    assert raw[0].prompt_tokens == len(AutoTokenizer.from_pretrained(model)("The capital of France is")["input_ids"])
    tok, lm = AutoTokenizer.from_pretrained(model), AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    ids = tok("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        first = int(lm(input_ids=ids).logits[0, -1].argmax())
    assert raw[0].token_id == first  # a direct forward pass on the raw text, no template
    chat = list(next_token_table(model, text, steps=1, top_k=3, prompt_format="chat"))[0]
    assert chat.prompt_format == "chat" and "<|start_header_id|>user<|end_header_id|>" in chat.prompt_text
    assert chat.prompt_text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    with pytest.raises(errors.InvalidInput, match="prompt_format"):
        list(next_token_table(model, text, steps=1, prompt_format="markdown"))


def test_next_token_streams_row_by_row_and_samples(tiny):
    model = str(tiny["lm-llama"])
    stream = next_token_table(model, USER, steps=6, top_k=3, temperature=1.0, seed=7)
    first = next(stream)
    assert first.step == 1 and first.token_id is not None
    rest = list(stream)
    again = list(next_token_table(model, USER, steps=6, top_k=3, temperature=1.0, seed=7))
    assert [r.token_id for r in [first, *rest]] == [r.token_id for r in again]
    assert all(r.rank >= 1 and len(r.candidates) == 3 for r in again)
    hot = list(next_token_table(model, USER, steps=1, top_k=3, temperature=2.0, seed=7))[0]
    cold = list(next_token_table(model, USER, steps=1, top_k=3, temperature=0.5, seed=7))[0]
    assert hot.candidates[0].prob < cold.candidates[0].prob  # temperature flattens the distribution


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": 0}, "steps"), ({"steps": 10_000}, "steps"), ({"top_k": 0}, "top_k"), ({"top_k": 50}, "top_k"),
    ({"temperature": 3.0}, "temperature"),
])
def test_next_token_bad_arguments(tiny, kwargs, message):
    with pytest.raises(errors.InvalidInput, match=message):
        list(next_token_table(str(tiny["lm-llama"]), USER, **kwargs))


def test_next_token_context_window(tiny):
    with pytest.raises(errors.ContextTooLong):
        list(next_token_table(str(tiny["lm-llama"]), [{"role": "user", "content": "hello world " * 200}], steps=64))


# ------------------------------------------------------------------------------------------------ remote


def test_fake_server_logprobs(remote_env):
    client = openai.OpenAI(base_url=remote_env.base_url, api_key=os.environ["OPENAI_API_KEY"], max_retries=0)
    resp = client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "a b"}],
                                          logprobs=True, top_logprobs=3)
    content = resp.choices[0].logprobs.content
    assert "".join(t.token for t in content) == resp.choices[0].message.content == "echo: a b"
    assert all(len(t.top_logprobs) == 3 and t.top_logprobs[0].token == t.token for t in content)
    chunks = list(client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "a b"}],
                                                 logprobs=True, top_logprobs=2, stream=True))
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert [t.token for t in streamed] == [t.token for t in content]
    plain = client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "a b"}])
    assert plain.choices[0].logprobs is None  # unchanged without the flag


def test_next_token_openai_logprobs(remote_env):
    remote_env.script("logprob-model", "one two three four")
    rows = list(next_token_table("openai:logprob-model", USER, steps=10, top_k=4, temperature=0.0))
    assert [r.token for r in rows] == ["one ", "two ", "three ", "four"]
    for r in rows:
        assert r.rank == 1 and len(r.candidates) == 4 and r.token_id is None
        assert sum(c.prob for c in r.candidates) <= 1.0
        assert r.device == "remote"
    assert rows[-1].finish_reason == "stop"
    body = remote_env.requests[-1]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] == 4 and body["max_completion_tokens"] == 10
    limited = list(next_token_table("openai:fake-long", USER, steps=3, top_k=2))
    assert len(limited) == 3 and limited[-1].finish_reason == "length"


def test_next_token_server_without_logprobs(remote_env):
    remote_env.supports_logprobs = False
    try:
        with pytest.raises(errors.Unsupported, match="logprobs"):
            list(next_token_table("openai:fake-echo", USER, steps=3))
    finally:
        remote_env.supports_logprobs = True
