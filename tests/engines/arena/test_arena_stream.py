"""engines.arena.stream and .memory: side-by-side streaming on tiny local models and the fake OpenAI server
(interleaving, failing columns, Stop), the memory-fit check before loading, and the "show code" snippets."""

from __future__ import annotations

import threading
import time

import pytest

from engines import arena, registry
from engines.arena import memory
from engines.chat import stream_chat
from engines.errors import InvalidInput

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # tiny stand-ins through the models dir
GEMMA = "google/gemma-2-2b-it"
QWEN = "Qwen/Qwen2-7B-Instruct"
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
WORDS = " ".join(f"word{i}" for i in range(30))


@pytest.fixture()
def env(monkeypatch, models_dir, remote_env, fresh_cache):
    """Catalog ids resolve to tiny models, openai:/hf: to the fake server, with an empty model cache."""
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    return remote_env


def _run(entries, **kwargs):
    snaps = list(arena.stream_compare(entries, MSGS, **kwargs))
    return snaps, snaps[-1]


def _switches(indices: list[int]) -> int:
    return sum(1 for x, y in zip(indices, indices[1:], strict=False) if x != y)


@pytest.mark.slow
def test_local_and_remote_columns_stream_with_plausible_metrics(env):
    entries = arena.parse_entries([LLAMA, GEMMA, "openai:fake-long"])
    snaps, final = _run(entries, max_new_tokens=24)
    assert len(snaps) > 3
    assert [c.status for c in final] == ["done"] * 3
    for col in final:
        s = col.stats
        assert col.text and s.tokens > 0 and s.tokens <= 24
        assert 0 < s.ttft_s <= s.total_s and s.tokens_per_s > 0 and s.load_s >= 0
    local, remote = final[0].stats, final[2].stats
    assert local.device == "cpu" and local.quantization == "fp32" and local.memory_bytes > 0
    assert local.backend == "transformers" and local.prompt_tokens > 0
    assert remote.device == "remote" and remote.tokens == 24 and final[2].text.startswith("w0 w1")
    assert final[1].notice and "system" in final[1].notice  # gemma folds the system prompt
    assert final[0].fit.params_source == "weights on disk" and final[0].fit.params_b < 0.01
    rows = arena.results_rows(final)
    assert [r["status"] for r in rows] == ["done"] * 3 and rows[0]["tokens"] == local.tokens


def test_columns_stream_interleaved_remote(env):
    env.script("alpha", WORDS)
    env.script("beta", WORDS)
    factories = [lambda m=m: stream_chat(m, MSGS, max_new_tokens=64) for m in ("openai:alpha", "openai:beta")]
    order = [i for i, item in arena.merge_streams(factories)
             if i >= 0 and item is not arena.DONE and getattr(item, "text", "")]
    assert sorted(set(order)) == [0, 1] and len(order) == 60
    assert _switches(order) >= 10, order  # not one column after the other


def test_columns_stream_interleaved_local(env):
    for model in (LLAMA, QWEN):  # load first, so both generate at the same time
        list(stream_chat(model, MSGS, max_new_tokens=2))
    factories = [lambda m=m: stream_chat(m, MSGS, max_new_tokens=160) for m in (LLAMA, QWEN)]
    order = [i for i, item in arena.merge_streams(factories)
             if i >= 0 and item is not arena.DONE and getattr(item, "text", "")]
    assert sorted(set(order)) == [0, 1]
    first_1, last_0 = order.index(1), len(order) - 1 - order[::-1].index(0)
    assert first_1 < last_0 and _switches(order) >= 3, order


def test_failing_columns_do_not_stop_the_others(env, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    entries = arena.parse_entries(["openai:fake-500", LLAMA, "hf:org/missing-key", "openai:fake-long"])
    _, final = _run(entries, max_new_tokens=12)
    assert [c.status for c in final] == ["error", "done", "error", "done"]
    assert "500" in final[0].error and final[0].error_title == "Remote model error"
    assert "HF_TOKEN" in final[2].error and final[2].error_title == "Missing API key"
    assert final[1].stats.tokens == 12 and final[3].stats.tokens == 12
    assert all("Traceback" not in (c.error or "") for c in final)


def test_columns_at_different_dtypes_load_safely(env):
    # from_pretrained(dtype=...) sets torch's process-wide default dtype while building: parallel loads at two
    # dtypes corrupted each other on CUDA ("expected mat1 and mat2 to have the same dtype") before loads were
    # serialized per run
    _, final = _run(arena.parse_entries([f"{LLAMA}@fp32", f"{QWEN}@bf16", f"{GEMMA}@fp32"]), max_new_tokens=6)
    assert [c.status for c in final] == ["done"] * 3, [c.error for c in final]
    assert [c.stats.quantization for c in final] == ["fp32", "bf16", "fp32"]


def test_invalid_reference_fails_only_its_column(env):
    _, final = _run(arena.parse_entries(["https://example.com/model", "openai:fake-echo"]), max_new_tokens=8)
    assert final[0].status == "error" and "URL" in final[0].error
    assert final[1].status == "done" and final[1].text.startswith("echo:")


def test_bad_messages_fail_the_whole_run(env):
    with pytest.raises(InvalidInput, match="empty"):
        list(arena.stream_compare(arena.parse_entries([LLAMA]), [{"role": "user", "content": "  "}]))


def test_stop_closes_every_stream_and_generation_thread(env):
    before = {t.ident for t in threading.enumerate()}
    stream = arena.stream_compare(arena.parse_entries([LLAMA, "openai:fake-slow"]), MSGS, max_new_tokens=200)
    for cols in stream:
        if cols[0].chunks >= 3:  # the local model is generating
            break
    assert cols[0].status == "streaming"
    t0 = time.perf_counter()
    stream.close()
    assert time.perf_counter() - t0 < 5
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith(("compare", "gen"))]
        if not extra:
            break
        time.sleep(0.05)
    assert not extra, extra


