"""engines.assistant.conversation: the history model, fitting a history into the context window, regenerate /
edit-and-resend, the JSON export; engines.assistant.replay: the notebook replaying a conversation, executed."""

from __future__ import annotations

import copy
import json
import os

import nbformat
import pytest
from app_helpers import SECRET_MARKER

from engines import notebooks as nbs
from engines.assistant.conversation import (
    Conversation,
    TurnStats,
    dropped_note,
    estimate_tokens,
    fit_to_window,
    has_content,
    text_of,
    turn_spans,
)
from engines.assistant.replay import conversation_code, conversation_notebook
from engines.errors import ContextTooLong, InvalidInput


def words(messages: list[dict]) -> int:
    """A token counter for the tests: one token per word of content, two of framing per message."""
    return sum(2 + len(text_of(m["content"]).split()) for m in messages)


def history(turns: int, *, system: bool = True) -> list[dict]:
    head = [{"role": "system", "content": "be brief"}] if system else []
    body = []
    for i in range(turns):
        body += [{"role": "user", "content": f"question {i} " + "w " * 8}, {"role": "assistant", "content": f"a{i}"}]
    return head + body + [{"role": "user", "content": "last one"}]


def test_everything_fits_nothing_dropped():
    msgs = history(2)
    fit = fit_to_window(msgs, words, window=1000, reserve=100)
    assert fit.messages == msgs and fit.dropped == [] and fit.tokens == words(msgs)
    assert fit_to_window(msgs, words, window=None, reserve=10**6).dropped == []  # unknown window: nothing dropped


def test_the_oldest_turns_go_first_never_the_system_or_the_last_message():
    msgs = history(3)  # system 4 tokens; each turn 12 + 3 = 15; last user 4 → 53 tokens
    assert words(msgs) == 53
    fit = fit_to_window(msgs, words, window=45, reserve=10)  # needs ≤ 35 in the prompt: two turns go
    assert fit.messages[0] == msgs[0] and fit.messages[-1] == msgs[-1]
    assert [m["content"] for m in fit.dropped] == [msgs[1]["content"], "a0", msgs[3]["content"], "a1"]
    assert fit.messages == [msgs[0], *msgs[5:]] and fit.tokens == 23 == words(fit.messages)
    note = dropped_note(fit.dropped)
    assert "oldest 2 turn(s) (4 message(s))" in note and "“question 0 w w" in note and "“question 1" in note


def test_a_turn_with_tool_messages_is_dropped_whole():
    msgs = [{"role": "user", "content": "use a tool " * 10},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "1"}]},
            {"role": "tool", "content": "result " * 10, "tool_call_id": "1"},
            {"role": "assistant", "content": "done"}, {"role": "user", "content": "next"}]
    assert turn_spans(msgs) == [(0, 4), (4, 5)]
    fit = fit_to_window(msgs, words, window=20, reserve=5)
    assert fit.messages == msgs[4:] and fit.dropped == msgs[:4]


def test_too_long_even_alone_says_so():
    msgs = [{"role": "system", "content": "s " * 50}, {"role": "user", "content": "hi"}]
    with pytest.raises(ContextTooLong, match="no older turn"):
        fit_to_window(msgs, words, window=40, reserve=10)
    msgs = history(1)[:-1] + [{"role": "user", "content": "long " * 100}]
    with pytest.raises(ContextTooLong, match="even with every older turn left out"):
        fit_to_window(msgs, words, window=60, reserve=10)


def test_regenerate_and_edit_truncate_with_their_stats():
    conv = Conversation(system="sys", model="m")
    conv.add_user("one")
    conv.add_answer([{"role": "assistant", "content": "A1"}], TurnStats(tokens=3))
    conv.add_user("two")
    conv.add_answer([{"role": "assistant", "content": "", "tool_calls": []},
                     {"role": "tool", "content": "r", "tool_call_id": "x"},
                     {"role": "assistant", "content": "A2"}], TurnStats(tokens=5))
    assert set(conv.stats) == {1, 5} and conv.for_model()[0] == {"role": "system", "content": "sys"}
    conv.regenerate()
    assert [m["content"] for m in conv.messages] == ["one", "A1", "two"] and set(conv.stats) == {1}
    conv.edit(0, "uno")
    assert conv.messages == [{"role": "user", "content": "uno"}] and conv.stats == {}
    with pytest.raises(InvalidInput, match="Only a user message"):
        conv.edit(1, "x")
    with pytest.raises(InvalidInput, match="empty"):
        conv.edit(0, "  ")
    with pytest.raises(InvalidInput, match="empty"):
        conv.add_user(" \n")
    assert Conversation().for_model() == []
    with pytest.raises(InvalidInput, match="send one first"):
        Conversation().regenerate()


