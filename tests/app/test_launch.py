"""Starting the app on a loaded machine: ``import app`` loads no model library (collection and startup stay quick),
and ``launch()`` survives gradio's own check that localhost answers when that check is slow (it used to end the
app with "When localhost is not accessible, a shareable link must be created")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from app_helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "trl", "diffusers", "peft", "datasets", "accelerate", "bitsandbytes")


def _heavy_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("statement", ["import app", "import engines.finetune.worker"])
def test_importing_loads_no_model_library(statement):
    assert _heavy_after(statement) == []


def test_the_import_check_sees_a_heavy_import():
    assert _heavy_after("import types\nsys.modules['trl'] = types.ModuleType('trl')") == ["trl"]


class Flaky:
    """Stands in for gradio.networking.url_ok: "not answering" (or a connection error) the first ``fails`` times."""

    def __init__(self, fails: int, real=None, error: Exception | None = None):
        self.fails, self.real, self.error, self.calls = fails, real, error, 0

    def __call__(self, url: str) -> bool:
        self.calls += 1
        if self.calls <= self.fails:
            if self.error is not None:
                raise self.error
            return False
        return self.real(url) if self.real else True


def test_patient_check_retries_until_the_url_answers(monkeypatch):
    import gradio.networking as networking

    import app

    flaky = Flaky(3)
    monkeypatch.setattr(networking, "url_ok", flaky)
    app.patient_localhost_check(within_s=600)
    assert networking.url_ok("http://127.0.0.1:1/") is True
    assert flaky.calls == 4


def test_patient_check_counts_errors_as_not_yet_and_still_gives_up(monkeypatch):
    import gradio.networking as networking

    import app

    flaky = Flaky(2, error=OSError("connection reset"))
    monkeypatch.setattr(networking, "url_ok", flaky)
    app.patient_localhost_check(within_s=600)
    assert networking.url_ok("http://127.0.0.1:1/") is True and flaky.calls == 3
    never = Flaky(10**9)
    monkeypatch.setattr(networking, "url_ok", never)
    app.patient_localhost_check(within_s=0)
    assert networking.url_ok("http://127.0.0.1:1/") is False  # a localhost that never answers still fails


def _launch(demo):
    return demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)


def test_launch_survives_a_slow_localhost_check(monkeypatch):
    import gradio as gr
    import gradio.networking as networking

    import app

    with gr.Blocks() as demo:
        gr.Markdown("hello")
    # gradio's own check, failing its first 3 answers (a loaded machine): launch() refuses to serve ...
    monkeypatch.setattr(networking, "url_ok", Flaky(3, real=networking.url_ok))
    with pytest.raises(ValueError, match="When localhost is not accessible"):
        _launch(demo)
    demo.close()
    # ... unless the app made the check patient, as app.main() does
    flaky = Flaky(3, real=networking.url_ok.real)
    monkeypatch.setattr(networking, "url_ok", flaky)
    app.patient_localhost_check(within_s=600)
    try:
        _launch(demo)
        assert flaky.calls == 4 and demo.local_url
    finally:
        demo.close()
