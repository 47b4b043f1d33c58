"""Building the whole app loads no model library: the model lists ask backends whether a model runs here, which is
the backend's property, so no config file is read (a vision check once pulled torch + transformers into start-up,
bench_startup 1.5x → 1.9x)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "diffusers", "peft", "trl", "accelerate", "bitsandbytes")


def test_building_the_app_imports_no_model_library():
    code = ("import sys, app\napp.build_demo()\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"imported while building: {out.stdout.strip()}"
