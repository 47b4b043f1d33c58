"""Code tab: convert Python to fast C++ with two models side by side, run both in the sandbox, check that the
outputs match, and time the speedup."""

from __future__ import annotations

import threading

import gradio as gr

from engines import codeconv, registry, sandbox
from engines import notebooks as nbs
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from tabs.common import (
    GPU_EVENT,
    SANDBOX_EVENT,
    Links,
    esc,
    expensive,
    export_folder,
    notebook_file,
    on,
    status_html,
    ui_errors,
    with_settings,
)
from tabs.kit.pickers import model_picker

SAMPLE_CHOICES = [(s.title, s.key) for s in codeconv.SAMPLES.values()]
FIRST_SAMPLE = next(iter(codeconv.SAMPLES.values()))
# frontier = the paid API chat models of the catalog
FRONTIER = {"kinds": "chat", "choices": {"where": lambda s: s.price_in is not None, "local": False}}
OPEN = {"kinds": "code", "choices": {"where": lambda s: s.extra.get("chat_template", True)}}
OLLAMA = ("Qwen2.5-Coder (Ollama, local server)", "ollama:qwen2.5-coder")


def _limits(time_limit_s: float, memory_mb: float | None = None) -> sandbox.Limits:
    return sandbox.code_limits(time_limit_s, memory_mb)  # shared with the assistant's run_python tool


def _runs(runs: float) -> int:
    n = int(runs or 1)
    if not 1 <= n <= 20:
        raise InvalidInput("Runs must be between 1 and 20.")
    return n


def _cpp_file(code: str, model: str) -> str | None:
    """Write the C++ to a temp file of our choosing, for the download button."""
    if not code.strip():
        return None
    name = "".join(c if c.isalnum() else "_" for c in model.split(":")[-1].split("/")[-1])[:40] or "converted"
    folder = export_folder("code")
    path = folder / f"{name}.cpp"
    path.write_text(code, encoding="utf-8")
    return str(path)


def _stats_line(model: str, stats, notice: str | None) -> str:
    parts = [f"**{model}**"]
    if stats is not None:
        parts.append(f"{stats.tokens} tokens in {stats.total_s:.1f} s ({stats.tokens_per_s:.1f} tok/s, first token "
                     f"{stats.ttft_s:.2f} s) · {stats.backend} on {stats.device}")
    if notice:
        parts.append(notice)
    return " · ".join(parts)


@ui_errors
def load_sample(key: str):
    """The Python source of a sample program.

    Args:
        key: sample key (pi, subarray, sieve, mandelbrot).

    Returns:
        The Python code and a one-line note.
    """
    sample = codeconv.SAMPLES.get(key)
    if sample is None:
        raise InvalidInput(f"Unknown sample '{key}'. Choose one of: {', '.join(codeconv.SAMPLES)}.")
    return {"python": sample.python, "note": f"_{esc(sample.note)}_"}


@ui_errors
def reference_cpp(key: str):
    """Our hand-written C++ for a sample (works offline, no model needed).

    Args:
        key: sample key (pi, subarray, sieve, mandelbrot).

    Returns:
        The status line, the C++ source and a downloadable .cpp file.
    """
    sample = codeconv.SAMPLES.get(key)
    if sample is None:
        raise InvalidInput(f"Unknown sample '{key}'.")
    return {"status": status_html("done", f"**Reference C++** for “{sample.title}” (hand-written, not a model's)."),
            "cpp": sample.cpp, "download": _cpp_file(sample.cpp, f"reference_{key}")}


@expensive
@ui_errors
def convert_to_cpp(python_code: str, model: str, max_new_tokens: float = 4096, *, settings=None):
    """Convert a Python program to C++17 with a model, streamed.

    Args:
        python_code: the Python program.
        model: model reference, e.g. "openai:gpt-4o-mini", "hf:Qwen/Qwen2.5-Coder-32B-Instruct",
            "ollama:qwen2.5-coder", or a Hub id / local folder run with transformers.
        max_new_tokens: upper bound on generated tokens.

    Returns:
        The status line, the C++ source (extracted from the answer as it streams) and a downloadable .cpp file.
    """
    model = (model or "").strip()
    if not model:
        raise InvalidInput("Choose a model to convert with.")
    raw, notice = "", None
    for chunk in codeconv.stream_cpp(python_code, model=model, max_new_tokens=int(max_new_tokens or 4096),
                                     settings=settings):
        notice = notice or chunk.notice
        raw += chunk.text
        if chunk.stats is not None:
            yield {"cpp": codeconv.extract_cpp(raw) or raw}
            code = codeconv.cpp_source(raw)  # says so when the answer is Python or prose, before any compile
            yield {"status": status_html("warning" if notice else "done", _stats_line(model, chunk.stats, notice)),
                   "cpp": code, "download": _cpp_file(code, model),
                   "notebook": notebook_file("code", "python-to-cpp", nbs.code_recipe(model, python_code, cpp=code))}
        elif chunk.text:
            yield {"cpp": codeconv.extract_cpp(raw),
                   "status": status_html("running", f"Converting with {model}… {len(raw):,} characters")}


