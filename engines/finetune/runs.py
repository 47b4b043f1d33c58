"""Run folders on disk: the one place the server and the training worker share.

``<data dir>/finetune/<run id>/`` holds ``run.json`` (what to train, written once by the server), ``status.json``
(the worker's state, rewritten atomically), ``spawn.json`` (the worker's pid and start time, written by the server
as it starts one), ``metrics.jsonl`` (one JSON object per logged step or evaluation),
``batches.jsonl`` (a fingerprint of each step's batch: the data order), ``data/`` (train and held-out JSON Lines),
``checkpoints/`` (the Trainer's, each saved whole then renamed into place), ``adapter/`` and ``merged/`` (outputs),
``worker.log``, and a ``stop`` file the server drops to ask the worker to stop. Everything the tab shows is read
from here, so a page reload or a server restart loses nothing.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import errors, textfiles
from engines.config import Settings
from engines.finetune.spec import RunSpec

RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9][a-z0-9._-]{0,47}-[0-9a-f]{4}$")
LIVE = ("starting", "running", "stopping")
# how long a just-spawned run counts as starting while the server has not yet recorded its worker's pid
SPAWN_GRACE_S = 60.0
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
KEEP_CHECKPOINTS = 2  # the worker keeps the newest two checkpoints


def runs_root(settings: Settings | None = None) -> Path:
    """The folder holding every run: ``<data dir>/finetune`` (WORKBENCH_DATA_DIR)."""
    settings = settings or Settings.current()
    base = settings.data_dir
    return Path(base) / "finetune"


def new_run_id(base_display: str) -> str:
    """A sortable, unique run id: ``YYYYmmdd-HHMMSS-<model>-<4 hex>``."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", base_display.lower()).strip("-._")[:40] or "model"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{os.urandom(2).hex()}"


def run_dir(run_id: str, settings: Settings | None = None) -> Path:
    """The folder of an existing run.

    Raises:
        InvalidInput: not a run id. ModelNotFound: no such run.
    """
    run_id = (run_id or "").strip()
    if not RUN_ID.match(run_id):
        raise errors.InvalidInput("Choose a run from the list (a run id looks like 20250101-120000-model-abcd).")
    folder = runs_root(settings) / run_id
    if not (folder / "run.json").is_file():
        raise errors.ModelNotFound(f"No fine-tuning run '{run_id}' in this app's data directory.")
    return folder


