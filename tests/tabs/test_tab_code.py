"""The Code tab through its API (gradio_client against the served app; models answer from the fake server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_code as tc
from gradio_client.exceptions import AppError
from processes import all_gone, sandboxed_python


def _convert(client, fake_server, name: str, reply: str):
    fake_server.script(name, reply)
    return client.predict(tc.PYTHON, f"openai:{name}", 1024, api_name="/convert_to_cpp")


def test_convert_streams_extracted_cpp_and_download(client, fake_server):
    status, cpp, file, notebook = _convert(client, fake_server, "tab-ok", tc.REPLY_OK)
    assert notebook.endswith(".ipynb") and "tab-ok" in Path(notebook).read_text()
    assert cpp.rstrip() == tc.CPP_OK.rstrip()  # gr.Code drops the final newline
    assert "tokens" in status and "tab-ok" in status and "data-state='done'" in status
    assert Path(file).suffix == ".cpp" and Path(file).read_text() == tc.CPP_OK


def test_run_both_match_and_speedup(client, fake_server):
    _, cpp, _, _ = _convert(client, fake_server, "tab-run", tc.REPLY_BARE)
    summary, out, py = client.predict(tc.PYTHON, 1, 10, api_name="/run_python")
    assert py["ok"] and out.startswith("total = ") and "Python wall time" in summary
    status, verdict, out, rec = client.predict(cpp, 3, 10, py, api_name="/run_cpp")
    assert rec["ok"] and len(rec["runs_s"]) == 3 and out.splitlines()[0] == py["stdout"].splitlines()[0]
    assert rec["match"] is True and "output identical" in verdict
    assert rec["speedup"] == pytest.approx(py["seconds"] / rec["seconds"])
    assert "faster than Python" in verdict and "-O3" in status and "data-state='done'" in status


def test_wrong_output_is_caught(client, fake_server):
    _, cpp, _, _ = _convert(client, fake_server, "tab-wrong", tc.REPLY_WRONG)
    _, _, py = client.predict(tc.PYTHON, 1, 10, api_name="/run_python")
    _, verdict, _, rec = client.predict(cpp, 1, 10, py, api_name="/run_cpp")
    assert rec["match"] is False and rec["speedup"] is None
    assert "output differs" in verdict and "faster" not in verdict


def test_compile_error_then_fix_round(client, fake_server):
    status, _, out, rec = client.predict(tc.CPP_BROKEN, 1, 10, None, api_name="/run_cpp")
    assert rec["compile_failed"] and "does not compile" in status and "data-state='failed'" in status
    assert "error" in out
    fake_server.script("tab-fixer", tc.REPLY_OK)
    status, cpp, file, log = client.predict(tc.PYTHON, tc.CPP_BROKEN, "openai:tab-fixer", 3, api_name="/fix_cpp")
    assert cpp.rstrip() == tc.CPP_OK.rstrip() and Path(file).read_text() == tc.CPP_OK
    assert "**original**: ✗" in log and "**round 1**: ✓ compiles" in log and "Compiles." in status


def test_fix_gives_up_visibly(client, fake_server):
    fake_server.script("tab-stubborn", tc.REPLY_BROKEN)
    status, cpp, _, log = client.predict(tc.PYTHON, tc.CPP_BROKEN, "openai:tab-stubborn", 1, api_name="/fix_cpp")
    assert "Still failing after 1 round" in status and "data-state='failed'" in status and "round 1**: ✗" in log


def test_samples_and_reference(client):
    python, note = client.predict("subarray", api_name="/load_sample")
    assert "1664525" in python and "1013904223" in python and "seed 42" in note
    status, cpp, file = client.predict("pi", api_name="/reference_cpp")
    assert "#include" in cpp and "Reference C++" in status and Path(file).suffix == ".cpp"
    snippet = client.predict(tc.PYTHON, "openai:gpt-4o-mini", api_name="/code_snippet")
    assert "OpenAI(" in snippet


@pytest.mark.parametrize(("api", "args", "message"), [
    ("/convert_to_cpp", ("", "openai:gpt-4o-mini", 512), "empty"),
    ("/convert_to_cpp", (tc.PYTHON, "", 512), "Choose a model"),
    ("/convert_to_cpp", (tc.PYTHON, "https://evil.example/model", 512), "URL"),
    ("/run_python", ("print(1)", 0, 10), "outside the allowed range 1 to 20"),  # slider bounds hold for the API
    ("/run_cpp", ("", 1, 10, None), "empty"),
    ("/fix_cpp", (tc.PYTHON, "", "openai:gpt-4o-mini", 2), "convert first"),
])
def test_bad_input_is_specific(client, api, args, message):
    with pytest.raises(AppError, match=message) as info:
        client.predict(*args, api_name=api)
    assert "Traceback" not in str(info.value)


def test_model_without_code_is_reported(client, fake_server):
    with pytest.raises(AppError, match="prose without any C\\+\\+"):
        _convert(client, fake_server, "tab-prose", tc.REPLY_PROSE_ONLY)


# ----------------------------------------------------------------------------------------------- Stop (issue 27)

ENDLESS = "while True:\n    pass\n"


def test_stopping_the_python_run_handler_kills_the_program():
    """The handler in-process: closing its generator (what a cancelled event does) kills the endless loop."""
    from tabs.code import handlers as tab

    gen = tab.run_python(ENDLESS, 1, 300)
    first = next(gen)
    assert "data-state='running'" in first["status"]
    procs = sandboxed_python()
    gen.close()
    assert all_gone(procs), [p.pid for p in procs]


def test_cancelling_the_run_python_event_kills_the_program(client):
    """Through the served app: cancelling the event (the Stop button's cancels=) ends the sandboxed process."""
    job = client.submit(ENDLESS, 1, 300, api_name="/run_python")
    procs = sandboxed_python()
    job.cancel()
    assert all_gone(procs), [p.pid for p in procs]


def test_stop_marks_only_running_status_lines():
    from tabs.code import handlers as tab
    from tabs.common import status_html

    out = tab.stop_runs(status_html("running", "Running…"), status_html("done", "ran"), None)
    assert set(out) == {"python"} and "data-state='stopped'" in out["python"]


def test_stop_ends_the_sessions_runs_itself_and_answers_after_their_last_update(monkeypatch):
    """Two defects. (1) A stopped run's last "Running … s" tick reached the browser after Stop's "Stopped" (at 390 px,
    on a busy machine) and the line read Running again. (2) Stop's update then waited for the runs to end, but the
    browser sends the cancel of the running events only after Stop's event has finished: every Stop took its whole
    60 s wait and the program ran on meanwhile. Stop now ends its session's programs itself and answers once their
    generators are done; the run's own last update says Stopped as well. Here nobody closes the run's generator
    (no cancel arrives): a thread iterates it as Gradio does."""
    import threading
    from types import SimpleNamespace

    from tabs.code import handlers as tab

    monkeypatch.setattr(tab, "STOP_WAIT_S", 600)  # the old code waited this long for a cancel that never came
    alice, bob = SimpleNamespace(session_hash="alice"), SimpleNamespace(session_hash="bob")
    gen = tab.run_python(ENDLESS, 1, 300, alice)
    updates, events = [next(gen)["status"]], []

    def iterate():  # Gradio's worker: next() until the generator ends
        for update in gen:
            updates.append(update.get("status", ""))
            events.append("running" if "data-state='running'" in updates[-1] else "other")
        events.append("run ended")

    runner = threading.Thread(target=iterate, daemon=True)
    runner.start()
    assert "python" in tab.stop_runs(updates[0], None, None, bob) and runner.is_alive()  # Bob's Stop: not Alice's run
    out = tab.stop_runs(updates[0], None, None, alice)
    events.append("stop answered")
    runner.join(300)
    assert "running" not in events[events.index("stop answered"):]  # no "Running" tick can follow Stop's answer
    assert events[-1] in ("run ended", "stop answered")
    assert "data-state='stopped'" in out["python"]
    assert "data-state='stopped'" in updates[-1] and "data-state='running'" not in updates[-1]
    assert not tab._JOBS
