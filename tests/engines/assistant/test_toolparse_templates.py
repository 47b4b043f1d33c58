"""The tool-call parser on the exact strings the real chat templates of Qwen2.5, Llama 3.1 and Mistral v0.3
produce (tests/support/templates, rendered by transformers' apply_chat_template on the tiny test tokenizer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tiny_models
from jinja2.exceptions import TemplateError

from engines.backends.toolparse import (
    HERMES,
    LLAMA3,
    MISTRAL,
    ToolStreamFilter,
    detect_style,
    parse_tool_calls,
    template_messages,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "support" / "templates"
STYLE_OF = {"qwen2.5-instruct": HERMES, "llama-3.1-instruct": LLAMA3, "mistral-7b-instruct-v0.3": MISTRAL}
END_OF_TURN = {"qwen2.5-instruct": "<|im_end|>", "llama-3.1-instruct": "<|eot_id|>",
               "mistral-7b-instruct-v0.3": "<|eot_id|>"}  # Mistral's template ends a call with eos_token
ANSWER_AFTER = {"qwen2.5-instruct": "<|im_start|>assistant\n",
                "llama-3.1-instruct": "<|start_header_id|>assistant<|end_header_id|>\n\n",
                "mistral-7b-instruct-v0.3": "[/INST]"}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city now.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"},
                                                    "unit": {"type": "string", "enum": ["C", "F"]}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a time zone.",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}
USER = [{"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is the weather in Paris, and the time in Tokyo?"}]


@pytest.fixture(scope="module")
def tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny["tok-llama"])


def render(tokenizer, name: str, messages: list[dict], *, generation_prompt: bool = True) -> str:
    tokenizer.chat_template = (TEMPLATES / f"{name}.jinja").read_text()
    return tokenizer.apply_chat_template(messages, tools=[WEATHER, TIME], tokenize=False,
                                         add_generation_prompt=generation_prompt)


def history(*calls: tuple[str, str, str]) -> list[dict]:
    """USER, then an assistant message with ``calls`` (OpenAI form: arguments as JSON text) and their results."""
    return [*USER,
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in calls]},
            *({"role": "tool", "tool_call_id": cid, "name": name, "content": f"result of {name}"}
              for cid, name, _ in calls)]


def model_answer(tokenizer, name: str, *calls: tuple[str, str, str]) -> str:
    """What the template writes for the assistant's calls: the exact text the model is trained to generate."""
    style = STYLE_OF[name]
    prompt = render(tokenizer, name, template_messages(USER, style))
    full = render(tokenizer, name, template_messages(history(*calls), style), generation_prompt=False)
    assert prompt.endswith(ANSWER_AFTER[name])
    if style != MISTRAL:  # Mistral's template puts the system prompt in the last user message only
        assert full.startswith(prompt)
    answer = full[full.rindex(ANSWER_AFTER[name]) + len(ANSWER_AFTER[name]):]
    return answer.split(END_OF_TURN[name])[0]


@pytest.mark.parametrize("name", sorted(STYLE_OF))
def test_detect_style_of_the_real_templates(name):
    assert detect_style((TEMPLATES / f"{name}.jinja").read_text()) == STYLE_OF[name]


def test_templates_without_tools_have_no_style():
    assert detect_style(tiny_models.LLAMA3_TEMPLATE) is None
    assert detect_style(tiny_models.GEMMA_TEMPLATE) is None
    assert detect_style(None) is None and detect_style("") is None
    glm_like = "{% if tools %}<tool_call>{{ name }}<arg_key>{{ k }}</arg_key>{% endif %}"
    assert detect_style(glm_like) is None  # a format this parser does not read


def test_qwen_answer_in_the_format_its_prompt_asks_for(tokenizer):
    prompt = render(tokenizer, "qwen2.5-instruct", USER)
    asked = '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    assert asked in prompt and json.dumps(WEATHER) in prompt
    def call(name: str, args: str) -> str:
        return asked.replace("<function-name>", f'"{name}"').replace("<args-json-object>", args)

    answer = "I'll look both up.\n" + call("get_weather", '{"city": "Paris"}') + "\n" + call(
        "get_time", '{"tz":"Asia/Tokyo"}')
    content, calls = parse_tool_calls(answer, HERMES)
    assert content == "I'll look both up."
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_1", "get_weather", '{"city": "Paris"}'), ("call_2", "get_time", '{"tz":"Asia/Tokyo"}')]


def test_llama_answer_in_the_format_its_prompt_asks_for(tokenizer):
    prompt = render(tokenizer, "llama-3.1-instruct", USER)
    asked = '{"name": function name, "parameters": dictionary of argument name and its value}'
    assert asked in prompt and "Environment: ipython" in prompt
    answer = asked.replace("function name", '"get_weather"').replace(
        "dictionary of argument name and its value", '{"city": "Paris", "unit": "C"}')
    assert parse_tool_calls(answer, LLAMA3)[1][0].arguments == '{"city": "Paris", "unit": "C"}'
    content, calls = parse_tool_calls("<|python_tag|>" + answer + "<|eom_id|>", LLAMA3)
    assert content == ""
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", '{"city": "Paris", "unit": "C"}')]
    plain = "Paris is sunny today."
    assert parse_tool_calls(plain, LLAMA3) == (plain, [])
    json_answer = '{"city": "Paris", "temperature": 18}'  # JSON the user asked for is no call
    assert parse_tool_calls(json_answer, LLAMA3) == (json_answer, [])