# ----------------------------------------------------------------------------------------------- files


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a temporary file in the same folder, then a rename (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    """A JSON file's content, or ``default`` when missing or unreadable (being replaced right now)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_spec(folder: Path) -> RunSpec:
    """A run folder's ``run.json`` as a ``RunSpec`` (defaults where it is missing or partial)."""
    return RunSpec.from_dict(read_json(folder / "run.json", {}))


def read_jsonl(path: Path) -> list[dict]:
    """The complete lines of a JSON Lines file (a half-written last line is skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in textfiles.lines(text):  # not splitlines: U+2028 / U+2029 / U+0085 are characters inside a string
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def trim_jsonl(path: Path, last_step: int) -> None:
    """Keep the records up to ``last_step`` (a resumed run redoes the steps after its checkpoint)."""
    kept = [r for r in read_jsonl(path) if int(r.get("step", 0)) <= last_step]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    os.replace(tmp, path)


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first (a complete one has its trainer state)."""
    root = folder / "checkpoints"
    found = []
    if root.is_dir():
        for child in root.iterdir():
            match = CHECKPOINT.match(child.name)
            if match and (child / "trainer_state.json").is_file():
                found.append((int(match.group(1)), child))
    return sorted(found)


# ----------------------------------------------------------------------------------------------- liveness


def worker_alive(pid: int | None, folder: Path, created: float | None = None) -> bool:
    """Whether the worker of ``folder`` runs as ``pid``: the very process the server started (same pid and start
    time ``created``), or a process whose command line names the folder (a reused pid doesn't count, nor a zombie).

    The start time matters right after spawning: until the new interpreter's exec completes, its command line reads
    empty (``/proc/<pid>/cmdline``), and a just-started worker looked dead."""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if created is not None and abs(proc.create_time() - float(created)) < 0.5:
            return True
        cmd = " ".join(proc.cmdline())
    except psutil.AccessDenied:  # another user's process: it exists, but can't be ours to check
        return False
    except (psutil.Error, OSError, ValueError):  # gone
        return False
    return "engines.finetune.worker" in cmd and str(folder) in cmd


def training_runs(settings: Settings | None = None) -> list[str]:
    """Ids of the runs whose worker is training right now (train or resume), found among the live processes: a
    crashed worker (its record still says *running*) doesn't count, nor does one that said it is done and is exiting,
    nor do other data directories' workers."""
    import psutil

    root = os.path.realpath(runs_root(settings))
    found: dict[str, None] = {}
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = proc.info.get("cmdline") or []
        if proc.info.get("status") == psutil.STATUS_ZOMBIE or "engines.finetune.worker" not in cmd:
            continue
        at = cmd.index("engines.finetune.worker")
        if len(cmd) > at + 2 and cmd[at + 1] in ("train", "resume"):
            folder = cmd[at + 2]
            state = (read_json(Path(folder) / "status.json", {}) or {}).get("state", "starting")
            if os.path.realpath(os.path.dirname(folder)) == root and state in LIVE:  # not one that is exiting
                found.setdefault(os.path.basename(folder), None)  # forked helpers share the command line: once
    # a worker spawned this instant can still read an empty command line: spawn.json names it by pid + start time
    for spawned in Path(root).glob("*/spawn.json"):
        folder = spawned.parent
        pid, created = worker_pid(folder)
        state = (read_json(folder / "status.json", {}) or {}).get("state", "starting")
        if created is not None and state in LIVE and worker_alive(pid, folder, created):
            found.setdefault(folder.name, None)
    return list(found)


def worker_pid(folder: Path, status: dict | None = None) -> tuple[int | None, float | None]:
    """(pid, start time) of the run's worker: the pid it reported in status.json, else the one the server recorded
    in spawn.json when it started this worker (None while the server has not recorded it yet)."""
    status = read_json(folder / "status.json", {}) if status is None else status
    spawned = read_json(folder / "spawn.json", {}) or {}
    pid = status.get("pid")
    if pid is None and spawned.get("spawned") == status.get("spawned"):
        pid = spawned.get("pid")
    created = spawned.get("created") if pid is not None and spawned.get("pid") == pid else None
    return pid, created


def _just_spawned(status: dict) -> bool:
    """A run the server is starting right now, before it has recorded the worker's pid."""
    spawned = status.get("spawned")
    return isinstance(spawned, int | float) and 0 <= time.time() - spawned < SPAWN_GRACE_S


# ----------------------------------------------------------------------------------------------- reading a run


@dataclass
class RunView:
    """A run as the tab shows it, read from its folder.

    Attributes:
        id: the run id.
        state: starting | running | stopping | stopped | done | failed | crashed (worker gone without a word).
        spec: run.json (``RunSpec``: base, method, hyperparameters, data, plan).
        status: status.json as last written by the worker.
        metrics: train records ({"kind": "train", "step", "loss", ...}) and eval records ({"kind": "eval", ...}).
        checkpoint_step: the step of the last complete checkpoint (0: none).
        message: one sentence about the state.
        process_alive: the worker process exists (it may still be exiting after its last state).
    """

    id: str
    state: str
    spec: RunSpec
    status: dict
    metrics: list[dict] = field(default_factory=list)
    checkpoint_step: int = 0
    message: str = ""
    folder: Path | None = None
    process_alive: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.spec, RunSpec):  # a run.json dict (older callers)
            self.spec = RunSpec.from_dict(self.spec)

    @property
    def live(self) -> bool:
        """The worker is (still) at it."""
        return self.state in LIVE

    @property
    def resumable(self) -> bool:
        """Stopped, failed or crashed before the end."""
        return self.state in ("stopped", "failed", "crashed")

    @property
    def adapter(self) -> Path | None:
        """The saved adapter folder (a model reference), once the run is done."""
        path = self.folder / "adapter" if self.folder else None
        return path if path is not None and (path / "adapter_config.json").is_file() else None

    @property
    def merged(self) -> Path | None:
        """The merged model folder, after "merge and save"."""
        path = self.folder / "merged" if self.folder else None
        return path if path is not None and (path / "config.json").is_file() else None

    @property
    def full_model(self) -> Path | None:
        """The fully fine-tuned model folder (method "full"), once the run is done."""
        path = self.folder / "model" if self.folder else None
        return path if path is not None and (path / "config.json").is_file() else None

    @property
    def tuned(self) -> Path | None:
        """The tuned model as a model reference: the merged folder, else the adapter, else the full model."""
        return self.merged or self.adapter or self.full_model

    def label(self) -> str:
        """One line for the run picker (no state: the picker's labels are not refreshed while a run trains)."""
        when = self.id[:4] + "-" + self.id[4:6] + "-" + self.id[6:8] + " " + self.id[9:11] + ":" + self.id[11:13]
        s = self.spec
        return f"{when} · {s.base_display or '?'} · {s.hyper.method} · {s.total_steps or '?'} steps"


