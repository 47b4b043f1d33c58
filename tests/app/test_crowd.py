"""A crowd of cheap calls stays cheap: no per-call work that grows with the traffic already served (issue 26)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tabs import common


def test_export_folders_are_swept_once_a_minute_not_on_every_call(tmp_path, monkeypatch):
    """Every tokenize (and most runs) makes an export folder; the sweep of old ones read the whole folder each time:
    after an hour of a crowd, thousands of entries per cheap call."""
    monkeypatch.setattr(common, "exports_root", lambda: tmp_path)
    stale = tmp_path / "old-run"
    stale.mkdir()
    old = time.time() - 2 * common.EXPORTS_MAX_AGE_S
    os.utime(stale, (old, old))
    scans = []
    real_iterdir = Path.iterdir

    def counting(self):
        if self == tmp_path:
            scans.append(self)
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counting)
    made = [common.export_folder("tokenizers") for _ in range(20)]
    assert len(scans) == 1
    assert not stale.exists()  # the first call still sweeps
    assert all(folder.is_dir() and folder.parent == tmp_path for folder in made)


def test_a_sweep_is_due_again_after_a_minute(tmp_path):
    marker = tmp_path / ".swept"
    now = time.time()
    assert common._sweep_due(marker, now)
    assert not common._sweep_due(marker, now + 1)
    assert common._sweep_due(marker, now + common.EXPORTS_SWEEP_S + 1)
