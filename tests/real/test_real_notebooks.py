"""Real tier: the notebooks of real runs write what the app wrote. Whisper tiny.en and base on both backends
transcribe the bundled sample meeting (41 s of MP3: more than one 30 s window, decoded from a compressed file), and
the transcription notebook, executed with nbclient, gives the app's words exactly (they differed in 2.8 % of words
with transformers and 0.7 % with faster-whisper when the notebook decoded the file itself, chunked it with a stride
and let faster-whisper's sampling fallback run unseeded). SmolLM2's minutes notebook stops where the app stopped."""

from __future__ import annotations

import pytest
from real_notebooks import check_transcription_notebook, execute

from engines import minutes
from engines import notebooks as nbs

pytestmark = pytest.mark.real

# Whisper base on both backends: tests/real/test_real_notebooks_base.py (a file of its own: parallel workers share
# the files, and these were ~4.5 minutes together on a busy CPU)
CASES = [("whisper-tiny.en", "transformers"), ("whisper-tiny.en-ct2", "faster-whisper")]


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_transcription_notebook_writes_the_apps_words(real, name, backend, tmp_path):
    check_transcription_notebook(real, name, backend, tmp_path)


@pytest.mark.timeout(1500)  # two generations of up to 128 tokens by a 135M model on a busy CPU
def test_minutes_notebook_of_a_real_model_stops_where_the_app_did(real, fresh_cache, tmp_path):
    transcript = ("[00:00:01] Alice: Good morning everyone, this is the weekly planning meeting.\n"
                  "[00:00:06] Bob: The supplier delayed our order by two weeks.\n"
                  "[00:00:12] Alice: Bob, please call the supplier on Monday to get a new date.\n")
    chunks = list(minutes.stream_minutes(transcript, model=str(real["smollm2"]), max_new_tokens=128))
    last = chunks[-1]
    nb = nbs.minutes_notebook(transcript, str(real["smollm2"]), max_new_tokens=128, minutes=last.final_text,
                              quantization=last.stats.quantization, stats=last.stats)
    assert execute(nb, tmp_path) == {"text": last.final_text}