def _status(folder: Path) -> dict:
    return read_json(folder / "status.json", {}) or {"state": "starting", "spawned": _mtime(folder / "run.json")}


def read_run(run_id: str, settings: Settings | None = None) -> RunView:
    """Everything about one run, from its folder (a worker that died without a word shows as *crashed*).

    Raises:
        InvalidInput / ModelNotFound: see ``run_dir``.
    """
    folder = run_dir(run_id, settings)
    spec = read_spec(folder)
    status = _status(folder)
    pid, created = worker_pid(folder, status)
    alive = worker_alive(pid, folder, created)
    if status.get("state", "starting") in LIVE and not alive:
        status = _status(folder)  # the worker may have written its last word and exited since the first read
    state = status.get("state", "starting")
    cps = checkpoints(folder)
    message = status.get("message", "")
    if state in LIVE and not alive and not (pid is None and _just_spawned(status)):
        state = "crashed"
        where = f"from step {cps[-1][0]}" if cps else "from the start (no checkpoint was saved yet)"
        message = f"The training process ended unexpectedly (see worker.log). Resume continues {where}."
    return RunView(id=run_id, state=state, spec=spec, status=status, metrics=read_jsonl(folder / "metrics.jsonl"),
                   checkpoint_step=cps[-1][0] if cps else 0, message=message, folder=folder, process_alive=alive)


def heldout_pairs(view: RunView) -> list[dict]:
    """The run's held-out split as question / answer pairs (the last turn of a conversational example), to score the
    base and the tuned model on what training never saw. Empty when the run kept no held-out split."""
    def last_text(value: Any) -> str:
        if isinstance(value, str):
            return value
        return str(value[-1].get("content", "")) if isinstance(value, list) and value else ""

    rows = read_jsonl(view.folder / "data" / "heldout.jsonl") if view.folder else []
    return [{"question": last_text(r.get("prompt")), "answer": last_text(r.get("completion"))} for r in rows]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def list_runs(settings: Settings | None = None, limit: int = 200) -> list[RunView]:
    """Runs in the data directory, newest first."""
    root = runs_root(settings)
    if not root.is_dir():
        return []
    ids = sorted((p.name for p in root.iterdir() if RUN_ID.match(p.name) and (p / "run.json").is_file()),
                 reverse=True)[:limit]
    out = []
    for run_id in ids:
        try:
            out.append(read_run(run_id, settings))
        except errors.WorkbenchError:
            continue
    return out


def log_tail(folder: Path, lines: int = 20) -> str:
    """The last lines of the worker's log, secrets redacted."""
    from engines.redact import redact

    try:
        text = (folder / "worker.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return redact("\n".join(text.splitlines()[-lines:]))


class CheckpointFailed(Exception):
    """Saving a checkpoint failed (the disk is full, ...); the previous checkpoint is intact."""

    def __init__(self, step: int, cause: OSError):
        super().__init__(str(cause))
        self.step, self.cause = step, cause
