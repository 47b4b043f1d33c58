"""engines.notebooks: notebooks that reproduce a run, executed offline with nbclient on tiny models and compared
with what the app's engine returned for the same run (token ids, the next-token table, pipeline outputs, image
pixels, the compiled program's output, a greedy chat text), and checked free of secrets.

Executing a notebook starts a Jupyter kernel that imports torch and transformers (~10 s on a busy machine), so the
local notebooks share one kernel for this module: each starts with ``%reset -f`` (an empty namespace; only the
imported modules stay cached). One notebook runs in a kernel of its own, start to end, as a user would run it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from app_helpers import SECRET_MARKER

from engines import notebooks as nbs

KERNEL_TIMEOUT_S = 600  # per cell: a busy machine is slow, never wrong
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three colours."}]


def _digest(messages: list) -> str:
    """A fake-server reply that depends on every byte of the messages: equal replies mean equal requests."""
    return "reply " + hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


def kernel_env(fake_server) -> dict[str, str]:
    """The kernel's environment: offline, installs skipped, API models on the fake server (its key from here)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           nbs.SKIP_INSTALL_ENV: "1", "OPENAI_BASE_URL": fake_server.base_url, "OPENAI_API_KEY": SECRET_MARKER,
           "HF_API_BASE_URL": fake_server.base_url, "HF_TOKEN": SECRET_MARKER, "PYTHONWARNINGS": "ignore"}
    env.pop("MPLBACKEND", None)
    return env


@pytest.fixture(scope="module")
def kernel(fake_server, tmp_path_factory):
    """One running python3 kernel for the module (see the module docstring); yields its KernelManager."""
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    start = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch, transformers")])
    client = NotebookClient(start, kernel_name="python3", timeout=KERNEL_TIMEOUT_S,
                            resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}})
    client.execute(cleanup_kc=False, env=kernel_env(fake_server))
    yield client.km
    run_sync(client.km.shutdown_kernel)(now=True)


def execute(kernel, nb, cwd: Path):
    """Run a copy of ``nb`` in the shared kernel, in ``cwd``, from an empty namespace; returns (result, notebook)."""
    from nbclient import NotebookClient

    run = copy.deepcopy(nb)
    run.cells.insert(0, nbformat.v4.new_code_cell(f"import os\nos.chdir({str(cwd)!r})\n%reset -f"))
    NotebookClient(run, km=kernel, timeout=KERNEL_TIMEOUT_S).execute()
    return nbs.read_result(run), run


def outputs_text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


# --------------------------------------------------------------------------------------------- structure
def test_cells_install_pins_gpu_note_and_file(tmp_path):
    import importlib.metadata

    code = ("import torch\nfrom transformers import AutoModelForCausalLM, BitsAndBytesConfig\n"
            "m = AutoModelForCausalLM.from_pretrained('org/m', device_map='auto')\n")
    nb = nbs.build_notebook("Load a model", code, outputs_markdown="it *worked*", needs_gpu="4-bit needs CUDA.",
                            result_code="print(1)")
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "code", "code", "code", "markdown"]
    title, install, gpu_check, body, result, shown = nb.cells
    assert title.source.startswith("# Load a model") and "Runtime → Change runtime type → GPU" in title.source
    assert "4-bit needs CUDA." in title.source and nb.metadata["accelerator"] == "GPU"
    transformers = importlib.metadata.version("transformers")
    assert f"transformers=={transformers}" in install.source and "%pip install -q torch==" in install.source
    for dist in ("accelerate", "bitsandbytes"):  # implied by device_map= and BitsAndBytesConfig
        assert f"{dist}=={importlib.metadata.version(dist)}" in install.source
    assert "+cpu" not in install.source and "json==" not in install.source
    assert nbs.SKIP_INSTALL_ENV in install.source and "torch.cuda.is_available()" in gpu_check.source
    assert body.source == code.rstrip() and result.source.startswith(nbs.RESULT_HEADER)
    assert "it *worked*" in shown.source
    path = nbs.write_notebook(nb, tmp_path / "out", "Load: a/model?")
    assert path.name == "Load-a-model.ipynb" and nbformat.read(path, as_version=4).cells[3].source == body.source
    cpu = nbs.build_notebook("Plain", "import json\nprint(json.dumps(1))")
    assert [c.cell_type for c in cpu.cells] == ["markdown", "code"] and "Runs on a CPU" in cpu.cells[0].source
    assert "accelerator" not in cpu.metadata  # nothing to pin: no install cell
    assert nbs.pinned_packages(["x"], ["openai", "torch==1.0", "not-installed-pkg"]) == [
        f"openai=={importlib.metadata.version('openai')}", "torch==1.0"]
    assert nbs.fence("a ``` b").startswith("````")


