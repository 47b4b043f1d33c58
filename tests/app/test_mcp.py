"""MCP, checked with the official ``mcp`` SDK client over streamable HTTP against ``python app.py --mcp``.

Every tool must be callable with any allowed model reference (no enum where free text is allowed), read well (whole
parameter descriptions, required = truly required), carry the API name as its name, and answer input errors with the
app's own message.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest
from app_helpers import SECRET_MARKER, serve_app
from tiny_minutes import minutes_fx  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[2]
# parameters that take a model (or tokenizer) reference: free text, never an enum
MODEL_PARAMS = {"model", "models", "tokenizer", "tokenizers", "pool", "asr_model", "minutes_model", "judge",
                "base_model", "speech_model"}


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory, models_dir, fake_server, served):
    log = tmp_path_factory.mktemp("mcp") / "app.log"
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_server.base_url,
           "OPENAI_API_KEY": SECRET_MARKER, "HF_API_BASE_URL": fake_server.base_url, "HF_TOKEN": SECRET_MARKER}
    proc, url = serve_app(env, log, args=("--mcp",))
    yield url + "gradio_api/mcp/"
    proc.terminate()
    proc.wait(10)


def _session(url: str, work):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(url, timeout=120, sse_read_timeout=600) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def tools(mcp_url) -> dict:
    async def work(session):
        return {t.name: t for t in (await session.list_tools()).tools}

    return _session(mcp_url, work)


def _api_functions() -> dict:
    """api_name → the handler as written (before the app's wrappers)."""
    import app

    demo = app.build_demo()
    out = {}
    for dep in demo.fns.values():
        if dep.api_name and dep.api_visibility == "public":
            fn = dep.fn
            while hasattr(fn, "__wrapped__"):
                fn = fn.__wrapped__
            out[dep.api_name] = fn
    return out


def _docstring_args(fn) -> dict[str, str]:
    """Each Args entry of a docstring, continuation lines joined (an independent reading of the docstring)."""
    doc = inspect.getdoc(fn) or ""
    args, current, inside = {}, None, False
    for line in doc.splitlines():
        if re.match(r"^(Args|Returns|Yields|Raises):", line.strip()):
            inside = line.strip().startswith("Args:")
            continue
        match = re.match(r"^    (\w+)(?: \([^)]*\))?: (.*)$", line)
        if inside and match:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif inside and current and line.strip():
            args[current] += " " + line.strip()
    return args


def test_tool_names_are_the_api_names(tools):
    readme = (ROOT / "README.md").read_text()
    documented = {name.lstrip("/") for name in re.findall(r'api_name="(/[a-z_]+)"', readme)}
    assert documented and documented <= set(tools), documented - set(tools)
    assert not any(name.startswith("_lambda") or name.endswith("_") for name in tools)
    assert set(_api_functions()) == set(tools)


def test_model_parameters_are_free_text(tools):
    enums = [(name, p) for name, tool in tools.items() for p, schema in tool.inputSchema["properties"].items()
             if p in MODEL_PARAMS and ("enum" in schema or "enum" in schema.get("items", {}))]
    assert not enums, enums


def test_descriptions_are_whole_and_required_is_truly_required(tools):
    functions = _api_functions()
    problems = []
    for name, tool in tools.items():
        fn = functions[name]
        written = _docstring_args(fn)
        signature = inspect.signature(fn).parameters
        for param, schema in tool.inputSchema["properties"].items():
            if param in written and schema.get("description") != written[param]:
                problems.append(f"{name}.{param}: description {schema.get('description')!r} != {written[param]!r}")
        for param in tool.inputSchema.get("required", []):
            default = signature[param].default if param in signature else inspect.Parameter.empty
            if default is not inspect.Parameter.empty:
                problems.append(f"{name}.{param} is marked required but has a default ({default!r})")
    assert not problems, "\n".join(problems)


def _call(mcp_url, tool: str, arguments: dict):
    async def work(session):
        return await session.call_tool(tool, arguments)

    result = _session(mcp_url, work)
    return result, " ".join(getattr(c, "text", "") for c in result.content)


def test_one_tool_per_tab_runs_with_local_models(mcp_url, tiny, served, minutes_fx, fake_server):  # noqa: F811
    fake_server.script("synth-mcp", '{"name": "Ada"}\n')
    fields = {"headers": ["name", "type", "values (enum)", "min", "max", "description"],
              "data": [["name", "string", "", "", "", "a first name"]]}
    checks = [
        ("tokenize", {"tokenizers": [str(tiny["tok-llama"])], "text": "Hello MCP"}, "round-trips"),
        ("pipeline_classify", {"task": "sentiment-analysis", "model": str(served["sentiment"]), "text": "I love it"},
         "POSITIVE"),
        ("compare", {"models": [str(tiny["lm-llama"])], "prompt": "Hi", "max_new_tokens": 4}, "of 1 finished"),
        ("next_tokens", {"model": str(tiny["lm-llama"]), "prompt": "Hi", "steps": 2}, "step"),
        ("minutes", {"transcript": "[00:00:01] Alice: hello", "model": str(minutes_fx["lm-long"]),
                     "max_new_tokens": 16}, "tokens"),
        ("image_plan", {"model": "stabilityai/sd-turbo"}, "CPU"),
        ("run_python", {"python_code": "print(6 * 7)"}, "42"),
        ("generate_rows", {"description": "People", "fields_table": fields, "n_rows": 1,
                           "model": "openai:synth-mcp"}, "Ada"),
    ]
    failures = []
    for tool, arguments, expected in checks:
        result, text = _call(mcp_url, tool, arguments)
        if result.isError or expected not in text:
            failures.append(f"{tool}: error={result.isError} {text[:300]}")
    assert not failures, "\n".join(failures)


def test_input_errors_are_the_apps_own_messages(mcp_url, tiny):
    result, text = _call(mcp_url, "tokenize", {"tokenizers": ["../etc"], "text": "hi"})
    assert result.isError and "contains '..'" in text
    assert "upstream" not in text.lower()
    result, text = _call(mcp_url, "next_tokens", {"model": str(tiny["lm-llama"]), "prompt": "Hi", "steps": 10_000})
    assert result.isError and "steps" in text and "upstream" not in text.lower()


def test_an_arena_match_is_voted_on_with_the_match_id_it_returned(mcp_url, tiny):
    """arena_vote takes explicit inputs (choice, match_id): an MCP client, with no browser session, can vote."""
    pool = [str(tiny["lm-llama"]), str(tiny["lm-qwen2"])]
    result, text = _call(mcp_url, "arena_battle", {"pool": pool, "prompt": "Hi", "max_new_tokens": 4})
    assert not result.isError, text
    ids = re.findall(r"\b[0-9a-f]{32}\b", text)
    assert len(ids) == 1 and not any(p in text for p in pool), text[:500]  # the names stay hidden
    result, text = _call(mcp_url, "arena_vote", {"choice": "tie", "match_id": ids[0]})
    # the reveal names the models by what they hold (the folder's name here), never by a server path
    assert not result.isError and "Vote #" in text and all(Path(p).name in text for p in pool), text[:500]
    assert not any(p in text for p in pool), text[:500]
    result, text = _call(mcp_url, "arena_vote", {"choice": "a", "match_id": ids[0]})
    assert result.isError and "already has your vote" in text
