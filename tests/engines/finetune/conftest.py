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
def done_run(tiny, ft_root):
    """The standard short run (tiny Llama, 20 LoRA steps), trained to the end in a worker process."""
    from engines import finetune as ft

    run = ft.start_run(tiny_finetune.prepare(tiny["lm-llama"]))
    view = tiny_finetune.wait_for(lambda: ft.read_run(run.id), lambda v: not v.live)
    assert view.state == "done", tiny_finetune._describe(view)
    return view
