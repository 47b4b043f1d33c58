"""Runs persist in SQLite (``<data dir>/evals.sqlite``): the test sets, each run's models and settings, and every
(model, item) result the moment it is scored, so a run killed mid-way resumes where it stopped and finished items
are neither lost nor redone. A running run names the process that runs it: once that process is gone (killed, the
app restarted) the run reads as "interrupted" (resumable), not "running".

One short-lived connection per call (WAL journal, so a reader never blocks the running writer).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engines.config import Settings
from engines.errors import InvalidInput
from engines.evals.testsets import TestSet

DB_NAME = "evals.sqlite"
_FINISHED = "json_extract(body, '$.retry') IS NOT 1"  # a result that counts as done (not one to evaluate again)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS testsets (hash TEXT PRIMARY KEY, name TEXT, source TEXT, size INTEGER, body TEXT,
                                     created REAL);
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, name TEXT, created REAL, updated REAL, set_hash TEXT,
                                 set_name TEXT, set_size INTEGER, models TEXT, config TEXT, status TEXT);
CREATE TABLE IF NOT EXISTS results (run_id TEXT, model TEXT, item_id TEXT, body TEXT, created REAL,
                                    PRIMARY KEY (run_id, model, item_id));
CREATE TABLE IF NOT EXISTS run_processes (run_id TEXT PRIMARY KEY, process TEXT);
CREATE TABLE IF NOT EXISTS pairwise (run_id TEXT, model_a TEXT, model_b TEXT, judge TEXT, item_id TEXT, body TEXT,
                                     PRIMARY KEY (run_id, model_a, model_b, judge, item_id));
"""


@dataclass
class Result:
    """One model's result on one item.

    ``score`` is the primary score in [0, 1] (acc for log-likelihood, pass@k for code, the judge's grade for
    rubric items); None when the item could not be scored (the judge gave no score, or the model failed on it).
    ``retry``: the ``error`` was passing (the server cut the answer off): the item counts as not done, and resuming
    the run evaluates it again (its new result replaces this one).
    """

    model: str
    item_id: str
    kind: str
    method: str
    score: float | None
    metrics: dict = field(default_factory=dict)
    output: str = ""
    prompt: str = ""
    detail: dict = field(default_factory=dict)
    judge_rationale: str = ""
    judge_failed: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    error: str = ""
    retry: bool = False

    @property
    def passed(self) -> bool | None:
        """Pass/fail view of the score (≥ 0.5 passes); None when unscored."""
        return None if self.score is None else self.score >= 0.5


