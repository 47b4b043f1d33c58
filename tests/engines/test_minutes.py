"""engines.minutes: streamed minutes on a tiny local chat model and a scripted fake server, map-reduce when the
transcript exceeds the context, and the action-items CSV."""

from __future__ import annotations

import csv
import io

import pytest
from tiny_minutes import MINUTES_MD, minutes_fx  # noqa: F401  (session fixture)

from engines import errors, minutes
from engines.chat import ChatChunk, GenerationStats


def _transcript(lines: int) -> str:
    return "\n".join(f"[00:{i // 60:02d}:{i % 60:02d}] Bob says item {i} of the budget needs review by Friday."
                     for i in range(lines))


def _run(**kwargs) -> tuple[list[ChatChunk], str]:
    chunks = list(minutes.stream_minutes(**kwargs))
    return chunks, "".join(c.text for c in chunks)


def test_short_transcript_streams_in_one_stage(remote_env):
    remote_env.script("minutes-one", MINUTES_MD)
    before = len(remote_env.requests)
    chunks, text = _run(transcript=_transcript(5), model="openai:minutes-one")
    assert text == MINUTES_MD
    assert sum(1 for c in chunks if c.text) > 10  # streamed word by word
    assert chunks[0].stage == "Writing the minutes" and chunks[0].steps == 1
    assert isinstance(chunks[-1].stats, GenerationStats) and chunks[-1].stats.tokens > 0
    calls = [r for r in remote_env.requests[before:] if r["path"].endswith("/chat/completions")]
    assert len(calls) == 1
    messages = calls[0]["body"]["messages"]
    assert messages[0]["role"] == "system" and "Action items" in messages[0]["content"]
    assert "[00:00:04] Bob says item 4" in messages[1]["content"]
    assert "unknown" in chunks[0].notice  # the context of an uncatalogued API model is assumed


def test_map_reduce_when_the_transcript_exceeds_the_context(remote_env):
    remote_env.script("minutes-mr", "- notes on a part [00:00:01]", MINUTES_MD)
    before = len(remote_env.requests)
    chunks, text = _run(transcript=_transcript(120), model="openai:minutes-mr", max_new_tokens=128,
                        context_tokens=1200)
    calls = [r for r in remote_env.requests[before:] if r["path"].endswith("/chat/completions")]
    stages = [c.stage for c in chunks if c.stage]
    parts = [c.notes for c in chunks if c.notes]
    assert len(parts) >= 2 and len(calls) == len(parts) + 1
    assert stages[0].startswith("Summarizing part 1 of") and stages[-1].startswith("Writing the minutes from")
    assert all(p.startswith("### Part") for p in parts) and "(00:00:00–" in parts[0]
    mapped = [c["body"]["messages"][1]["content"] for c in calls[:-1]]
    assert all(len(m) / minutes.CHARS_PER_TOKEN < 1200 for m in mapped)
    assert "[00:01:59]" in mapped[-1]  # every line reaches a part
    assert "notes on a part" in calls[-1]["body"]["messages"][1]["content"]
    assert text == MINUTES_MD and chunks[-1].stats.tokens > 0
    assert chunks[-1].steps == len(parts) + 1


def test_collapse_round_when_notes_do_not_fit(remote_env):
    long_note = " ".join(f"note{i}" for i in range(400))  # the server cuts it at the notes' token budget
    remote_env.script("minutes-collapse", long_note, long_note, long_note, "- merged")
    chunks, text = _run(transcript=_transcript(150), model="openai:minutes-collapse", max_new_tokens=256,
                        context_tokens=800)
    merging = [c.stage for c in chunks if c.stage and c.stage.startswith("Merging notes")]
    assert merging and "round 1" in merging[0]
    assert chunks[-1].stage is None and text.strip() == "- merged"


