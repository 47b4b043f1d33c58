"""Settings: one object read from the environment. Cheap to build: no torch import, no network."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import glob
import math
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def _whole(name: str, default: int) -> int:
    """A whole number of at least 1 (the default where unset or malformed)."""
    try:
        return max(1, int(os.environ.get(name) or default))
    except ValueError:
        return default


def _positive(name: str, default: float) -> float:
    """A positive, finite number (the default where unset, malformed or not positive)."""
    value = _number(name, default)
    return value if value > 0 and math.isfinite(value) else default


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


@functools.lru_cache(maxsize=1)
def _probe_cuda_cached(visible: str | None) -> tuple[bool, str]:
    return _probe_cuda(visible)


def probe_cuda() -> tuple[bool, str]:
    """Tell whether an NVIDIA GPU is present without importing torch (cached; keeps start-up fast).

    Returns:
        (present, name): name is the GPU model or "" when none was found.
    """
    return _probe_cuda_cached(os.environ.get("CUDA_VISIBLE_DEVICES"))


def _probe_cuda(visible: str | None) -> tuple[bool, str]:
    if visible in ("", "-1"):
        return False, ""
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            for line in Path(info).read_text().splitlines():
                if line.startswith("Model:"):
                    return True, line.split(":", 1)[1].strip()
        except OSError:
            continue
    if Path("/dev/nvidia0").exists() or Path("/dev/nvidiactl").exists():
        return True, "NVIDIA GPU"
    return False, ""


@functools.lru_cache(maxsize=2)
def _default_cache_bytes(cuda: bool) -> int:
    try:
        import psutil

        total = psutil.virtual_memory().total
    except Exception:  # psutil missing or restricted /proc: assume a small laptop
        total = 8 * 2**30
    return int(total * 0.5)


def default_data_dir(on_space: bool) -> Path:
    """Where the app keeps what it saves: ``WORKBENCH_DATA_DIR``; else ``/data/llm-workbench`` on a Space with
    persistent storage; else ``$XDG_DATA_HOME/llm-workbench`` (``~/.local/share/llm-workbench``)."""
    explicit = os.environ.get("WORKBENCH_DATA_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    if on_space and os.access("/data", os.W_OK):
        return Path("/data/llm-workbench")
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "llm-workbench"


def _named_endpoints(spec: str) -> tuple[tuple[str, str], ...]:
    from engines.backends.endpoints import parse_named

    return parse_named(spec)


@dataclass(frozen=True)
class Settings:
    """Deployment settings. Build with ``Settings.from_env()``; never mutate."""

    device: str = "cpu"
    device_name: str = "CPU"
    on_space: bool = False
    zero_gpu: bool = False
    allow_local_models: bool = True
    allow_custom_models: bool = True
    models_dir: Path | None = None
    cache_budget_bytes: int = 8 * 2**30
    max_input_chars: int = 1_000_000
    max_list_items: int = 10_000
    max_display_tokens: int = 2_000
    max_new_tokens: int = 4_096
    queue_concurrency: int = 2
    queue_max_size: int = 64
    # sessions whose state the server keeps (each call without a reused session is a new one), in all / per address
    max_sessions: int = 200
    max_sessions_per_address: int = 50
    max_file_size: str = "200mb"
    hub_offline: bool = False
    remote_timeout_s: float = 180.0  # the whole remote call, streamed answer included
    max_params_b: float | None = None
    sandbox_slots: int = 1  # sandboxed programs running at once, all tabs and Evaluate together
    max_eval_sandbox_s: float = 20_000.0  # an evaluation's worst-case sandbox time (0 = no bound)
    max_training_runs: int = 1  # fine-tuning workers training at once (each can fill a GPU); below 1: no limit
    # how much lower the CPU priority of the threads computing with local models is (Linux nice, 0 to 19; 0 = the
    # same). On a Space (a container of its own) 10: where the cores are short, the page and cheap calls come first.
    # Locally 0: a nice counts against every process of the machine, so the user's own busy programs would starve
    # the models (a model at nice 10 gets ~10 % of a core that a normal busy process wants)
    model_nice: int = 0
    # where the app keeps what it saves (arena votes, evaluation runs, contamination reports, fine-tuning runs)
    data_dir: Path = Path.home() / ".local" / "share" / "llm-workbench"
    # proxies whose X-Forwarded-For is believed (addresses or CIDRs); on a Space with none, its proxy's hop
    trusted_proxies: tuple[str, ...] = ()
    # several people can reach the server (logins, not loopback, a Space): local paths stay inside the roots
    restrict_paths: bool = False
    uploads_dir: Path | None = None  # Gradio's uploads folder (GRADIO_TEMP_DIR), one of those roots
    rate_limit: str | None = None  # expensive runs per session, "N/SECONDS" (None: off locally, "20/600" on a Space)
    login_attempts: int = 5  # failed logins per (client address, user name) per 5 minutes
    # where ``python app.py`` listens (as given, None when unset: app.py falls back to GRADIO_SERVER_NAME / _PORT,
    # then its defaults), and its flags' defaults
    host: str | None = None
    port: str | None = None
    share: bool = False
    mcp: bool = False
    auth_file: str | None = None
    # per-capability limits
    synthetic_max_rows: int = 1000  # rows one synthetic-data run may ask for
    finetune_max_rows: int = 100_000  # rows of a training set
    eval_max_items: int = 1000  # items of one evaluation test set
    max_audio_mb: float = 1024.0  # audio: the largest upload, the longest recording, the time to read a header
    max_audio_hours: float = 4.0
    ffprobe_timeout_s: float = 15.0
    # the Hub tab: the dataset viewer (None = the Hub's), seconds per Hub call (raw: clamped by the client), cache
    datasets_server_url: str | None = None
    hub_timeout_s: float = 15.0
    hub_cache_s: float = 120.0
    arena_db: Path | None = None  # the arena's SQLite file (None = arena.sqlite3 in data_dir)
    # the sandbox: isolation ("auto" | "bwrap" | "landlock" | "none"), opting in to no isolation locally, budget
    # enforcement ("auto" | "cgroup" | "rlimit+watchdog"), a delegated cgroup, the C++ compiler, scratch folders
    sandbox: str = "auto"
    allow_unsandboxed: bool = False
    budget: str = "auto"
    cgroup: str = ""
    cxx: str = ""
    scratch_dir: str | None = None
    # OpenAI-compatible servers by name (WORKBENCH_ENDPOINTS "vllm=http://host:8000/v1"): references "vllm:<model>"
    endpoints: tuple[tuple[str, str], ...] = ()

    @classmethod
    def current(cls) -> Settings:
        """The settings of the app call this runs in (``using_settings``: the app binds its one ``Settings`` to every
        handler call, ``tabs.common.with_settings``), else read from the environment now (a library caller)."""
        return _CALL_SETTINGS.get() or cls.from_env()

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment now (keys are not cached here; engines read them per call)."""
        on_space = bool(os.environ.get("SPACE_ID"))
        zero_gpu = on_space and _flag("SPACES_ZERO_GPU", False)
        cuda, gpu_name = probe_cuda()
        if zero_gpu:
            device, name = "cuda", "ZeroGPU (allocated per call)"
        elif cuda:
            device, name = "cuda", gpu_name
        elif platform.system() == "Darwin" and platform.machine() == "arm64":
            device, name = "mps", "Apple silicon (MPS)"
        else:
            device, name = "cpu", f"CPU ({os.cpu_count() or 1} cores)"
        models_dir = os.environ.get("WORKBENCH_MODELS_DIR", "").strip()
        cache_gb = _number("WORKBENCH_CACHE_GB", 0)
        return cls(
            device=device,
            device_name=name,
            on_space=on_space,
            zero_gpu=zero_gpu,
            allow_local_models=_flag("WORKBENCH_ALLOW_LOCAL_MODELS", not on_space),
            allow_custom_models=_flag("WORKBENCH_ALLOW_CUSTOM_MODELS", not on_space),
            models_dir=Path(models_dir).expanduser() if models_dir else None,
            cache_budget_bytes=int(cache_gb * 2**30) if cache_gb > 0 else _default_cache_bytes(cuda),
            max_input_chars=int(_number("WORKBENCH_MAX_INPUT_CHARS", 1_000_000)),
            max_list_items=max(1, int(_number("WORKBENCH_MAX_LIST_ITEMS", 10_000))),
            max_new_tokens=int(_number("WORKBENCH_MAX_NEW_TOKENS", 4096)),
            queue_concurrency=max(1, int(_number("WORKBENCH_CONCURRENCY", 2))),
            queue_max_size=max(1, int(_number("WORKBENCH_QUEUE_SIZE", 64))),
            max_sessions=max(1, int(_number("WORKBENCH_MAX_SESSIONS", 200))),
            max_sessions_per_address=max(1, int(_number("WORKBENCH_MAX_SESSIONS_PER_ADDRESS", 50))),
            max_file_size=os.environ.get("WORKBENCH_MAX_FILE_SIZE", "200mb"),
            hub_offline=_flag("HF_HUB_OFFLINE", False),
            remote_timeout_s=_number("WORKBENCH_REMOTE_TIMEOUT_S", 180.0),
            max_params_b=_number("WORKBENCH_MAX_PARAMS_B", 10.0 if on_space else 0) or None,
            sandbox_slots=max(1, int(_number("WORKBENCH_SANDBOX_SLOTS", 1))),
            max_eval_sandbox_s=max(0.0, _number("WORKBENCH_MAX_EVAL_SANDBOX_S", 20_000.0)),
            max_training_runs=int(_number("WORKBENCH_MAX_TRAINING_RUNS", 1)),
            model_nice=min(19, max(0, int(_number("WORKBENCH_MODEL_NICE", 10 if on_space else 0)))),
            data_dir=default_data_dir(on_space),
            trusted_proxies=tuple(p.strip() for p in os.environ.get("WORKBENCH_TRUSTED_PROXIES", "").split(",")
                                  if p.strip()),
            restrict_paths=_flag("WORKBENCH_RESTRICT_PATHS", on_space),
            uploads_dir=Path(os.environ.get("GRADIO_TEMP_DIR", "").strip() or Path(tempfile.gettempdir()) / "gradio"),
            rate_limit=_text("WORKBENCH_RATE_LIMIT") or None,
            login_attempts=_whole("WORKBENCH_LOGIN_ATTEMPTS", 5),
            host=os.environ.get("WORKBENCH_HOST") or None,
            port=os.environ.get("WORKBENCH_PORT") or None,
            share=os.environ.get("WORKBENCH_SHARE") == "1",
            mcp=os.environ.get("WORKBENCH_MCP") == "1",
            auth_file=os.environ.get("WORKBENCH_AUTH_FILE") or None,
            synthetic_max_rows=_whole("WORKBENCH_SYNTHETIC_MAX_ROWS", 1000),
            finetune_max_rows=_whole("WORKBENCH_FINETUNE_MAX_ROWS", 100_000),
            eval_max_items=_whole("WORKBENCH_EVAL_MAX_ITEMS", 1000),
            max_audio_mb=_positive("WORKBENCH_MAX_AUDIO_MB", 1024.0),
            max_audio_hours=_positive("WORKBENCH_MAX_AUDIO_HOURS", 4.0),
            ffprobe_timeout_s=_positive("WORKBENCH_FFPROBE_TIMEOUT_S", 15.0),
            datasets_server_url=_text("WORKBENCH_DATASETS_SERVER_URL") or None,
            hub_timeout_s=_number("WORKBENCH_HUB_TIMEOUT_S", 15.0),
            hub_cache_s=_number("WORKBENCH_HUB_CACHE_S", 120.0),
            arena_db=Path(_text("WORKBENCH_ARENA_DB")).expanduser() if _text("WORKBENCH_ARENA_DB") else None,
            sandbox=os.environ.get("WORKBENCH_SANDBOX", "auto").strip().lower(),
            allow_unsandboxed=os.environ.get("WORKBENCH_ALLOW_UNSANDBOXED", "").strip().lower() in _TRUE,
            budget=os.environ.get("WORKBENCH_BUDGET", "auto").strip().lower(),
            cgroup=_text("WORKBENCH_CGROUP"),
            cxx=os.environ.get("WORKBENCH_CXX", ""),
            scratch_dir=os.environ.get("WORKBENCH_SCRATCH_DIR") or None,
            endpoints=_named_endpoints(os.environ.get("WORKBENCH_ENDPOINTS", "")),
        )

    def describe(self) -> str:
        """One line for the header: device, and where the app runs."""
        where = "Hugging Face Space" + (" (ZeroGPU)" if self.zero_gpu else "") if self.on_space else "local"
        return f"{self.device_name} · {where}"