@dataclass
class RunInfo:
    """A stored run: what was evaluated with what, and how far it got."""

    id: str
    name: str
    created: float
    updated: float
    set_hash: str
    set_name: str
    set_size: int
    models: list[str]
    config: dict
    status: str  # running | complete | stopped | incomplete | interrupted (its process is gone)
    done: int = 0

    @property
    def total(self) -> int:
        """Results a complete run holds (items × models)."""
        return self.set_size * len(self.models)

    def label(self) -> str:
        """A one-line label for pickers."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        return (f"{when} · {self.name or self.set_name} · {len(self.models)} model(s) · {self.done}/{self.total} "
                f"· {self.status} · {self.id}")


def _started(pid: int) -> float | None:
    import psutil

    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc.create_time()
    except (psutil.Error, OSError):
        return None


def process_token() -> str:
    """This process as the one running a run: host, pid and start time (a reused pid is another process)."""
    return json.dumps([socket.gethostname(), os.getpid(), _started(os.getpid())])


def process_alive(token: str | None) -> bool:
    """Whether the process a run's ``process_token`` names still runs. A run of another host counts as alive (it can't
    be checked from here); a run without one predates the record, so it is not running now."""
    try:
        host, pid, started = json.loads(token or "")
    except (TypeError, ValueError):
        return False
    if host != socket.gethostname():
        return True
    now = _started(int(pid))
    return now is not None and started is not None and abs(now - float(started)) < 1.0


class RunStore:
    """The runs database. Reading a store that was never written returns nothing (and creates no file).

    A store is seen by one owner (the logged-in user name; None = anonymous): runs it creates are theirs, and it
    lists, gets and resumes only theirs, so one user never reads another's runs (prompts, answers, settings).
    """

    def __init__(self, path: str | Path, owner: str | None = None):
        self.path = Path(path)
        self.owner = owner or None

    @classmethod
    def default(cls, settings: Settings | None = None, owner: str | None = None) -> RunStore:
        """The store in the app's data directory (``WORKBENCH_DATA_DIR``), as seen by ``owner``."""
        settings = settings or Settings.current()
        return cls(Path(settings.data_dir) / DB_NAME, owner)

    def _connect(self, write: bool = False) -> sqlite3.Connection | None:
        if not write and not self.path.exists():
            return None
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        if "owner" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}:  # a store from before owners
            try:
                conn.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
            except sqlite3.OperationalError:  # another connection added it meanwhile
                pass
        return conn

    def _write(self, sql: str, params: tuple) -> None:
        with closing(self._connect(write=True)) as conn, conn:
            conn.execute(sql, params)

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self._connect()
        if conn is None:
            return []
        with closing(conn):
            return conn.execute(sql, params).fetchall()

    # ---------------------------------------------------------------------------------------- test sets

    def save_testset(self, testset: TestSet) -> str:
        """Store a test set (once per hash). Returns its hash."""
        digest = testset.hash
        self._write("INSERT OR IGNORE INTO testsets VALUES (?, ?, ?, ?, ?, ?)",
                    (digest, testset.name, testset.source, testset.size, testset.to_json(), time.time()))
        return digest

    def load_testset(self, digest: str) -> TestSet | None:
        """The test set with this hash (a unique prefix of 8+ hex digits works), or None.

        The prefix is matched literally (``substr``, never ``LIKE``: '%%%%%%%%' must not pick whatever set is stored).
        """
        digest = (digest or "").strip().lower()
        if len(digest) < 8 or not all(c in "0123456789abcdef" for c in digest):
            return None
        rows = self._read("SELECT body FROM testsets WHERE substr(hash, 1, ?) = ? LIMIT 2", (len(digest), digest))
        return TestSet.from_json(rows[0][0]) if len(rows) == 1 else None

    # --------------------------------------------------------------------------------------------- runs

    def create_run(self, testset: TestSet, models: list[str], config: dict, name: str = "") -> RunInfo:
        """Record a new run (its test set stored too). Returns its RunInfo."""
        digest = self.save_testset(testset)
        now = time.time()
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + secrets.token_hex(3)
        with closing(self._connect(write=True)) as conn, conn:
            conn.execute("INSERT INTO runs (id, name, created, updated, set_hash, set_name, set_size, models, config, "
                         "status, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (run_id, name, now, now, digest, testset.name, testset.size, json.dumps(models),
                          json.dumps(config), "running", self.owner))
            conn.execute("INSERT OR REPLACE INTO run_processes VALUES (?, ?)", (run_id, process_token()))
        return RunInfo(run_id, name, now, now, digest, testset.name, testset.size, list(models), dict(config),
                       "running")

    def set_status(self, run_id: str, status: str) -> None:
        """Mark a run running / complete / stopped / incomplete; "running" makes this process its owner."""
        with closing(self._connect(write=True)) as conn, conn:
            conn.execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?", (status, time.time(), run_id))
            if status == "running":
                conn.execute("INSERT OR REPLACE INTO run_processes VALUES (?, ?)", (run_id, process_token()))

    def _info(self, row: tuple) -> RunInfo:
        run_id, name, created, updated, set_hash, set_name, set_size, models, config, status, done, process = row
        if status == "running" and not process_alive(process):
            status = "interrupted"
        return RunInfo(run_id, name or "", created, updated, set_hash, set_name, set_size, json.loads(models),
                       json.loads(config), status, int(done or 0))

    # the run's columns by name (a store from before user owners has the column appended by ALTER TABLE), the count of
    # finished results, and the process that runs it (``run_processes``: not the user, who is ``r.owner``)
    _RUN_SQL = ("SELECT r.id, r.name, r.created, r.updated, r.set_hash, r.set_name, r.set_size, r.models, r.config, "
                "r.status, (SELECT COUNT(*) FROM results x WHERE x.run_id = r.id AND " + _FINISHED + "), "
                "(SELECT process FROM run_processes o WHERE o.run_id = r.id) FROM runs r WHERE r.owner IS ? ")

    def get_run(self, run_id: str) -> RunInfo:
        """The stored run (only this store's owner's).

        Raises:
            InvalidInput: no run with this id (or it is someone else's).
        """
        rows = self._read(self._RUN_SQL + "AND r.id = ?", (self.owner, (run_id or "").strip()))
        if not rows:
            raise InvalidInput(f"No stored run '{run_id}'. Pick one from the list of earlier runs.")
        return self._info(rows[0])

    def list_runs(self, limit: int = 200) -> list[RunInfo]:
        """This owner's stored runs, newest first."""
        return [self._info(r) for r in self._read(self._RUN_SQL + "ORDER BY r.created DESC LIMIT ?",
                                                  (self.owner, limit))]

    # ------------------------------------------------------------------------------------------ results

    def add_result(self, run_id: str, result: Result) -> bool:
        """Store one result the moment it is scored (a result already stored is kept, unless it is one to evaluate
        again: ``Result.retry``). Returns True if stored."""
        with closing(self._connect(write=True)) as conn, conn:
            cur = conn.execute("INSERT INTO results VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, model, item_id) DO "
                               "UPDATE SET body = excluded.body, created = excluded.created WHERE "
                               "json_extract(results.body, '$.retry') IS 1",
                               (run_id, result.model, result.item_id, json.dumps(asdict(result)), time.time()))
            conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))
            return cur.rowcount == 1

    def results(self, run_id: str) -> list[Result]:
        """Every stored result of a run, in the order they were scored."""
        rows = self._read("SELECT body FROM results WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [Result(**json.loads(r[0])) for r in rows]

    def done_keys(self, run_id: str) -> set[tuple[str, str]]:
        """(model, item id) pairs already scored in a run (not those stored as errors to evaluate again)."""
        return {(m, i) for m, i in self._read("SELECT model, item_id FROM results WHERE run_id = ? AND " + _FINISHED,
                                              (run_id,))}

    # ----------------------------------------------------------------------------------------- pairwise

    def add_pairwise(self, run_id: str, model_a: str, model_b: str, judge: str, item_id: str, body: dict) -> None:
        """Store one pairwise verdict (both orders)."""
        self._write("INSERT OR REPLACE INTO pairwise VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, model_a, model_b, judge, item_id, json.dumps(body)))

    def pairwise(self, run_id: str, model_a: str, model_b: str, judge: str) -> dict[str, dict]:
        """Stored pairwise verdicts of a pair of models by a judge: item id → verdict."""
        rows = self._read("SELECT item_id, body FROM pairwise WHERE run_id = ? AND model_a = ? AND model_b = ? AND "
                          "judge = ?", (run_id, model_a, model_b, judge))
        return {item_id: json.loads(body) for item_id, body in rows}
