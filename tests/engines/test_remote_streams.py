"""Remote answers are held to what was asked, through the real ``openai`` client and the fake server's faults: a
stream that closes without a finish reason is an error (not a finished answer), an answer far past max_tokens is
cut and says so, and WORKBENCH_REMOTE_TIMEOUT_S bounds the whole call (a server that keeps trickling words, or
hangs after one, is stopped). Every consumer of remote chat (Compare, Minutes, Synthetic data, Code, the judge, the
next-token view) goes through the same path."""

from __future__ import annotations

import threading

import pytest
from fake_openai import RUNAWAY_CHARS

from engines import arena, errors
from engines.chat import stream_chat
from engines.codeconv import stream_cpp
from engines.evals.judge import judge_answer
from engines.minutes import stream_minutes
from engines.next_token import next_token_table
from engines.remote import answer_char_cap, read_within
from engines.synthetic import stream_rows

HI = [{"role": "user", "content": "hi"}]
CUT = "closed the stream before the answer finished"


def collect(model: str, max_new_tokens: int = 64):
    text, notices, stats = "", [], None
    for chunk in stream_chat(model, HI, max_new_tokens=max_new_tokens):
        text += chunk.text
        notices += [chunk.notice] if chunk.notice else []
        stats = chunk.stats or stats
    return text, notices, stats


def test_a_stream_closed_without_finish_reason_is_an_error(remote_env):
    with pytest.raises(errors.StreamTruncated, match=CUT) as info:
        collect("openai:fake-drop")
    assert isinstance(info.value, errors.RemoteError) and "3 chunk" in str(info.value)


def test_a_connection_lost_mid_answer_is_a_cut_off_answer_too(remote_env):
    with pytest.raises(errors.StreamTruncated, match="broke off after 3 chunks"):
        collect("openai:fake-midstream-error")


def test_a_short_answer_dropped_before_its_finish_reason_is_an_error(remote_env):
    remote_env.script("drop-short", "B")
    remote_env.fault("drop-short", "drop", after=1)
    assert collect("openai:drop-short")[0] == "B"  # the first answer is whole
    with pytest.raises(errors.StreamTruncated, match=CUT):
        collect("openai:drop-short")  # every later one is cut: the word came, its finish reason did not
    remote_env.fault("drop-short", None)
    assert collect("openai:drop-short")[2].finish_reason == "stop"


def test_an_answer_that_ignores_max_tokens_is_capped(remote_env):
    text, notices, stats = collect("openai:fake-runaway", max_new_tokens=16)
    assert 0 < len(text) <= answer_char_cap(16) < RUNAWAY_CHARS // 100
    assert stats.finish_reason == "length"
    assert len(notices) == 1 and "past max new tokens (16)" in notices[0] and "cut" in notices[0]


def test_the_timeout_bounds_the_whole_call_not_each_read(remote_env, monkeypatch):
    # a word every 0.1 s for 20 s: no read waits long, so only a deadline on the whole call stops it
    monkeypatch.setenv("WORKBENCH_REMOTE_TIMEOUT_S", "2")
    with pytest.raises(errors.RemoteTimeout, match=r"did not finish 'openai:fake-trickle' within 2 s") as info:
        collect("openai:fake-trickle")
    assert "WORKBENCH_REMOTE_TIMEOUT_S" in str(info.value) and "chunk" in str(info.value)


def test_a_server_that_hangs_between_chunks_times_out_clearly(remote_env, monkeypatch):
    monkeypatch.setenv("WORKBENCH_REMOTE_TIMEOUT_S", "1.5")
    with pytest.raises(errors.RemoteTimeout, match=r"within 1.5 s .*stopped after 1 chunk"):
        collect("openai:fake-hang")


def test_read_within_stops_a_reader_that_never_returns():
    release = threading.Event()

    def never():
        release.wait(30)
        return iter(())

    with pytest.raises(TimeoutError):
        list(read_within(never, 0.3, lambda: TimeoutError("late")))
    release.set()


def test_read_within_passes_errors_and_items_through():
    assert list(read_within(lambda: iter(range(200)), 30, lambda: TimeoutError())) == list(range(200))

    def broken():
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(read_within(broken, 30, lambda: TimeoutError()))


def test_compare_marks_a_cut_off_column_failed(remote_env):
    entries = arena.parse_entries(["openai:fake-drop", "openai:fake-long"], "auto")
    final = list(arena.stream_compare(entries, HI, max_new_tokens=8, memory_check=False))[-1]
    assert [c.status for c in final] == ["error", "done"]
    assert CUT in final[0].error and final[0].stats is None


def test_compare_caps_a_runaway_column(remote_env):
    entries = arena.parse_entries(["openai:fake-runaway"], "auto")
    (col,) = list(arena.stream_compare(entries, HI, max_new_tokens=16, memory_check=False))[-1]
    assert col.status == "done" and len(col.text) <= answer_char_cap(16) and "max new tokens" in col.notice


@pytest.mark.parametrize("consumer", ["minutes", "synthetic", "codeconv", "judge", "next_token"])
def test_every_consumer_of_remote_chat_reports_a_cut_off_stream(remote_env, consumer):
    model = "openai:fake-drop"
    calls = {
        "minutes": lambda: list(stream_minutes("Ann: we ship on Monday.\nBob: fine.", model=model)),
        "synthetic": lambda: list(stream_rows("people", fields=["name"], n_rows=2, model=model, max_attempts=1)),
        "codeconv": lambda: list(stream_cpp("print(1)", model=model)),
        "judge": lambda: judge_answer(model, "2 + 2?", "4", references=["4"]),
        "next_token": lambda: list(next_token_table(model, HI, steps=5, top_k=2)),
    }
    with pytest.raises(errors.StreamTruncated, match=CUT):
        calls[consumer]()