def test_stop_event_ends_run_with_stopped_columns(env):
    stop = threading.Event()
    snaps = []
    for cols in arena.stream_compare(arena.parse_entries(["openai:fake-slow", "openai:fake-long"]), MSGS,
                                     max_new_tokens=64, stop=stop):
        snaps.append(cols)
        if cols[0].chunks >= 1:
            stop.set()
    final = snaps[-1]
    assert final[0].status == "stopped" and final[0].stats is None and final[0].text


def test_code_snippets_compile():
    for model, quant in ((LLAMA, "4bit"), (LLAMA, "fp32"), ("openai:gpt-4o-mini", "n/a"), ("hf:org/name", "n/a")):
        code = arena.code_snippet(model, MSGS, quantization=quant, max_new_tokens=32, temperature=0.7)
        compile(code, "<snippet>", "exec")
    assert "BitsAndBytesConfig(load_in_4bit=True" in arena.code_snippet(LLAMA, MSGS, quantization="4bit")
    assert "router.huggingface.co" in arena.code_snippet("hf:org/name", MSGS)


# ------------------------------------------------------------------------------------------------ memory


def test_memory_refusal_before_loading(env, monkeypatch, fresh_cache):
    monkeypatch.setattr(memory, "available_memory", lambda device, settings=None: (900_000, "RAM"))
    _, final = _run(arena.parse_entries([LLAMA, GEMMA, "openai:fake-echo"]), max_new_tokens=4)
    assert [c.status for c in final] == ["done", "refused", "done"]
    refused = final[1]
    assert refused.fit.needed_bytes > 0 and refused.stats is None
    assert "after the columns before it" in refused.error and "needs about" in refused.error
    assert not any(GEMMA in str(k) for k in fresh_cache.keys())  # never loaded


def test_refusal_names_the_estimate_and_what_would_fit(env):
    qwen15 = "Qwen/Qwen2.5-1.5B-Instruct"  # not on disk: the catalog's 1.54B params count
    check = arena.check_fit(arena.parse_entries([qwen15], "fp32"), available=4 * 2**30)[0]
    expected = registry.estimate_memory_bytes(1.54, "fp32")
    assert not check.fits and check.needed_bytes == expected and check.params_source == "catalog"
    assert "1.54B params × 4 bytes + 15% overhead" in check.message
    assert "fits at bf16" in check.message and "Qwen2.5 0.5B Instruct" in check.message
    nothing = arena.check_fit(arena.parse_entries([qwen15]), available=10 * 2**20)[0]
    assert "Nothing in the catalog fits" in nothing.message
    remote = arena.check_fit(arena.parse_entries(["openai:fake-echo"]), available=1)[0]
    assert remote.fits and remote.device == "remote"


def test_memory_check_can_be_turned_off(env, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device, settings=None: (1, "RAM"))
    _, final = _run(arena.parse_entries([LLAMA]), max_new_tokens=4, memory_check=False)
    assert final[0].status == "done"


def test_safetensors_params_is_exact(tiny):
    from safetensors import safe_open

    folder = tiny["lm-qwen2"]
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        expected = sum(f.get_slice(k).get_shape().numel() if hasattr(f.get_slice(k).get_shape(), "numel")
                       else __import__("math").prod(f.get_slice(k).get_shape()) for k in f.keys())
    assert arena.safetensors_params(folder) == expected > 100_000
    assert arena.safetensors_params(folder.parent) is None  # no weights there


def test_sequential_columns_run_one_at_a_time(env):
    # issue 27 item 4: "one at a time" gives each column the hardware alone, for speeds that compare fairly
    env.script("seq-a", WORDS, pace=0.02)
    env.script("seq-b", WORDS, pace=0.02)
    snaps, final = _run(arena.parse_entries(["openai:seq-a", "openai:seq-b"]), max_new_tokens=64, sequential=True)
    assert [c.status for c in final] == ["done", "done"] and final[1].text.startswith("w")
    busy = ("loading", "streaming")
    assert not [s for s in snaps if s[0].status in busy and s[1].status in busy]
    assert any(s[0].status == "streaming" and s[1].status == "waiting" for s in snaps)
    assert final[1].started >= final[0].first_token_at  # its clock started at its turn, not with the run


def test_stop_while_a_sequential_column_waits(env):
    stop = threading.Event()
    snaps = []
    for cols in arena.stream_compare(arena.parse_entries(["openai:fake-slow", "openai:fake-long"]), MSGS,
                                     max_new_tokens=64, stop=stop, sequential=True):
        snaps.append(cols)
        if cols[0].chunks >= 1:
            stop.set()
    final = snaps[-1]
    assert [c.status for c in final] == ["stopped", "stopped"] and final[1].text == ""
