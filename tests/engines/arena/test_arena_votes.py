"""engines.arena.votes: the SQLite vote store (concurrent votes kept, one vote per match under a race, an old
database migrated, no server path in what users see) and the draw of an anonymous pair."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engines import arena
from engines.errors import InvalidInput, WorkbenchError


def test_concurrent_votes_are_all_stored(tmp_path):
    store = arena.ArenaStore(tmp_path / "votes.sqlite3")
    outcomes = arena.OUTCOMES

    def vote(i: int) -> int:
        return arena.ArenaStore(store.path).record_vote(f"m{i % 3}", f"m{(i + 1) % 3}", outcomes[i % 4])

    with ThreadPoolExecutor(max_workers=32) as pool:
        ids = list(pool.map(vote, range(200)))
    assert len(set(ids)) == 200
    assert store.count() == 200
    reopened = arena.ArenaStore(tmp_path / "votes.sqlite3").votes()  # survives a restart
    assert len(reopened) == 200 and {v.outcome for v in reopened} == set(outcomes)


def test_store_rejects_bad_votes_and_default_path(tmp_path, monkeypatch):
    store = arena.ArenaStore(tmp_path / "v.sqlite3")
    with pytest.raises(InvalidInput, match="Unknown vote"):
        store.record_vote("a", "b", "c")
    with pytest.raises(InvalidInput, match="two different"):
        store.record_vote("a", "a", "tie")
    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(tmp_path / "x.db"))
    assert arena.default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("WORKBENCH_ARENA_DB")
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    assert arena.default_db_path() == tmp_path / "data" / "arena.sqlite3"


def test_pick_pair_is_two_different_models():
    import random

    rng = random.Random(0)
    pairs = {arena.pick_pair(["x", "y", "z"], rng) for _ in range(50)}
    assert all(a != b for a, b in pairs) and len(pairs) > 3
    with pytest.raises(InvalidInput, match="at least two"):
        arena.pick_pair(["x", "x"])


def _race(path, match_id: str, n: int = 16) -> list:
    """``n`` threads, each with its own store (its own connection), vote on one match at the same instant."""
    barrier = threading.Barrier(n)

    def vote(i: int):
        store = arena.ArenaStore(path)
        barrier.wait(timeout=120)
        try:
            return store.record_vote("m/a", "m/b", arena.OUTCOMES[i % 4], match_id=match_id)
        except arena.AlreadyVoted as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(vote, range(n)))


def test_simultaneous_votes_on_one_match_store_one_row(tmp_path):
    # before the fix every racing vote was stored (the "already voted" check was in session state only)
    path = tmp_path / "race.sqlite3"
    for attempt in range(3):
        results = _race(path, f"match-{attempt}")
        saved = [r for r in results if isinstance(r, int)]
        refused = [r for r in results if isinstance(r, arena.AlreadyVoted)]
        assert len(saved) == 1 and len(refused) == 15, results
        assert "already has your vote" in str(refused[0]) and isinstance(refused[0], InvalidInput)
    votes = arena.ArenaStore(path).votes()
    assert len(votes) == 3 and sorted(v.match_id for v in votes) == ["match-0", "match-1", "match-2"]


def test_one_vote_per_match_and_votes_without_a_match(tmp_path):
    store = arena.ArenaStore(tmp_path / "v.sqlite3")
    match = arena.new_match_id()
    assert len(match) == 32 and match != arena.new_match_id()
    first = store.record_vote("x", "y", "a", match_id=match)
    with pytest.raises(arena.AlreadyVoted, match="already has your vote"):
        store.record_vote("x", "y", "b", match_id=match)
    assert [v.outcome for v in store.votes()] == ["a"] and store.votes()[0].id == first
    store.record_vote("x", "y", "tie")  # no match: an import or a script, never a duplicate
    store.record_vote("x", "y", "tie")
    assert store.count() == 3
    for bad in ("", "x" * (arena.MAX_MATCH_ID + 1), 7):
        with pytest.raises(InvalidInput, match="match id"):
            store.record_vote("x", "y", "a", match_id=bad)


def test_a_database_from_before_match_ids_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, "
                "model_a TEXT NOT NULL, model_b TEXT NOT NULL, outcome TEXT NOT NULL "
                "CHECK (outcome IN ('a', 'b', 'tie', 'both_bad')))")
    con.executemany("INSERT INTO votes (created_at, model_a, model_b, outcome) VALUES (0, ?, ?, ?)",
                    [("x", "y", "a"), ("x", "y", "b")])
    con.commit()
    con.close()
    with ThreadPoolExecutor(max_workers=4) as pool:  # several servers opening the old database at once
        stores = list(pool.map(lambda _: arena.ArenaStore(path), range(4)))
    assert [v.outcome for v in stores[0].votes()] == ["a", "b"] and stores[0].votes()[0].match_id is None
    stores[1].record_vote("x", "y", "tie", match_id="m1")
    with pytest.raises(arena.AlreadyVoted):
        stores[2].record_vote("x", "y", "a", match_id="m1")
    assert stores[3].count() == 3


def test_what_users_see_names_no_server_path(tmp_path, monkeypatch):
    path = tmp_path / "secret-dir" / "votes.sqlite3"
    store = arena.ArenaStore(path)
    store.record_vote("x", "y", "a")
    assert store.describe() == "1 vote(s) stored on this server" and store.describe(5).startswith("5 vote(s)")
    assert "secret-dir" not in repr(store)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(WorkbenchError) as err:
        arena.ArenaStore(blocked / "sub" / "votes.sqlite3")  # its parent can't be created
    assert str(tmp_path) not in str(err.value) and "WORKBENCH_ARENA_DB" in str(err.value)
