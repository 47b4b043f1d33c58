"""Test setup for the Compare tab: the session app's arena votes go to a temporary SQLite file.

Imported by the Compare test modules at collection time, before the session app starts, so ``python app.py``
inherits ``WORKBENCH_ARENA_DB`` and never writes votes into the user's data dir.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ARENA_DB = Path(tempfile.gettempdir()) / f"workbench-test-arena-{os.getpid()}.sqlite3"
os.environ.setdefault("WORKBENCH_ARENA_DB", str(ARENA_DB))
