"""One context (issue 24): every ``WORKBENCH_*`` switch is read in ``engines/config.py`` only (the AST scan below),
the app builds one ``engines.context.Context`` and its handlers pass ``ctx.settings`` down, so one Tokenize click
reads the environment's settings once at most (12 times before)."""

from __future__ import annotations

import ast
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from app_helpers import count_settings_reads

ROOT = Path(__file__).resolve().parents[2]
SCANNED = sorted((ROOT / "engines").rglob("*.py")) + sorted((ROOT / "tabs").rglob("*.py")) + [ROOT / "app.py"]
CONFIG = ROOT / "engines" / "config.py"
PREFIX = "WORKBENCH_"
READERS = {"get", "getenv", "pop", "setdefault", "getenvb"}


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id == "environ")


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments (a variable name kept in a constant is read the same way)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def workbench_reads(path: Path) -> list[str]:
    """``file:line VARIABLE`` of every read of a ``WORKBENCH_*`` variable from the environment in ``path``:
    ``os.environ[...]``, ``os.environ.get(...)`` (and pop / setdefault), ``os.getenv(...)``, ``... in os.environ``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = _constants(tree)

    def literal(node: ast.AST | None) -> str | None:
        value = node.value if isinstance(node, ast.Constant) else names.get(node.id) if isinstance(node, ast.Name) \
            else None
        return value if isinstance(value, str) and value.startswith(PREFIX) else None

    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = literal(node.slice)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in READERS and _is_environ(func.value):
                key = literal(node.args[0])
            elif (isinstance(func, ast.Attribute) and func.attr == "getenv") or \
                    (isinstance(func, ast.Name) and func.id == "getenv"):
                key = literal(node.args[0])
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            key = literal(node.left)
        if key:
            found.append(f"{path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name}:"
                         f"{node.lineno} {key}")
    return found


def test_only_config_reads_workbench_switches():
    reads = [hit for path in SCANNED if path != CONFIG for hit in workbench_reads(path)]
    assert not reads, f"read these through engines.config.Settings (one place for every switch): {reads}"
    assert workbench_reads(CONFIG), "the scan found no read even in engines/config.py: it is broken"


def test_the_readme_documents_every_switch():
    documented = set(re.findall(r"WORKBENCH_[A-Z_]+", (ROOT / "README.md").read_text()))
    read = {n.value for n in ast.walk(ast.parse(CONFIG.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and re.fullmatch(r"WORKBENCH_[A-Z_]+", n.value)}
    assert len(read) > 40, sorted(read)  # every switch is named in config.py
    missing = sorted(read - documented)
    assert not missing, f"add these to README's configuration table: {missing}"


def test_the_scan_can_fail(tmp_path):
    bad = tmp_path / "engine.py"
    bad.write_text("import os\nfrom os import environ, getenv\nNAME = 'WORKBENCH_C'\n"
                   "a = os.environ.get('WORKBENCH_A', '')\nb = os.environ['WORKBENCH_B']\nc = os.getenv(NAME)\n"
                   "d = environ.get('WORKBENCH_D')\ne = 'WORKBENCH_E' in os.environ\nf = getenv('WORKBENCH_F')\n"
                   "ok = os.environ.get('HF_TOKEN')\n")
    assert [hit.split()[1] for hit in workbench_reads(bad)] == [f"WORKBENCH_{c}" for c in "ABCDEF"]


# ----------------------------------------------------------------------------------------------- reads per call

LLAMA, GEMMA = "meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-2b-it"  # tiny tokenizers via the models dir


class CountingEnviron(dict):
    """A copy of the environment that counts every key read."""

    def __init__(self, base):
        super().__init__(base)
        self.reads: Counter = Counter()

    def get(self, key, default=None):
        self.reads[key] += 1
        return super().get(key, default)

    def __getitem__(self, key):
        self.reads[key] += 1
        return super().__getitem__(key)

    def __contains__(self, key):
        self.reads[key] += 1
        return super().__contains__(key)


@pytest.fixture()
def counted(monkeypatch, models_dir):
    """(settings reads, environment reads) while a block runs: ``Settings.from_env`` calls are counted, and
    ``os.environ`` is a counting copy."""

    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    calls = count_settings_reads(monkeypatch)

    def start():
        calls.clear()
        env = CountingEnviron(os.environ)
        monkeypatch.setattr(os, "environ", env)
        return env

    return calls, start


def test_one_tokenize_call_reads_the_settings_once_at_most(counted):
    from engines.context import Context
    from tabs.common import with_settings
    from tabs.tokenizers import handlers as tokenizers

    calls, start = counted
    tokenizers.tokenize_texts([LLAMA, GEMMA], "warm up")  # loads both tokenizers into the cache

    start()
    out = tokenizers.tokenize_texts([LLAMA, GEMMA], "Hello world, hello tokens!")  # a library caller: no context
    assert list(out["table"]["tokenizer"]) == ["Llama 3.1", "Gemma"]
    assert calls["from_env"] == 1  # 12 before the context: each engine call read it again

    ctx = Context.build()
    handler = with_settings(tokenizers.tokenize_texts, ctx)  # what the app registers on the Tokenize button
    env = start()
    out = handler([LLAMA, GEMMA], "Hello world, hello tokens!")
    assert list(out["table"]["tokenizer"]) == ["Llama 3.1", "Gemma"]
    assert calls["from_env"] == 0
    from engines.redact import SECRET_VARS  # secrets are read per use, by design (a key set later works)

    assert not [k for k in env.reads if k.startswith(PREFIX) and k not in SECRET_VARS], env.reads


def test_the_handler_keeps_its_api_signature():
    import inspect

    from engines.config import Settings
    from tabs.common import with_settings
    from tabs.tokenizers import handlers as tokenizers

    bound = with_settings(tokenizers.tokenize_texts, Settings())
    assert list(inspect.signature(bound).parameters) == ["tokenizers", "text", "add_special_tokens"]
    assert bound.__doc__ == tokenizers.tokenize_texts.__doc__


def test_the_handler_uses_the_apps_settings_not_the_live_environment(monkeypatch, models_dir):
    """The input policy and the engines read one source: the app's settings, not a later change of the env."""
    from gradio import Error

    from engines.config import Settings
    from tabs.common import with_settings
    from tabs.tokenizers import handlers as tokenizers

    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    handler = with_settings(tokenizers.tokenize_texts, Settings.from_env())
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_CHARS", "5")
    assert handler([LLAMA], "longer than five")["raw"]["Llama 3.1"]["count"] > 0
    with pytest.raises(Error, match="limit is 5"):
        tokenizers.tokenize_texts([LLAMA], "longer than five")  # a library caller reads the environment now