def test_secrets_never_reach_a_notebook(tmp_path, fake_server, monkeypatch):
    from engines import synthetic as syn
    from engines.next_token import TokenCandidate, TokenStep

    monkeypatch.setenv("OPENAI_API_KEY", SECRET_MARKER)
    monkeypatch.setenv("HF_TOKEN", SECRET_MARKER)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    pasted = [{"role": "user", "content": f"my key is {SECRET_MARKER}, and hf_abcdefghijklmnop"}]
    row = TokenStep(step=1, token="a", token_id=None, prob=0.5, logprob=-0.7, rank=1,
                    candidates=[TokenCandidate("a", None, 0.5, -0.7)])
    stats = syn.RunStats(model="openai:gpt-4o-mini", last_messages=pasted, temperature=0.5, max_new_tokens=64)
    built = [nbs.chat_notebook(m, pasted, text=SECRET_MARKER) for m in ("openai:gpt-4o-mini", "hf:org/m", "ollama:x")]
    built += [nbs.next_token_notebook("openai:gpt-4o-mini", pasted, [row], steps=1, top_k=1),
              nbs.minutes_notebook(f"[00:00:00] {SECRET_MARKER}", "hf:org/m", minutes="ok"),
              nbs.code_notebook("openai:gpt-4o-mini", f"print('{SECRET_MARKER}')", cpp="int main(){}"),
              nbs.synthetic_notebook(stats, [{"k": SECRET_MARKER}])]
    for i, nb in enumerate(built):
        text = nbs.write_notebook(nb, tmp_path, f"nb{i}").read_text()
        assert SECRET_MARKER not in text and "hf_abcdefghijklmnop" not in text and "sk-wbtest" not in text
        assert "OPENAI_API_KEY" in text or "HF_TOKEN" in text or "ollama" in text  # read from the environment


# --------------------------------------------------------------------------------------------- one kernel each
def test_remote_chat_notebook_runs_alone_and_writes_the_apps_text(tmp_path, fake_server, remote_env):
    """A notebook start to end in a fresh kernel: the API model's answer, for the same messages, is the app's."""
    from nbclient import NotebookClient

    from engines.chat import stream_chat

    fake_server.respond("nb-chat", _digest)
    text = "".join(c.text for c in stream_chat("openai:nb-chat", MESSAGES, max_new_tokens=64))
    nb = nbs.chat_notebook("openai:nb-chat", MESSAGES, quantization="n/a", max_new_tokens=64, text=text)
    NotebookClient(nb, kernel_name="python3", timeout=KERNEL_TIMEOUT_S,
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=kernel_env(fake_server))
    assert nbs.read_result(nb) == {"text": text} and text.startswith("reply ")


# --------------------------------------------------------------------------------------------- shared kernel
def test_tokenizers_notebook_gives_the_same_ids(kernel, tiny, tmp_path):
    from engines import tokenizers as tk

    refs = [str(tiny["tok-llama"]), str(tiny["tok-bert"]), str(tiny["tok-gemma"])]
    text = "Tokenizers split text 🚀 into ids: Ünïcødé 1234567.\n  def f(x): return x"
    for special in (True, False):
        ids = {r: tk.tokenize(r, text, add_special_tokens=special).ids for r in refs}
        result, _ = execute(kernel, nbs.tokenizers_notebook(refs, text, add_special_tokens=special, ids=ids),
                            tmp_path)
        assert result == {"ids": ids}


