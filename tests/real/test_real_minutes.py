"""Real tier: the minutes engine with SmolLM2-135M (real weights). A 135M model can't follow the long structured
prompt: what is checkable is the app's handling — the run ends, a loop is stopped, and what is missing is said."""

from __future__ import annotations

import pytest

from engines import minutes

pytestmark = pytest.mark.real

TRANSCRIPT = """[00:00:01] Alice: Good morning everyone, this is the weekly planning meeting.
[00:00:06] Bob: The supplier delayed our order by two weeks.
[00:00:12] Alice: Bob, please call the supplier on Monday to get a new date.
[00:00:18] Carol: I will finish the budget report by Friday.
[00:00:24] Alice: Good. We decided to move the launch to the fifteenth of April."""


def test_minutes_on_a_small_real_model_end_with_an_honest_check(real, fresh_cache):
    chunks = list(minutes.stream_minutes(TRANSCRIPT, model=str(real["smollm2"]), max_new_tokens=512))
    last = chunks[-1]
    quality, stats = last.quality, last.stats
    assert quality is not None and stats is not None and stats.tokens > 0
    streamed = "".join(c.text for c in chunks)
    assert last.final_text is not None and len(last.final_text) <= len(streamed)
    if quality.looped:  # stopped as soon as the loop showed, well before the token limit
        assert stats.finish_reason == "repetition" and stats.tokens < 512
    if not quality.ok or not quality.action_items:
        assert last.notice and any(w in last.notice for w in ("repeating", "lack the section", "No action items",
                                                               "max-new-tokens"))
    print(f"\nSmolLM2 minutes: {stats.tokens} tokens, {stats.tokens_per_s:.1f} tok/s, looped={quality.looped}, "
          f"missing={quality.missing_sections}, action items={quality.action_items}")
