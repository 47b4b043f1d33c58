"""serve_app waits on conditions: an app that exits fails at once with its log's tail (not after a deadline), and an
app that could not start its server on the port (taken meanwhile; gradio's own 5 s server-start limit on a loaded
machine) is started again on a new port."""

from __future__ import annotations

import socket

import app_helpers
import pytest


def test_an_app_that_exits_fails_at_once_with_its_log(tmp_path):
    log = tmp_path / "app.log"
    with pytest.raises(RuntimeError, match="exited with 2") as info:
        app_helpers.serve_app({}, log, timeout=10**6, args=("--no-such-flag",))
    assert "unrecognized arguments: --no-such-flag" in str(info.value)  # the log's tail, in the message


@pytest.mark.slow
def test_a_port_taken_meanwhile_is_retried_on_a_new_one(tmp_path, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = [taken.getsockname()[1]]
    real = app_helpers.free_port

    def free_port() -> int:
        port = ports.pop(0) if ports else real()
        handed.append(port)
        return port

    handed: list[int] = []
    monkeypatch.setattr(app_helpers, "free_port", free_port)
    log = tmp_path / "app.log"
    proc, url = app_helpers.serve_app({}, log)
    try:
        assert len(handed) == 2 and url.endswith(f":{handed[1]}/")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(60)
        taken.close()
