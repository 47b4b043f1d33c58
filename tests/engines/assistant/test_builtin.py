"""engines.assistant.builtin: every built-in tool's schema is a valid JSON schema the loop can validate against, and
every tool runs its engine for real on tiny models (a PNG that opens, a WAV that reads, 42 from the sandbox, the
tokenizer's own count, rows from a fake Hub) and refuses what it must (files not attached, unknown models)."""

from __future__ import annotations

import re
import wave

import numpy as np
import pytest
from app_helpers import SECRET_MARKER
from fake_hub import FakeHub, use_fake_hub
from tiny_minutes import minutes_fx  # noqa: F401  (session fixture)
from tiny_pipelines import catalog, pl_models  # noqa: F401  (fixtures)

from engines import errors, hub, sandbox, tokenizers
from engines.assistant.builtin import BuiltinTool, builtin_tools
from engines.assistant.tool import ToolOutput

NAMES = ["generate_image", "transcribe_audio", "speak", "run_python", "count_tokens", "search_hub", "model_facts"]


@pytest.fixture()
def tools(tmp_path) -> dict[str, BuiltinTool]:
    return builtin_tools(files_dir=tmp_path / "files")


def test_every_tool_has_a_valid_schema_label_and_description(tools):
    jsonschema = pytest.importorskip("jsonschema")
    assert list(tools) == NAMES
    for name, tool in tools.items():
        assert tool.name == name and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name)
        assert tool.source == "workbench" and tool.label and 0 < len(tool.label) <= 24
        assert 20 < len(tool.description) <= 300 and tool.timeout_s > 0
        schema = tool.parameters
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["required"]
        assert set(schema["required"]) <= set(schema["properties"])
        assert all(p.get("description") and p.get("type") for p in schema["properties"].values())
        assert tool.schema()["function"]["parameters"] is schema
    # the schema rejects what the engines would (the loop validates required fields and types before run)
    image = jsonschema.Draft202012Validator(tools["generate_image"].parameters)
    assert image.is_valid({"prompt": "a cat", "seed": 3, "width": 512})
    assert not image.is_valid({"seed": 3}) and not image.is_valid({"prompt": "a cat", "width": 100})
    assert not image.is_valid({"prompt": "a cat", "path": "/etc/passwd"})


def test_generate_image_writes_a_png_with_the_default_model(catalog, tmp_path):  # noqa: F811
    from PIL import Image

    tool = builtin_tools(files_dir=tmp_path / "out")["generate_image"]
    assert "sd-turbo" in tool.description  # the engine's CPU default
    out = tool.run({"prompt": "a red chair", "seed": 5, "steps": 2, "width": 64, "height": 80})
    assert isinstance(out, ToolOutput) and len(out.images) == 1 and not out.audio
    path = out.images[0]
    assert path.parent == tmp_path / "out" and path.suffix == ".png"
    with Image.open(path) as img:
        assert img.size == (64, 80) and img.format == "PNG"
    assert "seed 5" in out.text and "64×80" in out.text and re.search(r"\d+\.\d s", out.text)
    with pytest.raises(errors.InvalidInput, match="multiple of 16|16"):
        tool.run({"prompt": "a red chair", "width": 70, "height": 64, "steps": 1})


def test_speak_writes_a_wav_that_reads(catalog, tmp_path):  # noqa: F811
    out = builtin_tools(files_dir=tmp_path)["speak"].run({"text": "hello world"})
    assert len(out.audio) == 1 and not out.images and out.audio[0].suffix == ".wav"
    with wave.open(str(out.audio[0])) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and frames.size > 1000
    assert "16000 Hz" in out.text


def test_transcribe_reads_only_attached_files(minutes_fx, tmp_path):  # noqa: F811
    audio = minutes_fx["audio"]
    attached = [audio / "short.wav"]
    tool = builtin_tools(attachments=lambda: attached, models={"transcribe_audio": str(minutes_fx["whisper"])},
                         files_dir=tmp_path)["transcribe_audio"]
    out = tool.run({"file": "short.wav"})
    assert out.text.startswith("Transcript of short.wav (") and not out.images and not out.audio
    assert tool.run({"file": str(audio / "short.wav")}).text.startswith("Transcript of short.wav")
    for other in (str(audio / "long.wav"), "long.wav", "/etc/passwd", "../short.wav"):
        with pytest.raises(errors.InvalidInput, match="not a file attached") as info:
            tool.run({"file": other})
        assert str(audio) not in str(info.value) and "short.wav" in str(info.value)
    attached.clear()  # the allow-list is read at call time
    with pytest.raises(errors.InvalidInput, match="No audio file is attached"):
        tool.run({"file": "short.wav"})


def test_run_python_uses_the_code_tabs_sandbox_limits(tools):
    if sandbox.isolation() == "none":
        pytest.skip("no sandbox isolation works on this machine")
    tool = tools["run_python"]
    out = tool.run({"code": "print(6*7)"})
    assert out.text.startswith("exit code 0") and "stdout:\n42\n" in out.text
    failed = tool.run({"code": "import sys\nprint('x' * 9000)\nsys.exit('boom')"})
    assert failed.text.startswith("exit code 1") and "boom" in failed.text and "more characters cut" in failed.text
    slow = tool.run({"code": "while True: pass", "time_limit_s": 1})
    assert slow.text.startswith("timed out after 1 s")
    with pytest.raises(errors.InvalidInput, match="between 1 and 600"):
        tool.run({"code": "print(1)", "time_limit_s": 601})


def test_count_tokens_matches_the_tokenizer(tools, tiny):
    name, text = str(tiny["tok-llama"]), "Hello tools, count me!"
    expected = tokenizers.tokenize(name, text)
    out = tools["count_tokens"].run({"text": text, "tokenizer": name})
    assert out.text.startswith(f"{expected.count} tokens with the ")
    assert str(expected.tokens[:3])[1:-1].replace("'", '"') in out.text


def test_search_hub_offline_says_so_and_lists_a_fake_hubs_models(tools, monkeypatch, tmp_path):
    with pytest.raises(errors.WorkbenchError, match="(?i)offline|cannot be reached"):
        tools["search_hub"].run({"query": "chat"})
    with FakeHub(token=SECRET_MARKER) as fake:
        use_fake_hub(monkeypatch, fake, tmp_path / "hf-cache")
        hub.clear_cache()
        out = tools["search_hub"].run({"query": "chat", "task": "text-generation", "limit": 5})
        datasets = tools["search_hub"].run({"query": "", "kind": "dataset", "limit": 2})
    hub.clear_cache()
    assert "acme/chat-1b: text-generation · transformers" in out.text and "apache-2.0" in out.text
    assert datasets.text.startswith("2 datasets, most downloads first:\n- acme/reviews: ")
    assert "- acme/qa-pairs: " in datasets.text and "no-viewer" not in datasets.text
    with pytest.raises(errors.InvalidInput, match="limit"):
        tools["search_hub"].run({"query": "x", "limit": 50})


def test_model_facts_from_the_catalog_local_files_or_a_clear_error(tools, tiny):
    out = tools["model_facts"].run({"model": "openai:gpt-4o-mini"})
    assert "context: " in out.text and "$/1M in: " in out.text
    local = tools["model_facts"].run({"model": str(tiny["lm-llama"])})
    assert "architecture: " in local.text
    with pytest.raises(errors.ModelNotFound, match="not in the workbench's catalog"):
        tools["model_facts"].run({"model": "nobody/no-such-model-xyz"})