def test_mistral_prompt_lists_the_tools_before_the_last_user_message(tokenizer):
    prompt = render(tokenizer, "mistral-7b-instruct-v0.3", USER)
    assert prompt.startswith('<|begin_of_text|>[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": '
                             '"get_weather"')
    assert prompt.endswith("[/AVAILABLE_TOOLS][INST] You answer briefly.\n\nWhat is the weather in Paris, and the "
                           "time in Tokyo?[/INST]")


@pytest.mark.parametrize("name", sorted(STYLE_OF))
def test_the_calls_the_template_writes_parse_back(tokenizer, name):
    answer = model_answer(tokenizer, name, ("call_1", "get_weather", '{"city": "Paris", "unit": "C"}'))
    content, calls = parse_tool_calls(answer, STYLE_OF[name])
    assert content == ""
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"city": "Paris", "unit": "C"}
    expected = {HERMES: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}\n'
                        '</tool_call>',
                LLAMA3: '{"name": "get_weather", "parameters": {"city": "Paris", "unit": "C"}}',
                MISTRAL: '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}, "id": '}
    assert answer.strip().startswith(expected[STYLE_OF[name]])


@pytest.mark.parametrize("name", ["qwen2.5-instruct", "mistral-7b-instruct-v0.3"])
def test_two_parallel_calls_parse_back_in_order(tokenizer, name):
    answer = model_answer(tokenizer, name, ("call_1", "get_weather", '{"city": "Paris"}'),
                          ("call_2", "get_time", '{"tz": "Asia/Tokyo"}'))
    _, calls = parse_tool_calls(answer, STYLE_OF[name])
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Asia/Tokyo"})]
    assert len({c.id for c in calls}) == 2


def test_string_arguments_would_render_quoted_without_template_messages(tokenizer):
    raw = render(tokenizer, "qwen2.5-instruct", history(("call_1", "get_weather", '{"city": "Paris"}')))
    assert '"arguments": "{\\"city\\": \\"Paris\\"}"' in raw  # why template_messages turns them into dicts
    shaped = render(tokenizer, "qwen2.5-instruct",
                    template_messages(history(("call_1", "get_weather", '{"city": "Paris"}')), HERMES))
    assert '"arguments": {"city": "Paris"}' in shaped
    assert "<|im_start|>user\n<tool_response>\nresult of get_weather\n</tool_response><|im_end|>" in shaped


def test_mistral_needs_nine_character_ids(tokenizer):
    calls = (("call_1", "get_weather", '{"city": "Paris"}'),)
    with pytest.raises(TemplateError, match="length 9"):
        render(tokenizer, "mistral-7b-instruct-v0.3", history(*calls))
    text = render(tokenizer, "mistral-7b-instruct-v0.3", template_messages(history(*calls), MISTRAL))
    call_id = parse_tool_calls(text[text.index("[TOOL_CALLS]"):text.index("<|eot_id|>")], MISTRAL)[1][0].id
    assert len(call_id) == 9 and call_id.isalnum()
    assert f'[TOOL_RESULTS] {{"content": result of get_weather, "call_id": "{call_id}"}}[/TOOL_RESULTS]' in text


def test_llama_takes_one_call_per_message(tokenizer):
    calls = (("call_1", "get_weather", '{"city": "Paris"}'), ("call_2", "get_time", '{"tz": "Asia/Tokyo"}'))
    with pytest.raises(TemplateError, match="single tool-calls"):
        render(tokenizer, "llama-3.1-instruct", history(*calls))
    text = render(tokenizer, "llama-3.1-instruct", template_messages(history(*calls), LLAMA3))
    first = text.index('{"name": "get_weather", "parameters": {"city": "Paris"}}')
    assert first < text.index('"result of get_weather"') < text.index('{"name": "get_time"') \
        < text.index('"result of get_time"')


@pytest.mark.parametrize("name", sorted(STYLE_OF))
@pytest.mark.parametrize("step", [1, 3, 7])
def test_streamed_answer_never_shows_a_call(tokenizer, name, step):
    style = STYLE_OF[name]
    lead = "Let me check that. " if style != LLAMA3 else ""
    answer = lead + model_answer(tokenizer, name, ("call_1", "get_weather", '{"city": "Paris"}'),
                                 *([("call_2", "get_time", '{"tz": "Asia/Tokyo"}')] if style != LLAMA3 else []))
    stream = ToolStreamFilter(style)
    shown = "".join(stream.feed(answer[i:i + step]) for i in range(0, len(answer), step))
    rest, calls = stream.finish()
    assert shown + rest == lead
    assert calls == parse_tool_calls(answer, style)[1] and calls
    for piece in ("<tool", "[TOOL", "{", "get_weather"):
        assert piece not in shown