STOPPED = {"memory": "stopped: over the job's memory budget", "processes": "stopped: too many processes",
           "disk": "stopped: over the scratch-disk budget", "cancelled": "stopped (Stop was pressed)"}


def _summary(r: sandbox.RunResult, lang: str) -> str:
    """The run's status line: compiled or not, ran or how it was stopped, timings, and what isolated it."""
    if r.compile_failed:
        head = "does not compile" + (" (the compiler stopped at its time limit)" if r.timed_out else "")
        return status_html("failed", f"{head} after {r.compile_s:.2f} s · {r.command}")
    if getattr(r, "stopped", ""):
        state = "stopped" if r.stopped == "cancelled" else "failed"
        what = STOPPED.get(r.stopped, f"stopped: {r.stopped}")
    elif r.timed_out:
        state, what = "failed", "killed at the time limit"
    elif r.truncated:
        state, what = "failed", "output cut at the cap (the program was stopped)"
    elif r.exit_code != 0:
        state, what = "failed", f"exit code {r.exit_code}"
    else:
        state, what = "done", "ran"
    runs = f"median of {len(r.runs_s)} runs" if len(r.runs_s) > 1 else "1 run"
    line = f"{what} · {lang} wall time **{r.seconds:.3f} s** ({runs}) · sandbox: {r.isolation}"
    line += f", budget: {r.budget}" if r.budget else ""
    if lang == "C++":
        line += f" · compiled in {r.compile_s:.2f} s with {r.command}"
    return status_html(state, line)


def _output(r: sandbox.RunResult) -> str:
    text = r.stdout
    if r.stderr.strip():
        text += ("\n" if text and not text.endswith("\n") else "") + "--- stderr ---\n" + r.stderr
    if r.compile_failed:
        text = r.compile_output
    return text + ("\n[output truncated]" if r.truncated else "")


def _record(r: sandbox.RunResult) -> dict:
    return {"stdout": r.stdout, "stderr": r.stderr[-2000:], "exit_code": r.exit_code, "seconds": r.seconds,
            "runs_s": r.runs_s, "timed_out": r.timed_out, "truncated": r.truncated,
            "compile_failed": r.compile_failed, "compile_s": r.compile_s, "command": r.command,
            "isolation": r.isolation, "ok": r.ok}


# Sandbox jobs of this tab still running, per session. Stop ends its session's jobs itself and answers once they are
# over: the browser sends the cancel of the running events only after Stop's own event has finished (seen in
# Chromium: /cancel came 60 s late, when Stop waited for the runs to end), so Stop can't leave the killing to it. A
# stopped job's last update says "Stopped" too, whichever of the two reaches the page last.
_JOBS: dict[str, set] = {}
_JOBS_CHANGED = threading.Condition()
STOP_WAIT_S = 60  # at most: a killed job ends within a tick (~1 s); a bound, not a wait


def _session(request) -> str:
    return getattr(request, "session_hash", None) or ""


def _in_sandbox(status: str, what: str, run, *args, request=None, **kwargs):
    """Run a sandbox job in the background, yielding the elapsed time on ``status``; the job's result is the
    generator's return value. Closing the generator (a cancelled event) or Stop (``stop_runs``) kills the program at
    once: without this, a stopped event left an endless loop running to its time limit, holding the sandbox slot."""
    key = _session(request)
    job = sandbox.Background(run, *args, **kwargs)
    with _JOBS_CHANGED:
        _JOBS.setdefault(key, set()).add(job)
    try:
        for elapsed in job.ticks(1.0):
            yield {status: status_html("running", f"{what} in the sandbox… {elapsed:.0f} s (Stop ends it)")}
        return job.result()
    finally:
        job.cancel()
        with _JOBS_CHANGED:
            mine = _JOBS.get(key, set())
            mine.discard(job)
            if not mine:
                _JOBS.pop(key, None)
            _JOBS_CHANGED.notify_all()


