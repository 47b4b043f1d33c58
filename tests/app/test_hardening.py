"""Hardening: injected faults leave the cache consistent and the next request succeeds; limits; API and MCP."""

from __future__ import annotations

import errno
import inspect
import re
from pathlib import Path

import pytest

from engines import errors
from engines.chat import stream_chat

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Hello there"}]


def _run(model, **kw):
    return list(stream_chat(model, MESSAGES, max_new_tokens=4, **kw))


def _patch_from_pretrained(monkeypatch, exc):
    import transformers

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", boom)


@pytest.mark.parametrize(("fault", "error"), [
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"), errors.OutOfMemory),
    (OSError("We couldn't connect to 'https://huggingface.co' to load the files"), errors.HubUnreachable),
    (ValueError("Unrecognized configuration class"), errors.ModelLoadError),
])
def test_fault_during_load_keeps_cache_clean(tiny, fresh_cache, monkeypatch, fault, error):
    model = str(tiny["lm-phi3"])
    with monkeypatch.context() as m:
        _patch_from_pretrained(m, fault)
        with pytest.raises(error):
            _run(model)
    assert not any(key[0] == "causal-lm" for key in fresh_cache.keys())  # no half-loaded model kept
    assert _run(model)[-1].stats.tokens >= 1  # the next request loads and succeeds


def test_oom_during_generation_frees_and_recovers(tiny, fresh_cache, monkeypatch):
    import torch

    from engines.loading import load_causal_lm
    from engines.refs import parse_ref

    model = str(tiny["lm-qwen2"])
    lm, *_ = load_causal_lm(parse_ref(model), "auto")

    def oom(**kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    with monkeypatch.context() as m:
        m.setattr(lm.model, "generate", oom)
        with pytest.raises(errors.OutOfMemory, match="Lower max new tokens"):
            _run(model)
    assert _run(model)[-1].stats.cache_hit  # the model stayed cached and works


def test_remote_timeout_and_reset_then_success(remote_env, monkeypatch):
    monkeypatch.setenv("WORKBENCH_REMOTE_TIMEOUT_S", "0.3")
    with pytest.raises(errors.RemoteError):
        _run("openai:fake-slow")
    monkeypatch.delenv("WORKBENCH_REMOTE_TIMEOUT_S")
    with pytest.raises(errors.RemoteError, match="broke off"):
        _run("openai:fake-midstream-error")
    with pytest.raises(errors.RemoteError, match="500"):
        _run("openai:fake-500")
    assert "".join(c.text for c in _run("openai:fake-echo")).startswith("echo:")


def test_disk_full_on_export_is_a_clear_message():
    import gradio as gr

    from tabs.common import to_ui_error

    err = to_ui_error(OSError(errno.ENOSPC, "No space left on device"))
    assert isinstance(err, gr.Error) and "disk is full" in err.message
    generic = to_ui_error(KeyError("internal detail"))
    assert "internal detail" not in generic.message and "keeps running" in generic.message


def test_disk_full_while_writing_synthetic_export(monkeypatch):
    from tabs.common import to_ui_error
    from tabs.synthetic import handlers as synthetic

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError) as info:
        synthetic._write_files([{"name": "a"}], [synthetic.syn.Field("name")], "people")
    assert "disk is full" in to_ui_error(info.value).message


# ------------------------------------------------------------------------------ limits, API and MCP (own app)


@pytest.fixture(scope="module")
def limited_app(tmp_path_factory, models_dir):
    from app_helpers import serve_app

    log = tmp_path_factory.mktemp("limited") / "app.log"
    proc, url = serve_app({"WORKBENCH_RATE_LIMIT": "3/600", "WORKBENCH_MAX_FILE_SIZE": "2kb",
                           "WORKBENCH_MODELS_DIR": str(models_dir)}, log, args=("--mcp",))
    yield url, log
    proc.terminate()
    proc.wait(10)


def test_upload_over_the_cap_gets_413(limited_app):
    import httpx

    url, _ = limited_app
    big = httpx.post(url + "gradio_api/upload", files={"files": ("big.wav", b"x" * 10_000)}, timeout=30)
    assert big.status_code == 413
    small = httpx.post(url + "gradio_api/upload", files={"files": ("small.wav", b"x" * 100)}, timeout=30)
    assert small.status_code == 200


