"""The Chat tab's handlers in-process: a tiny local model (its window is 256 tokens), the fake OpenAI server for
API models, and fakes of the tool loop / MCP client where the turn goes through tools."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import gradio as gr
import pytest

from tabs.chat import handlers as hd

GEN = {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 8, "builtin": [], "mcp": [], "step_limit": 5}


def send(state, model, message, *, image=None, audio=None, system="Be brief.", **kw):
    g = {**GEN, **kw}
    updates = list(hd.send_message(message, image, audio, state, model, system, g["temperature"], g["top_p"],
                                   g["max_new_tokens"], g["builtin"], g["mcp"], g["step_limit"]))
    return merged(updates), updates


def merged(updates: list[dict]) -> dict:
    out: dict = {}
    for u in updates:
        out.update(u)
    return out


def contents(chatbot) -> list:
    return [m.content for m in chatbot]


@pytest.fixture()
def lm(tiny) -> str:
    return str(tiny["lm-llama"])


def test_two_turns_stream_with_stats_prompt_and_downloads(lm):
    state = hd.new_state()
    first, updates = send(state, lm, "Hello there")
    assert len([u for u in updates if "chatbot" in u]) >= 2  # the answer streamed (at least a start and an end)
    out, _ = send(state, lm, "And again")
    conv = state["conv"]
    assert [m["role"] for m in conv.messages] == ["user", "assistant"] * 2
    assert contents(out["chatbot"])[0] == "Hello there" and contents(out["chatbot"])[2] == "And again"
    assert "**Turn 1**" in out["stats"] and "**Turn 2**" in out["stats"] and "/ 256 (" in out["stats"]
    assert "TTFT" in out["stats"] and "tokens/s" in out["stats"] and "data-state='done'" in out["status"]
    assert "Hello there" in out["prompt"] and "And again" in out["prompt"] and "Be brief." in out["prompt"]
    assert out["message"] == "" and out["note"] == ""
    files = {Path(f).suffix: Path(f) for f in out["files"]}
    data = json.loads(files[".json"].read_text())
    assert [m["content"] for m in data["messages"] if m["role"] == "user"] == ["Hello there", "And again"]
    assert data["system"] == "Be brief." and set(data["stats"]) == {"1", "3"}
    assert data["stats"]["3"]["quantization"] == "fp32"  # as the model ran: the notebook loads it the same way
    import nbformat

    code = "".join(c.source for c in nbformat.read(files[".ipynb"], as_version=4).cells if c.cell_type == "code")
    assert '"And again"' in code and "def reply(messages):" in code


def test_a_local_folder_is_named_by_what_it_holds_never_by_its_server_path(lm):
    # the stats line named the turn's model by the folder's whole path ("Turn 1 (/root/.cache/…/smollm2…)"); every
    # other tab names a local folder by what it holds (refs.display_name)
    state = hd.new_state()
    out, updates = send(state, lm, "Hello there")
    shown = [str(u.get(k, "")) for u in updates for k in ("stats", "status", "note")]
    assert not [text for text in shown if str(Path(lm).parent) in text]
    assert f"**Turn 1** ({Path(lm).name})" in out["stats"]
    files = {Path(f).suffix: Path(f) for f in out["files"]}
    assert json.loads(files[".json"].read_text())["model"] == lm  # the download keeps what was typed: it reloads it


def test_regenerate_edit_last_and_edit_in_the_chat(lm):
    state = hd.new_state()
    send(state, lm, "first question")
    send(state, lm, "second question")
    out = merged(list(hd.regenerate(state, lm, "", 0.0, 1.0, 8, [], [], 5)))
    assert [m["role"] for m in state["conv"].messages] == ["user", "assistant"] * 2 and "**Turn 2**" in out["stats"]
    back = hd.edit_last(state)
    assert back["message"] == "second question" and len(state["conv"].messages) == 2 and len(back["chatbot"]) == 2
    edit = gr.EditData(None, {"index": 0, "value": "first, edited", "previous_value": "first question"})
    out = merged(list(hd.edit_message(state, lm, "", 0.0, 1.0, 8, [], [], 5, edit)))
    assert [m["content"] for m in state["conv"].messages if m["role"] == "user"] == ["first, edited"]
    assert contents(out["chatbot"])[0] == "first, edited" and len(state["conv"].messages) == 2
    answer = gr.EditData(None, {"index": 1, "value": "x", "previous_value": "y"})  # the model's answer: refused
    with pytest.raises(gr.Error, match="Only a user message"):
        list(hd.edit_message(state, lm, "", 0.0, 1.0, 8, [], [], 5, answer))
    cleared = hd.clear_chat(state)
    assert cleared["chatbot"] == [] and state["conv"].messages == []


def test_an_outgrown_history_drops_the_oldest_turn_and_says_so(lm):
    state = hd.new_state()
    long = " ".join(f"word{i}" for i in range(60))  # ~100+ tokens a turn in the tiny model's 256-token window
    send(state, lm, "alpha " + long)
    with pytest.warns(UserWarning, match="Left out to fit the context window"):  # gr.Warning outside a request
        out, _ = send(state, lm, "beta " + long)
        if not out["note"]:
            out, _ = send(state, lm, "gamma " + long)
    assert "Left out to fit the context window" in out["note"] and "“alpha word0" in out["note"]
    assert "alpha" not in out["prompt"] and "older message(s) left out" in out["stats"]
    assert contents(out["chatbot"])[0].startswith("alpha")  # the chat still shows it


def test_empty_message_and_missing_model_are_clear_errors(lm):
    state = hd.new_state()
    with pytest.raises(gr.Error, match="empty"):
        send(state, lm, "   ")
    with pytest.raises(gr.Error, match="Choose a model"):
        send(state, "", "hi")
    assert state["conv"].messages == []


def test_an_image_to_a_model_that_cannot_see_is_refused_and_the_chat_goes_on(lm, tmp_path):
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (8, 8), "red").save(path)
    state = hd.new_state()
    send(state, lm, "hi")
    with pytest.raises(gr.Error, match="(?i)image"):
        send(state, lm, "what is this?", image=str(path))
    assert len(state["conv"].messages) == 2  # rolled back to before the failed turn
    send(state, lm, "still here")
    assert len(state["conv"].messages) == 4


def test_a_failed_turn_leaves_the_page_showing_the_conversation_as_it_is(lm, tmp_path):
    # the page kept the failed turn's message and its "…" bubble (the last update before the error), though the
    # conversation had been rolled back, and the downloads emptied when the turn began stayed empty
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (8, 8), "red").save(path)
    state = hd.new_state()
    before, _ = send(state, lm, "hi")
    updates = []
    with pytest.raises(gr.Error, match="(?i)image"):
        for update in hd.send_message("what is this?", str(path), None, state, lm, "Be brief.", 0.0, 1.0, 8, [], [],
                                      5):
            updates.append(update)
    shown = [u["chatbot"] for u in updates if "chatbot" in u]
    assert len(shown[0]) > 2  # the turn was shown while it ran (its message and image, then "…")
    assert len(shown[-1]) == 2 and contents(shown[-1])[0] == "hi"  # and then the conversation as it is again
    files = [u["files"] for u in updates if "files" in u]
    assert files[0] is None and files[-1] == before["files"]  # with its downloads back (emptied while the turn ran)


def test_audio_is_transcribed_first_and_shown(lm, monkeypatch, tmp_path):
    from engines import speech

    heard = []
    monkeypatch.setattr(speech, "transcribe", lambda path, **kw: heard.append(path) or types.SimpleNamespace(
        text=" what time is it "))
    state = hd.new_state()
    out, _ = send(state, lm, "Please answer:", audio=str(tmp_path / "a.wav"))
    assert heard and out["transcript"] == "what time is it"
    assert state["conv"].messages[0]["content"] == "Please answer:\n\nwhat time is it"


def test_a_remote_model_streams_and_shows_the_json_request(remote_env):
    remote_env.script("chat-tab", "Hi, I am a fake model.")
    state = hd.new_state()
    out, _ = send(state, "openai:chat-tab", "Who are you?", temperature=0.5, top_p=0.9)
    assert contents(out["chatbot"])[-1] == "Hi, I am a fake model."
    request = json.loads(out["prompt"])
    assert request["model"] == "chat-tab" and request["messages"][-1] == {"role": "user", "content": "Who are you?"}
    assert request["top_p"] == 0.9 and request["temperature"] == 0.5


# ------------------------------------------------------------------------------------------------ tools


def _builtin(monkeypatch, run):
    """A stand-in for the built-in tools module (built in parallel): one tool, count_tokens, running ``run``."""
    from engines.assistant.tool import Tool

    tool = Tool("count_tokens", "Count the tokens of a text. Uses a tokenizer.",
                {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}, run)
    builtin = types.ModuleType("engines.assistant.builtin")
    builtin.builtin_tools = lambda settings=None, **kw: {"count_tokens": tool}
    monkeypatch.setitem(sys.modules, "engines.assistant.builtin", builtin)


def test_a_tool_turn_shows_each_step_with_its_arguments_result_and_image(monkeypatch, tmp_path, remote_env):
    from PIL import Image

    from engines.assistant.tool import ToolOutput

    picture = tmp_path / "made.png"
    Image.new("RGB", (8, 8), "blue").save(picture)
    got = []
    _builtin(monkeypatch, lambda args: got.append(args) or ToolOutput("2 tokens", images=[picture]))
    remote_env.script_tool_calls("tools-chat", ("count_tokens", '{"text": "hello"}'), then="It has 2 tokens.")
    state = hd.new_state()
    out, _ = send(state, "openai:tools-chat", "How many tokens in hello?", builtin=["count_tokens"], step_limit=3)
    assert got == [{"text": "hello"}]
    step = next(m for m in out["chatbot"] if m.metadata.get("title"))
    assert step.metadata["title"].startswith("🛠️ count_tokens · ") and step.metadata["title"].endswith(" s")
    assert '"text": "hello"' in step.content and "2 tokens" in step.content and "workbench" in step.content
    assert any(isinstance(m.content, gr.Image) for m in out["chatbot"])
    assert contents(out["chatbot"])[-1] == "It has 2 tokens." and "1 tool step(s)" in out["stats"]
    assert [m["role"] for m in state["conv"].messages] == ["user", "assistant", "tool", "assistant"]
    assert '"count_tokens"' in out["prompt"]  # the tools are in the JSON request shown
    assert "data-state='done'" in out["status"]
    data = json.loads(next(Path(f) for f in out["files"] if f.endswith(".json")).read_text())
    assert data["messages"][1]["tool_calls"][0]["function"]["name"] == "count_tokens"


def test_a_tool_error_goes_back_to_the_model_and_the_step_limit_is_a_warning(monkeypatch, remote_env):
    def broken(args):
        raise RuntimeError("the tokenizer is on fire")

    _builtin(monkeypatch, broken)
    remote_env.script_tool_calls("tools-limit", ("count_tokens", '{"text": "x"}'), then="I give up.")
    out, _ = send(hd.new_state(), "openai:tools-limit", "count", builtin=["count_tokens"], step_limit=1)
    step = next(m for m in out["chatbot"] if m.metadata.get("title"))
    assert step.metadata["title"].startswith("⚠️ count_tokens") and "on fire" in step.content
    assert "data-state='warning'" in out["status"] and "step limit" in out["status"]
    assert contents(out["chatbot"])[-1] == "I give up."


def test_a_model_that_cannot_call_tools_says_so_and_unknown_tools_are_refused(monkeypatch, lm):
    _builtin(monkeypatch, lambda args: "x")
    state = hd.new_state()
    with pytest.raises(gr.Error, match="takes no tools"):
        send(state, lm, "use a tool", builtin=["count_tokens"])
    assert state["conv"].messages == []
    with pytest.raises(gr.Error, match="Unknown built-in tool"):
        send(state, "openai:tools-fake", "use a tool", builtin=["nope"])


def test_mcp_connect_lists_tools_and_an_unreachable_server_is_a_clear_error(monkeypatch):
    from engines.assistant.tool import Tool

    mcp = types.ModuleType("engines.assistant.mcp_tools")

    def connect_mcp(url, headers=None):
        if "9" in url.rsplit(":", 1)[-1][:1]:
            raise ConnectionError("refused")
        return [Tool("tokenize", "Split text into tokens.", {"type": "object"}, lambda a: "", source=url)]

    mcp.connect_mcp = connect_mcp
    monkeypatch.setitem(sys.modules, "engines.assistant.mcp_tools", mcp)
    state = hd.new_state()
    out = hd.connect_mcp("http://127.0.0.1:7860/gradio_api/mcp/", state)
    assert "1 tool(s) found" in out["mcp_found"] and "**tokenize** (http://127.0.0.1:7860/gradio_api/mcp/)" \
        in out["mcp_found"]
    assert out["mcp_tools"].value == ["tokenize"] and [t.name for t in state["mcp"]] == ["tokenize"]
    with pytest.raises(gr.Error, match="Could not reach the MCP server at http://127.0.0.1:9/mcp"):
        hd.connect_mcp("http://127.0.0.1:9/mcp", state)
    with pytest.raises(gr.Error, match="starting with http"):
        hd.connect_mcp("file:///etc/passwd", state)


def test_the_chat_endpoint_function_continues_a_history(remote_env):
    remote_env.respond("chat-api-fn", lambda messages: f"seen {len(messages)} messages")
    out = hd.chat("Hi", [], "openai:chat-api-fn", "Be kind.", 16, 0.0)
    assert out["answer"] == "seen 2 messages"
    assert out["history"] == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"},
                              {"role": "assistant", "content": "seen 2 messages"}]
    again = hd.chat("More", out["history"], "openai:chat-api-fn", "", 16, 0.0)
    assert again["answer"] == "seen 4 messages" and len(again["history"]) == 5
    with pytest.raises(gr.Error, match="history item 1"):
        hd.chat("Hi", [{"role": "robot", "content": "x"}], "openai:chat-api-fn")
    with pytest.raises(gr.Error, match="empty"):
        hd.chat("", [], "openai:chat-api-fn")


def test_stop_keeps_the_answer_so_far(remote_env):
    remote_env.script("chat-slow", " ".join(f"w{i}" for i in range(400)), pace=0.05)
    state = hd.new_state()
    updates = []
    for update in hd.send_message("Go on and on", None, None, state, "openai:chat-slow", "", 0.0, 1.0, 512, [], [],
                                  5):
        updates.append(update)
        shown = update.get("chatbot")
        if shown and shown[-1].role == "assistant" and str(shown[-1].content).startswith("w0 w1"):
            hd.stop_chat(state)
    out = merged(updates)
    answer = state["conv"].messages[-1]["content"]
    assert "data-state='stopped'" in out["status"] and answer.startswith("w0 w1") and "w399" not in answer
    assert state["stop"] is None and [m["role"] for m in state["conv"].messages] == ["user", "assistant"]


@pytest.mark.parametrize("where", ["remote", "local"])
def test_a_stopped_answer_has_its_measured_numbers_not_zeros(where, request):
    # a stopped turn's line read "TTFT 0.00 s · 0.0 tokens/s · 0 tokens" under an answer of dozens of words: its
    # numbers came only from the engine's end-of-stream stats, which a stopped stream never sends
    if where == "remote":
        server = request.getfixturevalue("remote_env")
        server.script("chat-stop-stats", " ".join(f"w{i}" for i in range(400)), pace=0.02)
        model = "openai:chat-stop-stats"
    else:
        model = str(request.getfixturevalue("tiny")["lm-llama"])
    state = hd.new_state()
    warm = 1.0 if where == "local" else 0.0  # the tiny model's greedy answer is blank lines (not kept as an answer)
    for update in hd.send_message("Go on", None, None, state, model, "", warm, 1.0, 200, [], [], 5):
        shown = update.get("chatbot")
        if shown and shown[-1].role == "assistant" and len(str(shown[-1].content).strip()) >= 10:
            hd.stop_chat(state)
    answer, stats = state["conv"].messages[-1]["content"], state["conv"].stats[1]
    if where == "remote":
        assert stats.tokens == len(answer.split())  # one streamed chunk a word here, a token each
    else:
        from engines.tokenizers import get_tokenizer

        assert stats.tokens == len(get_tokenizer(model)(answer, add_special_tokens=False)["input_ids"])
    assert stats.stopped and stats.ttft_s > 0 and stats.tokens_per_s > 0 and stats.total_s >= stats.ttft_s
    line = hd.view.stats_markdown(state["conv"])
    assert f"{stats.tokens:,} tokens" in line and "0 tokens ·" not in line and "stopped" in line


def test_an_unreachable_mcp_server_with_the_real_client():
    with pytest.raises(gr.Error, match="127.0.0.1"):
        hd.connect_mcp("http://127.0.0.1:9/mcp", hd.new_state())


def test_a_stop_pressed_as_soon_as_thinking_shows_stops_that_turn(remote_env):
    """The turn made its stop flag when its body began, a step after "Thinking…" went out: a Stop in between
    found no flag and the turn went on to its end. ``on(..., stop_flag=state)`` puts the flag there first."""
    from tabs.common import run_state

    remote_env.script("chat-early", " ".join(f"w{i}" for i in range(400)), pace=0.05)
    state = hd.new_state()
    turn = run_state("status", (), "Thinking…", stop_flag=3)(hd.send_message)  # state: the 4th input
    run = turn("Go on and on", None, None, state, "openai:chat-early", "", 0.0, 1.0, 512, [], [], 5)
    assert "Thinking" in next(run)["status"]
    hd.stop_chat(state)  # Stop, as soon as the page shows "Thinking…"
    out = merged(list(run))
    assert "data-state='stopped'" in out["status"] and "w399" not in str(state["conv"].messages)