_CALL_SETTINGS: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("workbench_settings", default=None)


@contextlib.contextmanager
def using_settings(settings: Settings):
    """Within the block, ``Settings.current()`` is ``settings`` (in this thread, and in the threads an engine starts
    with ``in_this_call``): an engine called without ``settings=`` deep inside an app call reads the app's settings,
    not the environment again."""
    token = _CALL_SETTINGS.set(settings)
    try:
        yield settings
    finally:
        _CALL_SETTINGS.reset(token)


def in_this_call(fn):
    """``fn`` to run in another thread with this call's settings (and other context), as ``threading.Thread`` or an
    executor's ``submit`` take it (``Thread(target=in_this_call(work))``)."""
    return functools.partial(contextvars.copy_context().run, fn)


def login_secrets() -> tuple[str | None, str | None]:
    """``WORKBENCH_AUTH`` (logins, ``user:password`` pairs) and ``WORKBENCH_MCP_TOKEN`` (MCP bearer tokens), read
    now. Secrets, so they are not kept in ``Settings`` (whose repr may reach a log)."""
    return os.environ.get("WORKBENCH_AUTH"), os.environ.get("WORKBENCH_MCP_TOKEN")


def restrict_paths_when_shared(shared: bool) -> None:
    """Where several people can reach the server (logins, an address other than loopback, a share link), local
    paths stay inside the configured roots (``engines.localpaths``), unless WORKBENCH_RESTRICT_PATHS says otherwise.
    Written to the environment, so every later ``Settings.from_env()`` (child processes included) agrees."""
    if shared and not os.environ.get("WORKBENCH_RESTRICT_PATHS", "").strip():
        os.environ["WORKBENCH_RESTRICT_PATHS"] = "1"