@expensive
@ui_errors
def run_python(python_code: str, runs: float = 1, time_limit_s: float = 300, request: gr.Request | None = None, *,
               settings=None):
    """Run the Python program in the sandbox and time it.

    Args:
        python_code: the Python program.
        runs: run it this many times; the median wall time counts.
        time_limit_s: wall-clock and CPU limit per run, in seconds.

    Returns:
        The status line, the program's output, and the result as a dict (stdout, seconds, runs_s, ok, ...).
    """
    limits, n = _limits(time_limit_s), _runs(runs)
    r = yield from _in_sandbox("status", "Running the Python program", sandbox.run_python, python_code,
                               limits=limits, runs=n, settings=settings, request=request)
    yield {"status": _summary(r, "Python"), "output": _output(r), "result": _record(r)}


@expensive
@ui_errors
def run_cpp(cpp_code: str, runs: float = 5, time_limit_s: float = 60, python_result: dict | None = None,
            request: gr.Request | None = None, *, settings=None):
    """Compile and run C++ in the sandbox, check its output against the Python run, and compute the speedup.

    Args:
        cpp_code: the C++17 source.
        runs: run it this many times; the median wall time counts.
        time_limit_s: wall-clock and CPU limit per run, in seconds.
        python_result: the dict returned by run_python (optional): enables the output check and the speedup.

    Returns:
        The status line, the output check and speedup (Markdown), the program's output (or the compiler's), and the
        result as a dict (adds "match" and "speedup" when python_result is given).
    """
    if not (cpp_code or "").strip():
        raise InvalidInput("The C++ is empty: convert first, or paste C++ into the box.")
    limits, n, source = _limits(time_limit_s), _runs(runs), codeconv.cpp_source(cpp_code)
    r = yield from _in_sandbox("run_status", "Compiling and running", sandbox.compile_and_run_cpp, source,
                               limits=limits, runs=n, settings=settings, request=request)
    record, verdict = _record(r), ""
    if isinstance(python_result, dict) and python_result.get("stdout") is not None and not r.compile_failed:
        verdict = _verdict(r, python_result, record)
    elif not r.compile_failed:
        verdict = "_Run the Python program to check the output and see the speedup._"
    yield {"run_status": _summary(r, "C++"), "verdict": verdict, "output": _output(r), "result": record}


def _verdict(r: sandbox.RunResult, py: dict, record: dict) -> str:
    check = codeconv.compare_outputs(py.get("stdout", ""), r.stdout)
    record["match"] = check.match
    ignored = f" ({check.ignored_lines} timing line{'s' if check.ignored_lines != 1 else ''} ignored)" \
        if check.ignored_lines else ""
    if check.match:
        line = f"✓ **output identical** to Python's{ignored}"
    else:
        line = (f"✗ **output differs** at line {check.first_diff}: Python `{esc(check.python_line[:120])}` vs C++ "
                f"`{esc(check.cpp_line[:120])}` — the speedup does not count")
    try:
        py_run = sandbox.RunResult(stdout=str(py.get("stdout", "")), stderr="", exit_code=int(py.get("exit_code", 1)),
                                   seconds=float(py.get("seconds", 0)), timed_out=bool(py.get("timed_out")),
                                   runs_s=[float(x) for x in py.get("runs_s") or []])
    except (TypeError, ValueError):
        raise InvalidInput("python_result is not a result of run_python (expected its stdout, exit_code, seconds "
                           "and runs_s).") from None
    factor = codeconv.speedup(py_run, r)
    record["speedup"] = factor if check.match else None
    if factor is not None and check.match:
        line += (f"\n\n### ⚡ {factor:,.1f}× faster than Python\nPython {py_run.seconds:.3f} s vs C++ "
                 f"{r.seconds:.3f} s (median wall times, same sandbox)")
    return line


