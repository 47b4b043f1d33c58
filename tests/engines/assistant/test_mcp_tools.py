"""engines.assistant.mcp_tools against the app's own MCP server (``python app.py --mcp`` behind WORKBENCH_MCP_TOKEN),
through the official ``mcp`` client: tools listed with their source, a call that returns the app's text, the
server's own error text, the missing token, an unreachable port and URLs that are not http(s); and how results with
images and audio become files."""

from __future__ import annotations

import base64
import io
import logging
import socket
import time
import wave

import pytest
from app_helpers import SECRET_MARKER, serve_app

from engines import errors
from engines.assistant.mcp_tools import McpToolError, _to_output, check_url, connect_mcp

TOKEN = "assistant-mcp-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # a tiny tokenizer in the models dir (a token restricts local paths)


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory, models_dir, fake_server):
    log = tmp_path_factory.mktemp("assistant-mcp") / "app.log"
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_server.base_url,
           "OPENAI_API_KEY": SECRET_MARKER, "WORKBENCH_MCP_TOKEN": TOKEN}
    proc, url = serve_app(env, log, args=("--mcp",))
    yield url + "gradio_api/mcp/"
    proc.terminate()
    proc.wait(10)


def test_lists_and_calls_the_apps_own_tools(mcp_url, tmp_path):
    tools = {t.name: t for t in connect_mcp(mcp_url + "?note=x", headers=AUTH, files_dir=tmp_path)}
    assert {"tokenize", "run_python", "status"} <= set(tools)
    tool = tools["tokenize"]
    assert tool.source == mcp_url  # no query string
    assert tool.description and tool.parameters["type"] == "object" and "text" in tool.parameters["properties"]
    assert tool.schema()["function"]["name"] == "tokenize"
    out = tool.run({"tokenizers": [LLAMA], "text": "Hello MCP"})
    assert "round-trips" in out.text and not out.images
    with pytest.raises(McpToolError, match="contains '..'") as info:
        tool.run({"tokenizers": ["../etc"], "text": "hi"})
    assert "tokenize" in str(info.value) and "127.0.0.1" in str(info.value)


def test_a_server_that_needs_a_token_says_so(mcp_url):
    with pytest.raises(McpToolError, match="needs a token") as info:
        connect_mcp(mcp_url)
    assert "401" in str(info.value) and "Traceback" not in str(info.value)
    with pytest.raises(McpToolError, match="needs a token"):
        connect_mcp(mcp_url, headers={"Authorization": "Bearer wrong-token-0123456789abcdef"})


def test_not_mcp_pages_fail_at_once(mcp_url):
    root = mcp_url.removesuffix("gradio_api/mcp/")
    start = time.monotonic()
    with pytest.raises(McpToolError, match="not MCP|no MCP endpoint"):
        connect_mcp(root, headers=AUTH, timeout_s=60)
    assert time.monotonic() - start < 30  # refused on the first answer, not after the 60 s timeout


def test_unreachable_server_is_a_clear_error_naming_the_host_only(caplog):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(McpToolError, match=f"Could not reach the MCP server at 127.0.0.1:{port}") as info:
        with caplog.at_level(logging.DEBUG):
            connect_mcp(f"http://user:secret@127.0.0.1:{port}/mcp?token=abc", timeout_s=20)
    assert time.monotonic() - start < 15
    assert "secret" not in str(info.value) and "abc" not in str(info.value)
    assert "secret" not in caplog.text and "token=abc" not in caplog.text


@pytest.mark.parametrize("url", ["ftp://example.com/mcp", "file:///etc/passwd", "stdio:server", "http:///mcp", ""])
def test_only_http_urls(url):
    with pytest.raises(errors.InvalidInput):
        connect_mcp(url)


def test_check_url_drops_credentials_query_and_fragment():
    assert check_url("https://u:p@Example.org:8443/a/mcp/?k=v#f") == ("https://example.org:8443/a/mcp/",
                                                                       "example.org:8443")
    assert check_url("http://[::1]:9000") == ("http://[::1]:9000/", "[::1]:9000")


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


def test_images_and_audio_in_a_result_become_files(tmp_path):
    from mcp.types import AudioContent, CallToolResult, ImageContent, TextContent
    from PIL import Image

    jpeg = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(jpeg, format="JPEG")
    result = CallToolResult(content=[
        TextContent(type="text", text="here you go"),
        ImageContent(type="image", data=base64.b64encode(jpeg.getvalue()).decode(), mimeType="image/jpeg"),
        AudioContent(type="audio", data=base64.b64encode(_wav()).decode(), mimeType="audio/wav"),
    ])
    out = _to_output(result, tmp_path)
    assert out.text.startswith("here you go\n[image ") and len(out.images) == 1 and len(out.audio) == 1
    with Image.open(out.images[0]) as img:
        assert img.format == "PNG" and img.size == (8, 6)
    with wave.open(str(out.audio[0])) as w:
        assert w.getframerate() == 8000 and w.getnframes() == 800
    assert all(p.parent == tmp_path for p in out.images + out.audio)