def _pipeline_cases(pl: dict, tiny: dict) -> list[tuple[str, str, dict]]:
    story = "Paris is the capital of France. Berlin is the capital of Germany. " * 3
    return [
        ("sentiment-analysis", pl["sentiment"], {"text": "What a lovely, warm film."}),
        ("zero-shot-classification", pl["zeroshot"], {"text": "The striker scored twice.",
                                                      "labels": ["sports", "politics", "cooking"]}),
        ("ner", pl["ner"], {"text": "John Smith works at Acme Corp in London."}),
        ("fill-mask", pl["fill-mask"], {"text": "Paris is the [MASK] of France.", "top_k": 4}),
        ("question-answering", pl["qa"], {"question": "What is the capital of France?", "context": story * 12}),
        ("summarization", pl["summarization"], {"text": story, "min_length": 2, "max_length": 12}),
        ("translation", pl["translation"], {"text": "The library opens at nine.", "src_lang": "en",
                                            "tgt_lang": "fr"}),
        ("feature-extraction", pl["feature-extraction"], {"text": "a cat", "text_pair": "a small cat"}),
        ("text-generation", tiny["lm-llama"], {"text": "Once upon a time", "max_new_tokens": 8}),
    ]


def _same(a, b, tol: float = 1e-5) -> bool:
    """Equal JSON-like values, floats within ``tol``."""
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= tol
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, tol) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.slow
def test_pipelines_notebooks_give_the_same_outputs(kernel, tiny, tmp_path):
    import tiny_pipelines

    from engines.pipelines import run_task

    for task, model, inputs in _pipeline_cases(tiny_pipelines.build_all(), tiny):
        r = run_task(task, dict(inputs), model=str(model))
        result, run = execute(kernel, nbs.pipeline_notebook(task, str(model), inputs, r), tmp_path)
        expected = json.loads(json.dumps(r.value, default=float))
        assert _same(result, expected), (task, result, expected, outputs_text(run)[-2000:])