@expensive
@ui_errors
def fix_cpp(python_code: str, cpp_code: str, model: str, rounds: float = 3, *, settings=None):
    """Compile the C++; on errors send them back to the model, up to `rounds` automatic repair rounds.

    Args:
        python_code: the original Python program.
        cpp_code: the C++ to check and fix.
        model: model reference that writes the fixes.
        rounds: the most repair rounds to try (1-10).

    Returns:
        The status line, the final C++ source, a log of every round, and a downloadable .cpp file.
    """
    log: list[str] = []
    code = cpp_code or ""
    model = (model or "").strip()
    if not model:
        raise InvalidInput("Choose a model to fix the C++ with.")
    for step in codeconv.repair(python_code, code, model=model, rounds=int(rounds or 3), settings=settings):
        code = step.cpp or code
        if step.phase == "compile":
            r = step.result
            label = "original" if step.round == 0 else f"round {step.round}"
            if r.compile_failed:
                first = next((ln for ln in r.compile_output.splitlines() if "error" in ln), r.compile_output[:200])
                log.append(f"- **{label}**: ✗ does not compile — `{esc(first.strip()[:200])}`")
            else:
                log.append(f"- **{label}**: ✓ compiles ({r.compile_s:.2f} s)")
        elif step.phase == "fixing":
            yield {"cpp": code, "log": "\n".join(log),
                   "status": status_html("running", f"round {step.round}: {model} is fixing… {len(code):,} chars")}
            continue
        elif step.phase == "done":
            state = status_html("done", "Compiles. Run it to check the output.") if step.ok else status_html(
                "failed", f"Still failing after {int(rounds or 3)} round(s). Edit by hand or try another model.")
            yield {"status": state, "cpp": code, "log": "\n".join(log), "download": _cpp_file(code, model)}
            return
        yield {"cpp": code, "log": "\n".join(log)}


@ui_errors
def code_snippet(python_code: str, model: str) -> str:
    """Plain openai/transformers code that reproduces the conversion.

    Args:
        python_code: the Python program.
        model: model reference.

    Returns:
        Python source.
    """
    return {"snippet": codeconv.show_code((model or "").strip(), python_code)}


def _model_column(title: str, picker: dict, default: str, elem: str, python_code, py_json, settings: dict,
                  deployment: Settings | None = None) -> dict:
    with gr.Column():
        model = model_picker(value=default, label=title, elem_id=f"{elem}-model", **picker)
        with gr.Row():
            convert = gr.Button("Convert", variant="primary", elem_id=f"{elem}-convert")
            run = gr.Button("Run C++", elem_id=f"{elem}-run")
            fix = gr.Button("Fix", elem_id=f"{elem}-fix")
        out = {"status": gr.HTML(elem_id=f"{elem}-status"),
               "cpp": gr.Code(language="cpp", label="C++", lines=18, max_lines=30, interactive=True,
                              elem_id=f"{elem}-cpp"),
               "download": gr.File(label="Download .cpp", interactive=False, height=60, elem_id=f"{elem}-file"),
               "notebook": gr.File(label="Notebook (.ipynb): convert, compile and run", interactive=False,
                                   height=60, elem_id=f"{elem}-notebook"),
               "log": gr.Markdown(elem_id=f"{elem}-log")}
        ran = {"run_status": gr.HTML(elem_id=f"{elem}-run-status"), "verdict": gr.Markdown(elem_id=f"{elem}-verdict"),
               "output": gr.Textbox(label="C++ output", lines=4, max_lines=12, interactive=False,
                                    elem_id=f"{elem}-out"),
               "result": gr.JSON(visible=False)}
    api = elem == "a"
    convert_out = {k: out[k] for k in ("status", "cpp", "download", "notebook")}
    on(convert.click, with_settings(convert_to_cpp, deployment), [python_code, model, settings["tokens"]], convert_out,
       api_name="convert_to_cpp" if api else False, status="status", clear=("download", "notebook"),
       running=f"Converting with {title.lower()}…", **GPU_EVENT)
    run_event = on(run.click, with_settings(run_cpp, deployment),
                   [out["cpp"], settings["cpp_runs"], settings["time"], py_json], ran,
                   api_name="run_cpp" if api else False, status="run_status", clear=("verdict", "output", "result"),
                   running="Compiling and running in the sandbox…", **SANDBOX_EVENT)
    on(fix.click, with_settings(fix_cpp, deployment), [python_code, out["cpp"], model, settings["rounds"]],
       {k: v for k, v in out.items() if k != "notebook"},
       api_name="fix_cpp" if api else False, status="status", clear=("download", "log"),
       running="Compiling…", **GPU_EVENT)
    return {"model": model, **out, "run_status": ran["run_status"], "run_event": run_event}