def test_local_tiny_model_single_stage_and_map_reduce(minutes_fx, fresh_cache):  # noqa: F811
    model = str(minutes_fx["lm-long"])  # tiny Llama with a 1024-token context
    chunks, text = _run(transcript=_transcript(3), model=model, max_new_tokens=16)
    assert chunks[0].stage == "Writing the minutes" and chunks[-1].stats.backend == "transformers"
    assert 0 < chunks[-1].stats.tokens <= 16
    chunks, _ = _run(transcript=_transcript(60), model=model, max_new_tokens=16)
    parts = [c for c in chunks if c.notes]
    assert len(parts) >= 2 and chunks[-1].stats.tokens <= 16 * (len(parts) + 1)


def test_input_errors(remote_env, minutes_fx):  # noqa: F811
    with pytest.raises(errors.InvalidInput, match="empty"):
        list(minutes.stream_minutes("  ", model="openai:x"))
    with pytest.raises(errors.InvalidInput, match="max_new_tokens"):
        list(minutes.stream_minutes("hi", model="openai:x", max_new_tokens=0))
    with pytest.raises(errors.ContextTooLong, match="too small"):
        list(minutes.stream_minutes("hi", model="openai:x", context_tokens=200))
    with pytest.raises(errors.InvalidModelRef):
        list(minutes.stream_minutes("hi", model="https://evil.example/model"))
    with pytest.raises(errors.RemoteError):
        list(minutes.stream_minutes("hi", model="openai:fake-500"))


def test_action_items_csv_is_well_formed():
    rows = list(csv.DictReader(io.StringIO(minutes.action_items_csv(MINUTES_MD))))
    assert [r["Owner"] for r in rows] == ["Bob", "Carol"]
    assert rows[1]["Action"] == 'Write the CSV export spec, "v1"' and rows[1]["Source"] == "[00:00:21]"
    assert list(rows[0]) == list(minutes.ACTION_COLUMNS)
    assert minutes.action_items_csv("no table here").strip() == ",".join(minutes.ACTION_COLUMNS)
    other = "| Task | Owner | Due date |\n|---|---|---|\n| Ship it | Dana | 1 May |\n"
    assert minutes.parse_action_items(other) == [{"#": "", "Action": "Ship it", "Owner": "Dana", "Due": "1 May",
                                                  "Source": ""}]


def test_time_range_and_split():
    assert minutes.time_range(_transcript(90)) == ("00:00:00", "00:01:29")
    assert minutes.time_range("no stamps") == ("?", "?")


def test_well_formed_minutes_pass_the_check(remote_env):
    remote_env.script("minutes-good", MINUTES_MD)
    chunks, _ = _run(transcript=_transcript(5), model="openai:minutes-good")
    quality = chunks[-1].quality
    assert quality.ok and quality.action_items == 2 and not quality.missing_sections
    assert "repeating" not in (chunks[-1].notice or "") and "lack the section" not in (chunks[-1].notice or "")


def test_minutes_without_structure_say_so(remote_env):
    remote_env.script("minutes-prose", "The meeting was about the budget. Everyone agreed it was important.")
    chunks, _ = _run(transcript=_transcript(5), model="openai:minutes-prose")
    quality = chunks[-1].quality
    assert not quality.ok and quality.missing_sections == list(minutes.SECTIONS) and quality.action_items == 0
    notice = chunks[-1].notice
    assert "lack the section(s) Summary, Discussion points, Takeaways, Action items" in notice
    assert "larger instruct model" in notice and "No action items were found" in notice


def test_a_repetition_loop_is_stopped_and_cut_back(remote_env):
    line = "- Bob will review the budget numbers again.\n"
    remote_env.script("minutes-loop", "## Summary\nThe team met.\n" + line * 300)
    chunks, streamed = _run(transcript=_transcript(5), model="openai:minutes-loop", max_new_tokens=4000)
    last = chunks[-1]
    assert last.quality.looped and "started repeating itself" in last.notice
    assert streamed.count(line) < 20  # generation was stopped early, not run to the end of the script
    assert last.final_text.count(line) == 1 and last.stats.finish_reason == "repetition"
