"""MCP behind a login, checked with the official ``mcp`` SDK client over streamable HTTP against
``python app.py --mcp`` with WORKBENCH_AUTH and WORKBENCH_MCP_TOKEN: anonymous clients are refused (the tool list
included), a client with the token lists and calls tools (queued and unqueued ones), and no message names the
app's internal URL."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from app_helpers import SECRET_MARKER, serve_app

TOKEN = "mcp-test-token-0123456789abcdef"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, models_dir, fake_server):
    log = tmp_path_factory.mktemp("mcp-auth") / "app.log"
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_server.base_url,
           "OPENAI_API_KEY": SECRET_MARKER, "WORKBENCH_AUTH": "alice:alice-pass-1", "WORKBENCH_MCP_TOKEN": TOKEN}
    proc, url = serve_app(env, log, args=("--mcp",))
    yield url
    proc.terminate()
    proc.wait(10)


def _session(url: str, work, token: str | None):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    headers = {"Authorization": f"Bearer {token}"} if token else None

    async def run():
        async with streamablehttp_client(url, headers=headers, timeout=120, sse_read_timeout=600) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return asyncio.run(run())


async def _list(session):
    return {t.name for t in (await session.list_tools()).tools}


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcdef"])
def test_mcp_refuses_clients_without_the_token(app_url, token):
    with pytest.raises(BaseException) as info:  # noqa: PT011  (the SDK wraps the 401 in an exception group)
        _session(app_url + "gradio_api/mcp/", _list, token)
    assert "401" in repr(info.value) or "Unauthorized" in repr(info.value)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    schema = httpx.get(app_url + "gradio_api/mcp/schema", headers=headers, timeout=30)
    assert schema.status_code == 401 and "tokenize" not in schema.text and "Bearer" in schema.text
    accept = {"Accept": "application/json, text/event-stream"}
    call = httpx.post(app_url + "gradio_api/mcp/", headers={**headers, **accept},
                      json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": "run_python", "arguments": {"python_code": "print(1)"}}}, timeout=30)
    assert call.status_code == 401
    # other spellings of the path reach the same gate
    assert httpx.get(app_url + "gradio_api//mcp/schema", headers=headers, timeout=30).status_code in (401, 404)


def test_mcp_with_the_token_lists_and_runs_tools(app_url, fake_server):
    fake_server.script("synth-mcp-auth", '{"name": "Ada"}\n')
    fields = {"headers": ["name", "type", "values (enum)", "min", "max", "description"],
              "data": [["name", "string", "", "", "", "a first name"]]}
    checks = [
        ("status", {}, "Hub"),  # an unqueued event (Gradio calls it in-process)
        ("tokenize", {"tokenizers": [LLAMA], "text": "Hello MCP"}, "round-trips"),  # a tiny model in the models dir
        ("run_python", {"python_code": "print(6 * 7)"}, "42"),
        ("generate_rows", {"description": "People", "fields_table": fields, "n_rows": 1,
                           "model": "openai:synth-mcp-auth"}, "Ada"),
    ]

    async def work(session):
        names = await _list(session)
        results = [(tool, await session.call_tool(tool, args), expected) for tool, args, expected in checks]
        bad = await session.call_tool("tokenize", {"tokenizers": ["../etc"], "text": "hi"})
        return names, results, bad

    names, results, bad = _session(app_url + "gradio_api/mcp/", work, TOKEN)
    assert {"tokenize", "run_python", "generate_rows", "compare", "status"} <= names
    failures = []
    for tool, result, expected in results:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        if result.isError or expected not in text:
            failures.append(f"{tool}: error={result.isError} {text[:300]}")
        assert "credentials" not in text and "Could not load" not in text
    assert not failures, "\n".join(failures)
    # a file a tool returns is served to the same client with its token (and to nobody without one)
    file_url = re.search(r"http://[^'\"]+/gradio_api/file=[^'\"]+\.ipynb", " ".join(
        getattr(c, "text", "") for c in results[1][1].content)).group(0)
    assert httpx.get(file_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).status_code == 200
    assert httpx.get(file_url, timeout=30).status_code in (401, 403)
    text = " ".join(getattr(c, "text", "") for c in bad.content)
    assert bad.isError and "contains '..'" in text and "127.0.0.1" not in text and "http://" not in text
    schema = httpx.get(app_url + "gradio_api/mcp/schema", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert schema.status_code == 200 and "tokenize" in schema.text


def test_the_token_authorizes_the_http_api_but_grants_no_login_cookie_to_others(app_url):
    info = httpx.get(app_url + "gradio_api/info", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert info.status_code == 200 and "/tokenize" in info.text
    assert httpx.get(app_url + "gradio_api/info", timeout=30).status_code == 401
    assert httpx.get(app_url + "gradio_api/info", headers={"Authorization": "Bearer nope-0123456789abcdef"},
                     timeout=30).status_code == 401


def test_tokens_come_from_the_environment_or_the_auth_file(tmp_path, monkeypatch):
    import app

    monkeypatch.delenv("WORKBENCH_AUTH", raising=False)
    monkeypatch.setenv("WORKBENCH_MCP_TOKEN", f"{TOKEN},bob:bob-token-0123456789abcdef")
    auth_file = tmp_path / "logins.txt"
    auth_file.write_text("carol:three\nmcp-token carol:carol-token-0123456789ab\n")
    args = app.parse_args(["--auth-file", str(auth_file), "--mcp"])
    assert args.credentials == [("carol", "three")]
    assert args.mcp_tokens == {TOKEN: "mcp", "bob-token-0123456789abcdef": "bob",
                               "carol-token-0123456789ab": "carol"}
    assert not any("MCP" in w for w in app.warnings_for(args))
    monkeypatch.setenv("WORKBENCH_MCP_TOKEN", "short")
    with pytest.raises(SystemExit):
        app.parse_args([])
    monkeypatch.delenv("WORKBENCH_MCP_TOKEN")
    refused = app.warnings_for(app.parse_args(["--mcp", "--auth", "a:b"]))
    assert any("MCP clients will be refused" in w for w in refused)