def stop_runs(python: str | None, a: str | None, b: str | None, request: gr.Request | None = None):
    """Stop: end this session's sandbox programs, and once their runs are over, say so on every status line still
    showing a run in progress (the click also cancels the run events, but the browser sends that cancel only after
    this event has finished)."""
    key = _session(request)
    with _JOBS_CHANGED:
        for job in _JOBS.get(key, ()):
            job.token.set()  # the job's program is killed at its next check; its thread then ends
        _JOBS_CHANGED.wait_for(lambda: not _JOBS.get(key), timeout=STOP_WAIT_S)
    stopped = status_html("stopped", "Stopped: the program was ended (Stop).")
    return {name: stopped for name, line in (("python", python), ("a", a), ("b", b))
            if "data-state='running'" in (line or "")}


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Code tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets (none here).
    """
    ctx = as_context(ctx)
    settings = ctx.settings
    with gr.Tab("Code", id="code"):
        gr.Markdown("Turn slow Python into C++ that prints the same output, much faster: convert with a frontier "
                    "and an open-source model side by side, run everything in a sandbox, check the outputs match "
                    "(timing lines aside) and see the speedup.")
        gr.Markdown(sandbox.describe(), elem_id="code-sandbox")
        with gr.Row():
            sample = gr.Dropdown(SAMPLE_CHOICES, value=FIRST_SAMPLE.key, label="Sample program", scale=3,
                                 elem_id="code-sample")
            ref_btn = gr.Button("Reference C++ (ours) → left", scale=1, elem_id="code-reference")
        note = gr.Markdown(f"_{esc(FIRST_SAMPLE.note)}_")
        python_code = gr.Code(FIRST_SAMPLE.python, language="python", label="Python", lines=16, max_lines=30,
                              interactive=True, elem_id="code-python")
        with gr.Accordion("Settings", open=False):
            with gr.Row():
                py_runs = gr.Slider(1, 20, value=1, step=1, label="Python runs (median)")
                cpp_runs = gr.Slider(1, 20, value=5, step=1, label="C++ runs (median)")
                time_limit = gr.Slider(1, 600, value=300, step=1, label="Time limit per run (s)")
            with gr.Row():
                rounds = gr.Slider(1, 10, value=3, step=1, label="Automatic repair rounds (Fix)")
                tokens = gr.Slider(256, 8192, value=4096, step=256, label="Max new tokens")
        with gr.Row():
            run_py = gr.Button("Run Python", elem_id="code-run-python")
            stop = gr.Button("Stop", variant="stop", elem_id="code-stop")
        py = {"status": gr.HTML(elem_id="code-py-summary"),
              "output": gr.Textbox(label="Python output", lines=3, max_lines=12, interactive=False,
                                   elem_id="code-py-out"),
              "result": gr.JSON(label="Python result", visible=False)}
        knobs = {"cpp_runs": cpp_runs, "time": time_limit, "rounds": rounds, "tokens": tokens}
        with gr.Row(equal_height=False):
            col_a = _model_column("Frontier model", FRONTIER, registry.default_for("code_frontier", "cpu"), "a",
                                  python_code, py["result"], knobs, settings)
            custom = settings.allow_custom_models  # ollama: is outside the catalog
            col_b = _model_column("Open-source model", {**OPEN, "extra": [OLLAMA] if custom else []},
                          registry.default_for("code_open", "cpu"), "b", python_code, py["result"], knobs, settings)
        with gr.Accordion("Show code (plain openai / transformers)", open=False):
            snippet_btn = gr.Button("Show code for the frontier model's conversion")
            snippet = gr.Code(language="python", label="Reproduce the conversion", interactive=False)
        on(sample.change, load_sample, [sample], {"python": python_code, "note": note}, api_name="load_sample")
        py_event = on(run_py.click, with_settings(run_python, settings), [python_code, py_runs, time_limit], py,
                      api_name="run_python", status="status", clear=("output", "result"),
                      running="Running the Python program in the sandbox…", **SANDBOX_EVENT)
        statuses = {"python": py["status"], "a": col_a["run_status"], "b": col_b["run_status"]}
        on(stop.click, stop_runs, list(statuses.values()), statuses, api_name=False,
           cancels=[py_event, col_a["run_event"], col_b["run_event"]])
        on(snippet_btn.click, code_snippet, [python_code, col_a["model"]], {"snippet": snippet},
           api_name="code_snippet")
        on(ref_btn.click, reference_cpp, [sample], {k: col_a[k] for k in ("status", "cpp", "download")},
           api_name="reference_cpp")