def test_image_parts_count_as_content_and_their_text_is_read():
    parts = [{"type": "text", "text": "what is this?"}, {"type": "image", "path": "/x.png"}]
    assert has_content(parts) and has_content([{"type": "image", "path": "/x.png"}])
    assert not has_content([{"type": "text", "text": " "}]) and not has_content(None)
    assert text_of(parts) == "what is this?" and text_of(None) == ""
    assert estimate_tokens([{"role": "user", "content": "x" * 400}]) == 4 + 402 // 4


def test_json_export_round_trips():
    conv = Conversation(system="Sé breve.", model="openai:m")
    conv.add_user("¿Hola?")
    conv.add_answer([{"role": "assistant", "content": "¡Hola!"}],
                    TurnStats(ttft_s=0.5, tokens=4, tokens_per_s=8, prompt_tokens=20, context_window=100))
    text = conv.to_json()
    data = json.loads(text)
    assert data["format"] == "llm-workbench.conversation/1" and "¡Hola!" in text  # UTF-8 kept, not \u-escaped
    assert data["stats"]["1"]["context_window"] == 100
    back = Conversation.from_dict(data)
    assert back == conv
    line = back.stats[1].line()
    assert line == "TTFT 0.50 s · 8.0 tokens/s · 4 tokens · context 24 / 100 (24 %)"
    assert "window unknown" in TurnStats(prompt_tokens=3).line() and "2 older" in TurnStats(dropped=2).line()
    with pytest.raises(InvalidInput):
        Conversation.from_dict({"messages": "no"})


def _conv(model: str, answers: list[str]) -> Conversation:
    conv = Conversation(system="You are terse.", model=model)
    for q, a in zip(["Name a colour.", "Another one?"], answers, strict=True):
        conv.add_user(q)
        conv.add_answer([{"role": "assistant", "content": a}], None)
    return conv


def test_replay_code_for_local_and_remote():
    local = conversation_code(_conv("org/m", ["red", "blue"]), quantization="auto", temperature=0.7, top_p=0.9)
    assert "AutoModelForCausalLM.from_pretrained" in local and "do_sample=True, temperature=0.7, top_p=0.9" in local
    assert '"Another one?"' in local and "def reply(messages):" in local
    remote = conversation_code(_conv("openai:gpt-x", ["red", "blue"]), max_new_tokens=32)
    assert "OpenAI()" in remote and "max_completion_tokens=32" in remote and "'gpt-x'" in remote
    compile(local, "local", "exec")
    compile(remote, "remote", "exec")


def _execute(nb, fake_server, cwd):
    from nbclient import NotebookClient

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", nbs.SKIP_INSTALL_ENV: "1",
           "OPENAI_BASE_URL": fake_server.base_url, "OPENAI_API_KEY": SECRET_MARKER, "PYTHONWARNINGS": "ignore"}
    run = copy.deepcopy(nb)
    NotebookClient(run, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    return nbs.read_result(run)


def _replayed(model: str, fake_server, tmp_path, **gen) -> tuple[list[str], dict]:
    """Chat two turns through stream_chat as the app does, then run the replay notebook."""
    from engines.chat import stream_chat

    conv = Conversation(system="You are terse.", model=model)
    answers = []
    for q in ("Name a colour.", "Another one?"):
        conv.add_user(q)
        text = "".join(c.text for c in stream_chat(model, conv.for_model(), max_new_tokens=12, **gen))
        conv.add_answer([{"role": "assistant", "content": text}], None)
        answers.append(text)
    nb = conversation_notebook(conv, quantization="fp32", max_new_tokens=12)
    text = nbs.write_notebook(nb, tmp_path, "chat").read_text()
    assert SECRET_MARKER not in text
    return answers, _execute(nbformat.reads(text, as_version=4), fake_server, tmp_path)


def test_the_replay_notebook_writes_the_apps_answers(tmp_path, fake_server, remote_env, tiny):
    def digest(messages):  # equal replies mean equal requests, history included
        return "reply " + str(abs(hash(json.dumps(messages, sort_keys=True))) % 10**8)

    fake_server.respond("replay-chat", digest)
    answers, result = _replayed("openai:replay-chat", fake_server, tmp_path)
    assert result == {"answers": answers} and answers[0] != answers[1]
    answers, result = _replayed(str(tiny["lm-llama"]), fake_server, tmp_path)
    assert result == {"answers": answers} and all(answers)
