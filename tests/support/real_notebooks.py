"""Executing the notebooks of real runs (the real tier's notebook tests, split over files so that parallel workers
share them: one file held ~4.5 minutes of Whisper on a busy CPU)."""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest
from tiny_minutes import SAMPLE_PATH

from engines import notebooks as nbs
from engines import speech


def execute(nb, cwd):
    """Run ``nb`` with nbclient in ``cwd`` (offline, no installs) and return its result cell's value."""
    from nbclient import NotebookClient

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", nbs.SKIP_INSTALL_ENV: "1",
           "PYTHONWARNINGS": "ignore"}
    run = nbformat.from_dict(nb)
    client = NotebookClient(run, kernel_name="python3", timeout=900, resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    return nbs.read_result(run)


def check_transcription_notebook(real, name: str, backend: str, tmp_path) -> None:
    """The app transcribes the sample meeting with ``real[name]``; its notebook, executed, writes the same words."""
    if backend == "faster-whisper" and not speech.has_faster_whisper():
        pytest.skip("faster-whisper not installed")
    shutil.copy(SAMPLE_PATH, tmp_path / "meeting.mp3")
    t = speech.transcribe(tmp_path / "meeting.mp3", model=str(real[name]))
    assert t.backend == backend and t.duration_s > 30
    result = execute(nbs.transcription_notebook(t, audio_file="meeting.mp3"), tmp_path)
    assert result == {"text": t.text}
