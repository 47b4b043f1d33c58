"""The backend registry does not depend on which backend module was imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_local_model_has_its_backend_after_a_snippet_imported_the_openai_one(tmp_path):
    """A snippet imports engines.backends.openai_compat (registering only it): the registry then skipped the
    transformers backend and a local folder had "no backend" (Code tab's show code, notebooks, recipes)."""
    (tmp_path / "config.json").write_text('{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}')
    script = ("import sys\nfrom engines.backends import openai_compat  # noqa: F401\n"
              "from engines.backends.registry import resolve\n"
              f"print(resolve({str(tmp_path)!r}).backend.name)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "WORKBENCH_ALLOW_LOCAL_MODELS": "1", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() not in ("", "openai")
