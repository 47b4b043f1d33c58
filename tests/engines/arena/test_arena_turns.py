"""Multi-turn side by side: a follow-up continues each column's own conversation (what column A said is never sent
to column B), and an arena battle can run several turns before its vote, which records how many."""

from __future__ import annotations

import pytest

from engines import arena, errors
from engines.arena.votes import MAX_TURNS, AlreadyVoted


def test_a_follow_up_sends_each_column_its_own_conversation(remote_env):
    remote_env.respond("left-bot", lambda m: f"left saw {len(m)} messages")
    remote_env.respond("right-bot", lambda m: f"right saw {len(m)} messages")
    entries = [arena.Entry("openai:left-bot"), arena.Entry("openai:right-bot")]
    first = list(arena.stream_compare(entries, [{"role": "user", "content": "Name a colour."}]))[-1]
    histories = [[{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": c.text}]
                 for c in first]
    before = len(remote_env.requests)
    second = list(arena.stream_compare(entries, [{"role": "user", "content": "And another?"}],
                                       histories=histories))[-1]
    assert [c.text for c in second] == ["left saw 3 messages", "right saw 3 messages"]
    sent = {r["body"]["model"]: r["body"]["messages"] for r in remote_env.requests[before:] if r.get("body")}
    assert sent["left-bot"][1] == {"role": "assistant", "content": "left saw 1 messages"}
    assert sent["right-bot"][1] == {"role": "assistant", "content": "right saw 1 messages"}
    assert sent["left-bot"][2]["content"] == sent["right-bot"][2]["content"] == "And another?"


def test_a_follow_up_needs_one_conversation_per_column(remote_env):
    with pytest.raises(errors.InvalidInput, match="one conversation per column"):
        next(arena.stream_compare([arena.Entry("openai:a"), arena.Entry("openai:b")],
                                  [{"role": "user", "content": "q"}], histories=[[]]))


def test_a_battle_runs_several_turns_and_the_vote_records_them(tmp_path):
    store = arena.ArenaStore(tmp_path / "arena.sqlite3")
    h1 = ([{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}],
          [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "b1"}])
    match = store.open_match("m-a", "m-b", [{}, {}], owner="alice", histories=h1)
    assert store.get_match(match)["turns"] == 1 and store.get_match(match)["histories"] == h1
    h2 = tuple(h + [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "x"}] for h in h1)
    assert store.continue_match(match, [{}, {}], h2) == 2
    got = store.get_match(match)
    assert got["histories"] == h2 and got["owner"] == "alice"
    store.record_vote("m-a", "m-b", "a", match_id=match, turns=got["turns"])
    assert [(v.outcome, v.turns) for v in store.votes()] == [("a", 2)]
    with pytest.raises(AlreadyVoted):
        store.continue_match(match, [{}, {}], h2)


def test_a_battle_stops_at_the_turn_limit(tmp_path):
    store = arena.ArenaStore(tmp_path / "arena.sqlite3")
    match = store.open_match("m-a", "m-b", [{}, {}], histories=([], []))
    for _ in range(MAX_TURNS - 1):
        store.continue_match(match, [{}, {}], ([], []))
    with pytest.raises(errors.InvalidInput, match=f"at {MAX_TURNS} turns"):
        store.continue_match(match, [{}, {}], ([], []))


def test_an_old_vote_database_gains_the_turns_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, "
                "model_a TEXT NOT NULL, model_b TEXT NOT NULL, outcome TEXT NOT NULL, match_id TEXT)")
    con.execute("INSERT INTO votes (created_at, model_a, model_b, outcome) VALUES (1, 'x', 'y', 'tie')")
    con.execute("CREATE TABLE matches (id TEXT PRIMARY KEY, created_at REAL NOT NULL, model_a TEXT NOT NULL, "
                "model_b TEXT NOT NULL, stats TEXT NOT NULL, owner TEXT)")
    con.commit()
    con.close()
    store = arena.ArenaStore(path)
    assert [(v.outcome, v.turns) for v in store.votes()] == [("tie", 1)]
    assert store.get_match(store.open_match("x", "y", [{}, {}]))["turns"] == 1


def test_two_follow_ups_from_the_same_turn_cannot_both_count(tmp_path):
    store = arena.ArenaStore(tmp_path / "arena.sqlite3")
    match = store.open_match("m-a", "m-b", [{}, {}], histories=([], []))
    first = ([{"role": "user", "content": "first"}], [])
    assert store.continue_match(match, [{}, {}], first, expected_turns=1) == 2
    with pytest.raises(errors.InvalidInput, match="Another follow-up"):
        store.continue_match(match, [{}, {}], ([{"role": "user", "content": "second"}], []), expected_turns=1)
    got = store.get_match(match)
    assert got["turns"] == 2 and got["histories"] == first