def test_pipelines_image_and_speech_notebooks(kernel, tmp_path):
    import tiny_minutes
    import tiny_pipelines

    from engines.pipelines import run_task

    flux = tiny_pipelines.build_all()["flux"]
    r = run_task("text-to-image", {"text": "a red chair", "seed": 11, "steps": 2, "width": 64, "height": 64},
                 model=str(flux))
    result, _ = execute(kernel, nbs.pipeline_notebook("text-to-image", str(flux), {"text": "a red chair"}, r),
                        tmp_path)
    pixels = np.asarray(r.value.convert("RGB"))
    assert result == {"size": [64, 64], "sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}
    fx = tiny_minutes.build_all()
    shutil.copy(fx["audio"] / "short.wav", tmp_path / "audio.wav")
    speech = run_task("automatic-speech-recognition", {"audio": str(tmp_path / "audio.wav"), "language": "en",
                                                       "max_new_tokens": 12}, model=str(fx["whisper"]))
    result, _ = execute(kernel, nbs.pipeline_notebook("automatic-speech-recognition", str(fx["whisper"]),
                                                      {"audio": "audio.wav"}, speech), tmp_path)
    assert result == speech.value


def test_compare_column_notebook_writes_the_same_greedy_text(kernel, tiny, tmp_path):
    from engines.chat import stream_chat

    for family in ("lm-llama", "lm-gemma"):
        model = str(tiny[family])
        chunks = list(stream_chat(model, MESSAGES, max_new_tokens=24, temperature=0.0, quantization="fp32"))
        text = "".join(c.text for c in chunks)
        nb = nbs.chat_notebook(model, MESSAGES, quantization=chunks[-1].stats.quantization, max_new_tokens=24,
                               text=text, stats=chunks[-1].stats)
        result, run = execute(kernel, nb, tmp_path)
        assert result == {"text": text}, (family, outputs_text(run)[-1500:])


def _table(rows) -> list[dict]:
    return [{"id": r.token_id, "prob": r.prob, "candidates": [[c.token_id, c.prob] for c in r.candidates]}
            for r in rows]


def test_next_token_notebook_gives_the_same_table(kernel, tiny, tmp_path, fake_server, remote_env):
    from engines.next_token import next_token_table

    model = str(tiny["lm-qwen2"])
    for temperature, seed in ((0.0, None), (0.9, 1234)):
        rows = list(next_token_table(model, MESSAGES, steps=6, top_k=4, temperature=temperature, seed=seed,
                                     quantization="fp32"))
        nb = nbs.next_token_notebook(model, MESSAGES, rows, steps=6, top_k=4, temperature=temperature, seed=seed)
        result, _ = execute(kernel, nb, tmp_path)
        got = [{"id": s["id"], "prob": s["prob"], "candidates": [[i, p] for _, i, p in s["candidates"]]}
               for s in result["table"]]
        assert _same(got, _table(rows)), (temperature, got, _table(rows))
        for step, r in zip(result["table"], rows, strict=True):  # the app spells a piece of a character as bytes
            assert step["token"] == r.token or "\ufffd" in step["token"]
    rows = list(next_token_table("openai:fake-echo", MESSAGES, steps=5, top_k=3))
    result, _ = execute(kernel, nbs.next_token_notebook("openai:fake-echo", MESSAGES, rows, steps=5, top_k=3),
                        tmp_path)
    assert _same([[s["token"], s["prob"], [[t, p] for t, _, p in s["candidates"]]] for s in result["table"]],
                 [[r.token, r.prob, [[c.token, c.prob] for c in r.candidates]] for r in rows])


def test_raw_text_next_token_notebook_reads_the_same_text(kernel, tiny, tmp_path):
    # issue 27 item 6: a raw-text run's notebook continues the same text (no chat template), same table
    from engines.next_token import next_token_table

    model, text = str(tiny["lm-llama"]), [{"role": "user", "content": "The capital of France is"}]
    rows = list(next_token_table(model, text, steps=5, top_k=3, quantization="fp32", prompt_format="raw"))
    nb = nbs.next_token_notebook(model, text, rows, steps=5, top_k=3, prompt_format="raw")
    result, ran = execute(kernel, nb, tmp_path)
    got = [{"id": s["id"], "prob": s["prob"], "candidates": [[i, p] for _, i, p in s["candidates"]]}
           for s in result["table"]]
    assert _same(got, _table(rows))
    code = "".join(c.source for c in ran.cells if c.cell_type == "code")
    assert "prompt = 'The capital of France is'" in code and "apply_chat_template" not in code
    assert "Raw text" in "".join(c.source for c in ran.cells if c.cell_type == "markdown")


def test_minutes_notebooks_transcribe_and_write_the_same(kernel, tmp_path, fake_server, remote_env):
    import tiny_minutes

    from engines import minutes as mn
    from engines import speech as sp

    fx = tiny_minutes.build_all()
    shutil.copy(fx["audio"] / "short.wav", tmp_path / "meeting.wav")
    t = sp.transcribe(tmp_path / "meeting.wav", model=str(fx["whisper"]), language="en", max_new_tokens=None)
    result, _ = execute(kernel, nbs.transcription_notebook(t, audio_file="meeting.wav"), tmp_path)
    assert result == {"text": t.text}
    fake_server.respond("nb-minutes", _digest)
    transcript = "[00:00:01] Alice will send the report by Friday.\n[00:00:05] Bob agrees.\n"
    minutes = "".join(c.text for c in mn.stream_minutes(transcript, model="openai:nb-minutes", max_new_tokens=256))
    nb = nbs.minutes_notebook(transcript, "openai:nb-minutes", max_new_tokens=256, minutes=minutes)
    result, _ = execute(kernel, nb, tmp_path)
    assert result == {"text": minutes} and minutes.startswith("reply ")


def test_minutes_notebook_stops_at_the_loop_where_the_app_does(kernel, tmp_path, fake_server, remote_env,
                                                               monkeypatch):
    """A model that repeats itself: the app stops at the loop and keeps it once; the notebook stops at the same
    point with the same text (local: a StoppingCriteria; API: the stream is left), not after max_new_tokens."""
    import tiny_minutes

    from engines import minutes as mn

    monkeypatch.setenv("WORKBENCH_ALLOW_LOCAL_MODELS", "1")
    transcript = "[00:00:01] Alice will send the report by Friday.\n[00:00:05] Bob agrees.\n"
    fake_server.script("nb-minutes-loop", "## Summary\nThe team met.\n" + "- Carol books the room for Monday.\n" * 200)
    for model, limit in ((str(tiny_minutes.build_all()["lm-loop"]), 400), ("openai:nb-minutes-loop", 3000)):
        chunks = list(mn.stream_minutes(transcript, model=model, max_new_tokens=limit))
        last = chunks[-1]
        assert last.quality.looped and last.stats.tokens < limit / 2, (model, last.stats)
        nb = nbs.minutes_notebook(transcript, model, max_new_tokens=limit, minutes=last.final_text, stats=last.stats)
        result, run = execute(kernel, nb, tmp_path)
        assert result == {"text": last.final_text}, (model, outputs_text(run)[-1500:])
        assert "[stopped: the text started repeating itself" in outputs_text(run)


@pytest.mark.slow
def test_transcription_notebooks_write_the_apps_words_on_a_long_recording(kernel, tmp_path):
    """Longer than one 30 s window, on both local backends and an English-only model: the notebook decodes the
    audio as the app does (ffmpeg, 16 kHz) and runs the same windows and settings, so the words are the app's."""
    import tiny_minutes

    from engines import speech as sp

    fx = tiny_minutes.build_all()
    shutil.copy(fx["audio"] / "long.wav", tmp_path / "long.wav")
    names = ["whisper", "whisper-en"] + (["whisper-ct2"] if "whisper-ct2" in fx and sp.has_faster_whisper() else [])
    for name in names:
        for language in (None, "en"):
            t = sp.transcribe(tmp_path / "long.wav", model=str(fx[name]), language=language, max_new_tokens=24)
            assert t.duration_s > 30 and t.text
            result, run = execute(kernel, nbs.transcription_notebook(t, audio_file="long.wav"), tmp_path)
            assert result == {"text": t.text}, (name, language, t.backend, outputs_text(run)[-1500:])


def test_image_notebook_gives_the_same_pixels(kernel, tmp_path):
    import tiny_images
    import torch

    from engines import gpu
    from engines import images as im

    r = im.generate_image("a small robot reading a book", model=str(tiny_images.build_tiny_sd()), seed=424242,
                          num_inference_steps=2, width=64, height=64)
    nb = nbs.image_notebook(r)
    assert "attachment:app-image.png" in nb.cells[-1].source and nb.cells[-1].attachments
    # same pixels at the same number of CPU threads (float sums split over threads round differently): the kernel
    # computes with the count the app computed with, on its model threads (an earlier notebook in the shared kernel,
    # faster-whisper's, may set its own; a library may have set another in this process's main thread)
    threads = gpu.run_on_model_threads(torch.get_num_threads)
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import torch\ntorch.set_num_threads({threads})"))
    result, _ = execute(kernel, nb, tmp_path)
    pixels = np.asarray(r.image.convert("RGB"))
    assert result == {"size": [64, 64], "sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(tmp_path / "image.png").convert("RGB")), pixels)


CPP = """Here is the program:

```cpp
#include <cstdio>
int main() {
    long long total = 0;
    for (int i = 0; i < 1000; ++i) total += (long long)i * i;
    std::printf("%lld %.6f\\n", total, total / 7.0);
    return 0;
}
```
"""


def test_code_notebook_compiles_and_runs_the_same_program(kernel, tmp_path, fake_server, remote_env):
    from engines import codeconv, sandbox

    if sandbox.detect_compiler() is None:
        pytest.skip("no C++ compiler")
    fake_server.script("nb-coder", CPP)
    python = "total = sum(i * i for i in range(1000))\nprint(total, f'{total / 7:.6f}')\n"
    answer = "".join(c.text for c in codeconv.stream_cpp(python, model="openai:nb-coder"))
    cpp = codeconv.extract_cpp(answer)
    app = sandbox.compile_and_run_cpp(cpp)
    assert app.exit_code == 0
    result, _ = execute(kernel, nbs.code_notebook("openai:nb-coder", python, cpp=cpp, run=app), tmp_path)
    assert result == {"compiled": True, "exit_code": 0, "stdout": app.stdout}


def test_synthetic_notebook_parses_the_same_rows(kernel, tmp_path, fake_server, remote_env):
    from synthetic_samples import jsonl, row, run

    fake_server.script("nb-synth", jsonl(row(1), row(2), row(3)))
    rows, stats = run("nb-synth", 3)
    result, _ = execute(kernel, nbs.synthetic_notebook(stats, rows), tmp_path)
    assert result == {"rows": rows}
