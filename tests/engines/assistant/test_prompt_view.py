""""The prompt as the model sees it" with tools on: a local model's chat template rendered WITH the tools' schemas
(the real Qwen2.5 template on a tiny model), token for token the prompt the local backend generates from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engines.assistant import Tool, Toolbox
from engines.assistant.conversation import Conversation
from engines.assistant.session import Done, prompt_view, stream_turn
from engines.errors import Unsupported
from engines.tokenizers import render_chat

TEMPLATES = Path(__file__).resolve().parents[2] / "support" / "templates"
CITY = {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
        "required": ["city"]}
DESCRIPTION = "The weather in a city now, in degrees Celsius."
# an earlier turn that called the tool: the view must render the call and its result as the model reads them
EARLIER = [{"role": "user", "content": "Weather in Oslo?"},
           {"role": "assistant", "content": "", "tool_calls": [
               {"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
           {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "Oslo: snow, -3 C"},
           {"role": "assistant", "content": "It snows in Oslo."}]


def weather() -> Toolbox:
    return Toolbox([Tool("get_weather", DESCRIPTION, CITY, lambda a: f"{a['city']}: sunny, 21 C")])


@pytest.fixture()
def qwen_local(tiny, tmp_path, monkeypatch):
    """A tiny local model wearing the real Qwen2.5 template; its generation records the prompt ids it was given."""
    from transformers import AutoTokenizer

    from engines.assistant import session
    from engines.backends import transformers_local

    seen: list[list[int]] = []

    def fake_generate(lm, ids, max_new_tokens, temperature, stats, top_p=None, keep_special=False):
        seen.append(list(ids))
        yield "It is sunny."

    monkeypatch.setattr(transformers_local, "generate_stream", fake_generate)
    monkeypatch.setattr(transformers_local, "context_window", lambda ref, lm: 4096)  # real templates > 256 tokens
    monkeypatch.setattr(session, "window_of", lambda model, settings=None: 4096)
    folder = tmp_path / "qwen-template"
    shutil.copytree(tiny["lm-llama"], folder)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = (TEMPLATES / "qwen2.5-instruct.jinja").read_text()
    tok.save_pretrained(folder)
    return str(folder), tok, seen


def test_shown_prompt_holds_the_tools_as_qwen_renders_them(qwen_local):
    model, _, _ = qwen_local
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    schemas = weather().schemas()
    text, language = prompt_view(model, messages, max_new_tokens=64, temperature=0.0, tools=schemas)
    assert language == "text"
    # Qwen2.5's template: its tool instructions, then each schema as JSON (tojson) between <tools> tags
    assert "# Tools\n\nYou may call one or more functions to assist with the user query." in text
    assert f"<tools>\n{json.dumps(schemas[0], ensure_ascii=False)}\n</tools>" in text
    assert '"name": "get_weather"' in text and DESCRIPTION in text
    without, _ = prompt_view(model, messages, max_new_tokens=64, temperature=0.0)
    assert "get_weather" not in without and "<tools>" not in without


def test_shown_prompt_is_token_for_token_what_the_model_reads(qwen_local):
    model, tok, seen = qwen_local
    conv = Conversation(system="Be brief.", messages=[dict(m) for m in EARLIER], model=model)
    conv.add_user("And in Paris?")
    toolbox = weather()
    events = list(stream_turn(conv, toolbox=toolbox, max_new_tokens=64))
    assert not events[0].dropped and len(events[0].messages) == 1 + len(EARLIER) + 1
    assert isinstance(events[-1], Done) and events[-1].messages[-1]["content"] == "It is sunny."
    assert len(seen) == 1  # one model request: no tool call in the scripted answer
    text, _ = prompt_view(model, events[0].messages, max_new_tokens=64, temperature=0.0, tools=toolbox.schemas())
    assert tok(text, add_special_tokens=False)["input_ids"] == seen[0]
    # the earlier call and its result, rendered the way the template writes them (arguments as JSON, not a string)
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in text
    assert "<tool_response>\nOslo: snow, -3 C\n</tool_response>" in text


def test_the_chat_tab_shows_the_prompt_with_the_tools(qwen_local):
    from tabs.chat import handlers

    model, _, _ = qwen_local
    shown = handlers._prompt(model, [{"role": "user", "content": "Weather in Paris?"}],
                             {"max_new_tokens": 64, "temperature": 0.0}, weather())
    assert "<tools>" in shown and DESCRIPTION in shown


def test_render_chat_refuses_tools_a_template_cannot_take(tiny):
    # the tiny Llama tokenizer's own template has no tool support: offering tools is refused, as the backend does
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(Unsupported, match="takes no tools"):
        render_chat(str(tiny["tok-llama"]), messages, tools=weather().schemas())
    assert render_chat(str(tiny["tok-llama"]), messages, tools=None) == render_chat(str(tiny["tok-llama"]), messages)


def test_the_window_fit_counts_the_tools_schemas(qwen_local):
    from engines.assistant.session import counter_for
    from engines.tokenizers import render_chat_detail

    model, _, _ = qwen_local
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    schemas = weather().schemas()
    with_tools = counter_for(model, schemas)(msgs)
    assert with_tools == len(render_chat_detail(model, msgs, tools=schemas).ids)
    assert with_tools > counter_for(model)(msgs) + 20  # the schema block is dozens of tokens
    assert counter_for("openai:gpt-4o-mini", schemas)(msgs) > counter_for("openai:gpt-4o-mini")(msgs)
