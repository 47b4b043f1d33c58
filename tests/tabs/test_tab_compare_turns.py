"""Multi-turn Compare and arena through the tab's handlers, in-process, against the fake OpenAI server: a follow-up
continues each column's own conversation (what one model said never reaches another), the UI's kept history stays
within the input policy, and an arena battle runs several turns before its vote, which records them."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from engines import arena
from engines.arena.votes import MAX_TURNS
from tabs.compare import handlers as compare
from tabs.compare import side, turns


def _said(messages: list) -> str:
    return " | ".join(f"{m['role']}:{m['content']}" for m in messages if m["role"] != "system")


def _bots(remote_env, *names: str) -> list[str]:
    for name in names:  # each model says who it is and the whole conversation it was sent
        remote_env.respond(name, lambda m, name=name: f"{name} heard [{_said(m)}]")
    return [f"openai:{n}" for n in names]


def _text(message: dict) -> str:
    """A Chatbot message's text (Gradio keeps content as a list of parts)."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def _last(gen):
    *_, last = gen
    return last


def test_a_follow_up_continues_each_columns_own_conversation(remote_env):
    models = _bots(remote_env, "left-bot", "right-bot")
    first = _last(compare.compare_models(models, "Be brief.", "Name a colour.", 32))
    assert first["followup_row"].visible and first["textbox0"].visible and not first["convbox0"].visible
    convo = first["convo"]
    assert [h[0] for h in convo["histories"]] == [{"role": "system", "content": "Be brief."}] * 2
    assert convo["histories"][0][-1]["content"] == "left-bot heard [user:Name a colour.]"

    second = _last(side.followup_turn("And another?", 32, 0.0, True, False, {}, convo))
    assert second["text0"] == ("left-bot heard [user:Name a colour. | assistant:left-bot heard [user:Name a colour.] "
                               "| user:And another?]")
    assert "right-bot" not in second["text0"] and "left-bot" not in second["text1"]  # never the other's answer
    assert second["followup"] == "" and second["convbox1"].visible and not second["textbox1"].visible
    chat = second["conv0"]  # the column's conversation: both turns, each answer with its own numbers
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"] and _text(chat[2]) == \
        "And another?"
    assert "tokens/s" in _text(chat[1]) and "tokens/s" in _text(chat[3])
    histories = second["convo"]["histories"]
    assert [turns.turns_of(h) for h in histories] == [2, 2]
    # the code and notebook of a follow-up reproduce the whole conversation the model was sent
    assert "And another?" in second["code"] and "left-bot heard [user:Name a colour.]" in second["code"]

    cleared = compare.new_conversation()
    assert cleared["convo"] == {} and not cleared["followup_row"].visible and cleared["conv0"] == []
    with pytest.raises(gr.Error, match="no conversation to continue"):
        _last(side.followup_turn("More?", 32, 0.0, True, False, {}, cleared["convo"]))


def test_a_column_that_fails_keeps_its_conversation_and_the_others_go_on(remote_env):
    models = [*_bots(remote_env, "steady-bot"), "openai:fake-500"]
    convo = _last(compare.compare_models(models, "", "Hi", 16))["convo"]
    assert convo["histories"][1] == []  # its failed turn is not part of its conversation
    second = _last(side.followup_turn("Again", 16, 0.0, True, False, {}, convo))
    assert second["text0"] == "steady-bot heard [user:Hi | assistant:steady-bot heard [user:Hi] | user:Again]"
    assert "500" in second["metrics1"] and second["convo"]["histories"][1] == []


