"""Arena matches and votes: the Vote record, its SQLite store (one vote per match, enforced by the database) and
the draw of an anonymous pair."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
import uuid
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from engines import errors
from engines.config import Settings

OUTCOMES = ("a", "b", "tie", "both_bad")
MAX_MATCH_ID = 128
log = logging.getLogger(__name__)

_SCHEMA = ("CREATE TABLE IF NOT EXISTS votes (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, "
           "model_a TEXT NOT NULL, model_b TEXT NOT NULL, "
           "outcome TEXT NOT NULL CHECK (outcome IN ('a', 'b', 'tie', 'both_bad')), match_id TEXT)")
# one vote per match, in the database: two simultaneous votes on one match can't both be stored (NULL = a vote
# recorded without a match, e.g. an import, which is never a duplicate)
_UNIQUE_MATCH = "CREATE UNIQUE INDEX IF NOT EXISTS votes_match_id ON votes (match_id)"
# matches waiting for their vote, server side: who was A and B stays here until the vote (an API or MCP client
# votes with the match id arena_battle gave it); a match older than MATCH_TTL_S can't be voted on any more
_MATCHES = ("CREATE TABLE IF NOT EXISTS matches (id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
            "model_a TEXT NOT NULL, model_b TEXT NOT NULL, stats TEXT NOT NULL, owner TEXT, history TEXT, "
            "turns INTEGER NOT NULL DEFAULT 1)")
MAX_TURNS = 10  # turns a battle may run before its vote
MATCH_TTL_S = 24 * 3600


class AlreadyVoted(errors.InvalidInput):
    """The match already has its vote (one vote per match)."""

    title = "Already voted"


@dataclass(frozen=True)
class Vote:
    """One arena vote: which of two anonymous models answered better."""

    model_a: str
    model_b: str
    outcome: str  # one of OUTCOMES
    created_at: float = 0.0
    id: int = 0
    match_id: str | None = None
    turns: int = 1  # the user turns the battle ran before the vote


def new_match_id() -> str:
    """A fresh, unguessable match id (what ``ArenaStore.record_vote`` keeps unique)."""
    return uuid.uuid4().hex


def default_db_path(settings: Settings | None = None) -> Path:
    """Where arena votes live: ``WORKBENCH_ARENA_DB``, else ``arena.sqlite3`` in the app's data dir
    (``Settings.data_dir``: one place for everything the app saves).

    Args:
        settings: deployment settings (whether this is a Space).

    Returns:
        The database file's path (a server path: never show it to users; see ``ArenaStore.describe``).
    """
    settings = settings or Settings.current()
    return settings.arena_db or settings.data_dir / "arena.sqlite3"


class ArenaStore:
    """Arena votes in SQLite (WAL, busy timeout): concurrent votes from many threads or processes are all kept,
    votes survive restarts, and a match takes one vote only (a UNIQUE index on ``match_id``)."""

    def __init__(self, path: str | Path | None = None, settings: Settings | None = None):
        self.path = Path(path) if path else default_db_path(settings)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con:
                try:
                    con.execute("PRAGMA journal_mode=WAL")
                except sqlite3.OperationalError:  # some network filesystems refuse WAL; rollback journal works
                    pass
                self._migrate(con)
        except (OSError, sqlite3.Error) as exc:
            # the path is the operator's business (logged here), never the user's (issue: server paths in the UI)
            log.error("arena vote database %s cannot be opened: %s", self.path, exc)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise errors.WorkbenchError(f"The arena's vote database cannot be opened ({reason}). The server's "
                                        "operator can set WORKBENCH_ARENA_DB to a writable file.") from None

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> None:
        """Create the table, or add ``match_id`` to a database from before one-vote-per-match (one writer at a
        time, so two processes opening an old database don't both alter it)."""
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(_SCHEMA)
            columns = {row[1] for row in con.execute("PRAGMA table_info(votes)")}
            if "match_id" not in columns:
                con.execute("ALTER TABLE votes ADD COLUMN match_id TEXT")
            if "turns" not in columns:
                con.execute("ALTER TABLE votes ADD COLUMN turns INTEGER NOT NULL DEFAULT 1")
            con.execute(_UNIQUE_MATCH)
            con.execute(_MATCHES)
            columns = {row[1] for row in con.execute("PRAGMA table_info(matches)")}
            if "history" not in columns:
                con.execute("ALTER TABLE matches ADD COLUMN history TEXT")
            if "turns" not in columns:
                con.execute("ALTER TABLE matches ADD COLUMN turns INTEGER NOT NULL DEFAULT 1")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout=60000")
        return con

    def record_vote(self, model_a: str, model_b: str, outcome: str, *, match_id: str | None = None,
                    turns: int = 1) -> int:
        """Store one vote, atomically one per match.

        Args:
            model_a: the model shown as A.
            model_b: the model shown as B (a different model).
            outcome: "a", "b", "tie" or "both_bad".
            turns: how many user turns the battle ran before this vote.
            match_id: the match voted on (``new_match_id()``); a second vote on the same id is refused by the
                database, however close together the two arrive. None = no match (never refused as a duplicate).

        Returns:
            The new vote's id.

        Raises:
            InvalidInput: an unknown outcome, a missing or identical pair, a malformed match id.
            AlreadyVoted: the match already has its vote.
        """
        outcome = (outcome or "").strip().lower() if isinstance(outcome, str) else ""
        if outcome not in OUTCOMES:
            raise errors.InvalidInput(f"Unknown vote '{outcome}'. Vote one of: {', '.join(OUTCOMES)}.")
        if not model_a or not model_b or model_a == model_b:
            raise errors.InvalidInput("A vote needs two different models.")
        if match_id is not None and (not isinstance(match_id, str) or not 0 < len(match_id) <= MAX_MATCH_ID):
            raise errors.InvalidInput(f"A match id is a string of 1 to {MAX_MATCH_ID} characters.")
        try:
            with closing(self._connect()) as con:
                cur = con.execute("INSERT INTO votes (created_at, model_a, model_b, outcome, match_id, turns) "
                                  "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (match_id) DO NOTHING",
                                  (time.time(), model_a, model_b, outcome, match_id, max(1, int(turns))))
                if cur.rowcount == 0:
                    raise AlreadyVoted("This match already has your vote: start a new one.")
                return int(cur.lastrowid)
        except sqlite3.Error as exc:
            log.error("arena vote not saved in %s: %s", self.path, exc)
            raise errors.WorkbenchError(f"The vote could not be saved ({type(exc).__name__}). Try again.") from None

    def open_match(self, model_a: str, model_b: str, stats: list[dict], owner: str | None = None,
                   histories: tuple[list[dict], list[dict]] | None = None) -> str:
        """Keep a finished match until its vote (older matches are dropped here); ``owner`` is the user who asked
        for it (None without logins), the only one who can vote on it; ``histories`` are A's and B's own
        conversations so far (a follow-up continues each).

        Returns:
            The match id: unguessable, the only thing its client learns before voting.
        """
        match_id = new_match_id()
        history = json.dumps(list(histories)) if histories is not None else None
        with closing(self._connect()) as con:
            con.execute("DELETE FROM matches WHERE created_at < ?", (time.time() - MATCH_TTL_S,))
            con.execute("INSERT INTO matches (id, created_at, model_a, model_b, stats, owner, history, turns) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                        (match_id, time.time(), model_a, model_b, json.dumps(stats, default=str), owner, history))
        return match_id

    def continue_match(self, match_id: str, stats: list[dict], histories: tuple[list[dict], list[dict]],
                       expected_turns: int | None = None) -> int:
        """Record one more turn of a match not yet voted on: the new stats and both conversations. With
        ``expected_turns`` (the turns the follow-up started from), a turn another follow-up recorded meanwhile makes
        this one fail instead of both counting while one conversation is kept.

        Returns:
            The match's turns now.

        Raises:
            AlreadyVoted: the match has its vote. InvalidInput: no such match (or expired), or at MAX_TURNS.
        """
        with closing(self._connect()) as con:
            if con.execute("SELECT 1 FROM votes WHERE match_id = ?", (match_id,)).fetchone():
                raise AlreadyVoted("This match already has its vote: start a new one.")
            cur = con.execute("UPDATE matches SET stats = ?, history = ?, turns = turns + 1 "
                              "WHERE id = ? AND created_at >= ? AND turns < ? AND (? IS NULL OR turns = ?)",
                              (json.dumps(stats, default=str), json.dumps(list(histories)), match_id,
                               time.time() - MATCH_TTL_S, MAX_TURNS, expected_turns, expected_turns))
            if cur.rowcount == 0 and expected_turns is not None and self.get_match(match_id) is not None:
                raise errors.InvalidInput("Another follow-up on this match finished first: its answers are the "
                                          "match's now. Send your follow-up again.")
            if cur.rowcount == 0:
                raise errors.InvalidInput(f"This match can't take another turn (unknown, expired, or at {MAX_TURNS} "
                                          "turns): vote, or start a new one.")
            return int(con.execute("SELECT turns FROM matches WHERE id = ?", (match_id,)).fetchone()[0])

    def get_match(self, match_id: str) -> dict | None:
        """A match waiting for (or given) its vote: {"id", "a", "b", "stats", "owner", "histories", "turns"}; None if
        unknown or expired. ``histories`` is (A's conversation, B's), or None for a match stored without them."""
        if not isinstance(match_id, str) or not 0 < len(match_id) <= MAX_MATCH_ID:
            return None
        with closing(self._connect()) as con:
            row = con.execute("SELECT model_a, model_b, stats, owner, history, turns FROM matches "
                              "WHERE id = ? AND created_at >= ?", (match_id, time.time() - MATCH_TTL_S)).fetchone()
        if row is None:
            return None
        histories = tuple(json.loads(row[4])) if row[4] else None
        return {"id": match_id, "a": row[0], "b": row[1], "stats": json.loads(row[2]), "owner": row[3],
                "histories": histories, "turns": int(row[5] or 1)}

    def votes(self) -> list[Vote]:
        """Every vote, oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT id, created_at, model_a, model_b, outcome, match_id, turns FROM votes "
                               "ORDER BY id").fetchall()
        return [Vote(model_a=a, model_b=b, outcome=o, created_at=t, id=i, match_id=m, turns=int(n or 1))
                for i, t, a, b, o, m, n in rows]

    def voted(self, match_id: str) -> bool:
        """Whether the match already has its vote (a follow-up is refused then, before any model runs)."""
        with closing(self._connect()) as con:
            return con.execute("SELECT 1 FROM votes WHERE match_id = ?", (match_id,)).fetchone() is not None

    def count(self) -> int:
        """How many votes are stored."""
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM votes").fetchone()[0])

    def describe(self, count: int | None = None) -> str:
        """Where the votes are, in words a user may see (no server path).

        Args:
            count: the number of votes, when the caller already has it (else counted now).

        Returns:
            e.g. "12 vote(s) stored on this server".
        """
        n = self.count() if count is None else count
        return f"{n} vote(s) stored on this server"

    def __repr__(self) -> str:  # a store in an error or log line names no server path
        return "ArenaStore(<server database>)"


def pick_pair(models: Iterable[str], rng: random.Random | None = None) -> tuple[str, str]:
    """Two different models from the pool, in a random A/B order.

    Args:
        models: the pool (blanks and repeats ignored).
        rng: the random source (default: the system's).

    Returns:
        (model A, model B).

    Raises:
        InvalidInput: fewer than two different models.
    """
    pool = list(dict.fromkeys(m.strip() for m in models if m and m.strip()))
    if len(pool) < 2:
        raise errors.InvalidInput("The arena needs at least two different models in its pool.")
    a, b = (rng or random.SystemRandom()).sample(pool, 2)
    return a, b
