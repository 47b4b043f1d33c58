"""Real tier: Whisper base's transcription notebooks (both backends), executed with nbclient, write the app's words
exactly (tiny.en and the minutes notebook: test_real_notebooks.py)."""

from __future__ import annotations

import pytest
from real_notebooks import check_transcription_notebook

pytestmark = pytest.mark.real


CASES = [("whisper-base", "transformers"), ("whisper-base-ct2", "faster-whisper")]


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_transcription_notebook_writes_the_apps_words(real, name, backend, tmp_path):
    check_transcription_notebook(real, name, backend, tmp_path)