def test_rate_limit_on_expensive_events(limited_app):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, _ = limited_app
    client = Client(url, verbose=False)
    for _ in range(3):
        client.predict("print(6 * 7)", 1, 10, api_name="/run_python")
    with pytest.raises(AppError, match="Rate limit: at most 3 runs per 600 s"):
        client.predict("print(6 * 7)", 1, 10, api_name="/run_python")
    # one budget per session across every expensive event, not one per handler
    with pytest.raises(AppError, match="Rate limit: at most 3 runs per 600 s"):
        client.predict("int main() { return 0; }", 1, 10, None, api_name="/run_cpp")
    # cheap events are not limited, and another session has its own budget
    client.predict(["meta-llama/Llama-3.1-8B-Instruct"], "still fine", True, api_name="/tokenize")
    Client(url, verbose=False).predict("print(1)", 1, 10, api_name="/run_python")


def test_mcp_endpoint_lists_the_main_actions(limited_app):
    import httpx

    url, _ = limited_app
    schema = httpx.get(url + "gradio_api/mcp/schema", timeout=30)
    assert schema.status_code == 200
    names = {tool["name"] for tool in schema.json()}
    assert {"tokenize", "decode", "compare", "generate_image", "minutes"} <= names and len(names) >= 15


def test_every_documented_endpoint_exists(client):
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r'api_name="(/[a-z_]+)"', readme))
    assert len(documented) >= 10
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert documented <= endpoints, documented - endpoints


def test_every_endpoint_has_an_args_docstring(client):
    import app

    demo = app.build_demo()
    missing = []
    for dep in demo.fns.values():
        if dep.api_name and dep.api_visibility == "public" and not dep.api_name.startswith("load_example"):
            doc = getattr(dep.fn, "__doc__", "") or ""
            params = [p for p in inspect.signature(dep.fn).parameters if p not in ("request", "progress")]
            if params and "Args:" not in doc:
                missing.append(dep.api_name)
    assert not missing, missing


def test_no_table_shows_placeholder_headers_before_a_run():
    """Gradio shows an empty Dataframe as columns "1 2 3": every table starts with headers that say what it holds."""
    import gradio as gr

    import app

    demo = app.build_demo()
    placeholders = [f"{block.elem_id or block.label}" for block in demo.blocks.values()
                    if isinstance(block, gr.Dataframe) and (block.value or {}).get("headers") == ["1", "2", "3"]]
    assert not placeholders, f"tables with Gradio's placeholder headers: {placeholders}"


def test_cheap_events_never_share_a_slot_with_model_or_sandbox_work():
    """Model events share the "gpu" group and sandboxed programs the "sandbox" group (one slot each: the cores are
    not oversubscribed); cheap CPU-only events keep their own slots, so a full model queue can't hold them back
    (bench_load measures their p95)."""
    import app

    demo = app.build_demo()
    groups = {fn.api_name: fn.concurrency_id for fn in demo.fns.values() if fn.api_name}
    for name in ("run_python", "run_cpp"):
        assert groups[name] == "sandbox", name
    for name in ("compare", "next_tokens", "transcribe", "minutes", "generate_image", "convert_to_cpp",
                 "pipeline_classify", "run_evaluation", "finetune_start"):
        assert groups[name] == "gpu", name
    for name in ("tokenize", "decode", "render_chat", "model_facts", "chinchilla", "hub_search_models"):
        assert groups[name] not in ("gpu", "sandbox"), name
    # CPU-only events of milliseconds have more slots than the default two (a crowd queued behind tokenize's two)
    default = demo._queue.default_concurrency_limit
    limits = {fn.api_name: fn.concurrency_limit for fn in demo.fns.values() if fn.api_name}
    for name in ("tokenize", "decode", "tokenizer_info", "render_chat", "model_facts", "chinchilla", "status"):
        assert groups[name] not in ("gpu", "sandbox") and limits[name] not in ("default", None), name
        assert limits[name] >= max(8, default), name