def test_the_kept_history_drops_its_oldest_turns_to_pass_the_input_policy(remote_env, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_CHARS", "700")
    models = _bots(remote_env, "echo-bot")
    convo = _last(compare.compare_models(models, "", "q1 " + "x" * 60, 16))["convo"]
    for i in range(2, 6):
        out = _last(side.followup_turn(f"q{i} " + "y" * 60, 16, 0.0, True, False, {}, convo))
        convo = out["convo"]
    history = convo["histories"][0]
    assert turns.history_chars(convo["histories"]) <= 700 and history[-2]["content"].startswith("q5")
    assert not any(m["content"].startswith("q1") for m in history if m["role"] == "user")
    assert "oldest turn(s) were dropped" in out["status"]
    # what the UI kept goes back through the API as it is, and the API call continues it
    api = _last(compare.compare_followup(models, "q6", convo["histories"], 16))
    sent = remote_env.requests[-1]["body"]["messages"]
    assert sent[:-1] == history and sent[-1] == {"role": "user", "content": "q6"}
    assert api["histories"][0][-2:] == [sent[-1], {"role": "assistant", "content": api["text0"]}]


def test_the_follow_up_api_checks_the_histories(remote_env):
    models = _bots(remote_env, "api-a", "api-b")
    for bad, why in ((["not a conversation"], "one per model"), ([[], []], None),
                     ([[{"role": "user", "content": {"x": 1}}], []], "message 1"),
                     ([[{"role": "user", "content": "q"}, {"role": "system", "content": "x"}], []], "first message"),
                     ([[{"role": "user", "content": [{"type": "image", "path": "/etc/passwd"}]}], []], "message 1")):
        if why is None:  # [] per column: a first turn without a system prompt
            assert _last(compare.compare_followup(models, "Hello", bad, 16))["text1"] == "api-b heard [user:Hello]"
            continue
        with pytest.raises(gr.Error, match=why):
            _last(compare.compare_followup(models, "Hello", bad, 16))
    with pytest.raises(gr.Error, match="Write a follow-up"):
        _last(compare.compare_followup(models, "  ", [], 16))


@pytest.fixture()
def arena_db(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(tmp_path / "arena.sqlite3"))


def test_an_arena_battle_runs_turns_before_the_vote_which_records_them(remote_env, arena_db):
    pool = _bots(remote_env, "arena-x", "arena-y")
    alice = SimpleNamespace(username="alice")
    battle = _last(compare.arena_battle(pool, "Tell me a joke.", 32, alice))
    match_id = battle["match_id"]
    assert match_id and battle["followup_row"].visible and battle["vote0"].interactive
    with pytest.raises(gr.Error, match="no match to continue"):  # owner checked exactly like the vote
        _last(compare.arena_followup("Another?", match_id, 32, SimpleNamespace(username="bob")))
    more = _last(compare.arena_followup("Another?", match_id, 32, alice))
    assert "Turn 2" in more["status"] and more["vote0"].interactive and more["convbox_a"].visible
    match = arena.ArenaStore().get_match(match_id)
    for side_key, other in (("a", "b"), ("b", "a")):  # each model continues its own conversation, nobody else's
        name, rival = match[side_key].split(":")[1], match[other].split(":")[1]
        assert more[side_key] == f"{name} heard [user:Tell me a joke. | assistant:{battle[side_key]} | user:Another?]"
        assert rival not in more[side_key] and name not in more["status"]
    assert [m["role"] for m in more["conv_a"]] == ["user", "assistant", "user", "assistant"]
    assert arena.ArenaStore().get_match(match_id)["turns"] == 2
    voted = compare.arena_vote("tie", match_id, alice)
    assert "after 2 turns" in voted["reveal"] and "(last turn)" in voted["reveal"]
    assert [v.turns for v in arena.ArenaStore().votes()] == [2]
    with pytest.raises(gr.Error, match="already has its vote"):  # no turn after the vote, before any model runs
        _last(compare.arena_followup("Still there?", match_id, 32, alice))


def test_an_arena_match_stops_taking_turns_at_the_limit(remote_env, arena_db):
    pool = _bots(remote_env, "lim-x", "lim-y")
    match_id = _last(compare.arena_battle(pool, "Hi", 8))["match_id"]
    store = arena.ArenaStore()
    match = store.get_match(match_id)
    for _ in range(MAX_TURNS - 1):
        store.continue_match(match_id, match["stats"], match["histories"])
    before = len(remote_env.requests)
    with pytest.raises(gr.Error, match=f"its {MAX_TURNS} turns"):
        _last(compare.arena_followup("One more?", match_id, 8))
    assert len(remote_env.requests) == before  # refused before either model ran
    with pytest.raises(gr.Error, match="Write a follow-up"):
        _last(compare.arena_followup(" ", _last(compare.arena_battle(pool, "Hi", 8))["match_id"], 8))
    assert "after 10 turns" in compare.arena_vote("a", match_id)["reveal"]
