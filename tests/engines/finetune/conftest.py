"""Fixtures of the Fine-tune engine tests: one data directory for the session's runs, one finished run."""

from __future__ import annotations

import pytest
import tiny_finetune


@pytest.fixture(scope="package")
def ft_root(tmp_path_factory):
    """The runs folder (``<WORKBENCH_DATA_DIR>/finetune``) of these tests; leftover workers are killed and the data
    dir restored when the package ends (a session-long switch left later tests reading another data dir than the
    served app they talk to)."""
    with tiny_finetune.DataDir(tmp_path_factory.mktemp("ft-data")) as root:
        yield root


@pytest.fixture(scope="package")
def done_run(tiny, ft_root, tmp_path_factory):
    """The standard short run (tiny Llama, 20 LoRA steps), trained to the end in a worker process once per test
    session: parallel workers (pytest-xdist) that need it too get a copy of its folder (the files that use it were
    spread over up to three workers, and each trained it again: ~20 s of CPU each)."""
    return tiny_finetune.shared_done_run(tiny["lm-llama"], ft_root, tmp_path_factory)
