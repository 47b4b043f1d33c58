"""The tool-call parser on the shapes models write besides the happy path: malformed JSON inside a marker, the
newer Mistral format, a dropped marker token, text around calls, markers split across stream deltas."""

from __future__ import annotations

import pytest

from engines.backends.toolparse import (
    HERMES,
    LLAMA3,
    MISTRAL,
    ToolStreamFilter,
    parse_tool_calls,
    template_messages,
)


def calls_of(text: str, style: str) -> list[tuple[str, str, str]]:
    return [(c.id, c.name, c.arguments) for c in parse_tool_calls(text, style)[1]]


def test_malformed_json_inside_a_marker_is_still_a_call_with_the_raw_text():
    bad = '{"name": "get_weather", "arguments": {"city": "Paris"}'  # one brace short
    assert calls_of(f"<tool_call>\n{bad}\n</tool_call>", HERMES) == [("call_1", "get_weather", bad)]
    assert calls_of(f"<|python_tag|>{bad}", LLAMA3) == [("call_1", "get_weather", bad)]
    assert calls_of(f"[TOOL_CALLS] [{bad}", MISTRAL) == [("call_1", "get_weather", f"[{bad}")]
    assert calls_of("<tool_call>\nget_weather(city='Paris')\n</tool_call>", HERMES) == [
        ("call_1", "", "get_weather(city='Paris')")]


def test_a_call_cut_off_before_its_closing_tag():
    text = 'On it.<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}'
    assert parse_tool_calls(text, HERMES) == ("On it.", parse_tool_calls(text, HERMES)[1])
    assert calls_of(text, HERMES) == [("call_1", "get_time", '{"tz": "UTC"}')]


def test_arguments_are_kept_as_written():
    text = '<tool_call>\n{"name": "f", "arguments": {"b":  2, "a": [1,2], "s": "caf\\u00e9"}}\n</tool_call>'
    assert calls_of(text, HERMES)[0][2] == '{"b":  2, "a": [1,2], "s": "caf\\u00e9"}'
    as_string = '<tool_call>\n{"name": "f", "arguments": "{\\"a\\": 1}"}\n</tool_call>'  # the OpenAI habit
    assert calls_of(as_string, HERMES)[0][2] == '{"a": 1}'
    assert calls_of('<tool_call>{"name": "now"}</tool_call>', HERMES) == [("call_1", "now", "{}")]


def test_hermes_text_between_and_after_calls_is_content():
    text = ('First.\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\nthen\n'
            '<tool_call>\n{"name": "b", "arguments": {"x": 1}}\n</tool_call> done')
    content, calls = parse_tool_calls(text, HERMES)
    assert content == "First.\n\nthen\n done"
    assert [(c.id, c.name) for c in calls] == [("call_1", "a"), ("call_2", "b")]
    assert parse_tool_calls("no calls here", HERMES) == ("no calls here", [])


def test_llama_several_calls_and_trailing_text():
    text = '{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {}}'
    assert calls_of(text, LLAMA3) == [("call_1", "a", '{"x": 1}'), ("call_2", "b", "{}")]
    content, calls = parse_tool_calls('{"name": "a", "parameters": {}} I will wait.', LLAMA3)
    assert content == "I will wait." and [c.name for c in calls] == ["a"]
    person = '{"name": "Ada", "born": 1815}'  # a JSON answer with a "name" is no call
    assert parse_tool_calls(person, LLAMA3) == (person, [])
    assert parse_tool_calls('{"name": "Ada", "born": ', LLAMA3) == ('{"name": "Ada", "born": ', [])


def test_mistral_newer_format_with_and_without_call_ids():
    text = '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{"tz": "UTC"}'
    assert calls_of(text, MISTRAL) == [("call_1", "get_weather", '{"city": "Paris"}'),
                                       ("a1b2c3d4e", "get_time", '{"tz": "UTC"}')]
    assert calls_of("[TOOL_CALLS]get_weather[ARGS]{city: Paris}", MISTRAL) == [
        ("call_1", "get_weather", "{city: Paris}")]


def test_mistral_marker_dropped_by_the_decoder():
    bare = '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
    assert calls_of(bare, MISTRAL) == [("call_1", "get_weather", '{"city": "Paris"}')]
    for answer in ('[1, 2, 3] are the numbers.', '[{"a": 1}] is a list.', "Plain [text]."):
        assert parse_tool_calls(answer, MISTRAL) == (answer, [])


def test_mistral_text_before_the_calls():
    content, calls = parse_tool_calls('Sure.[TOOL_CALLS] [{"name": "a", "arguments": {}}]', MISTRAL)
    assert content == "Sure." and calls[0].name == "a"


@pytest.mark.parametrize(("style", "text", "shown"), [
    (HERMES, "The answer is 4 < 5 and <tool> tags are fine.", "The answer is 4 < 5 and <tool> tags are fine."),
    (HERMES, 'Checking <tool_call>{"name": "a", "arguments": {}}</tool_call>', "Checking "),
    (MISTRAL, "Use [TOOLS] or [1] freely.", "Use [TOOLS] or [1] freely."),
    (MISTRAL, 'Ok [TOOL_CALLS]a[ARGS]{}', "Ok "),
    (LLAMA3, "  Paris is sunny.", "  Paris is sunny."),
    (LLAMA3, '<|python_tag|>{"name": "a", "parameters": {}}', ""),
])
def test_stream_filter_holds_back_only_possible_markers(style, text, shown):
    stream = ToolStreamFilter(style)
    out = []
    for ch in text:
        out.append(stream.feed(ch))
        visible = "".join(out)
        assert text.startswith(visible)
        for marker in ("<tool_call>", "[TOOL_CALLS]", "<|python_tag|>"):
            assert marker not in visible
    rest, calls = stream.finish()
    assert "".join(out) + rest == (shown if calls else text)
    assert bool(calls) == (shown != text)


def test_stream_filter_shows_text_as_soon_as_it_cannot_be_a_marker():
    stream = ToolStreamFilter(HERMES)
    assert stream.feed("Hello <to") == "Hello "
    assert stream.feed("ol>") == "<tool>"
    stream = ToolStreamFilter(LLAMA3)
    assert stream.feed("  ") == ""  # could still open a call
    assert stream.feed("Hi") == "  Hi"
    stream = ToolStreamFilter(LLAMA3)
    assert stream.feed('{"result"') == ""  # held until the end: JSON at the start may be a call
    assert stream.finish() == ('{"result"', [])


def test_unknown_style():
    with pytest.raises(ValueError, match="unknown tool-call style"):
        parse_tool_calls("x", "gemma")
    with pytest.raises(ValueError, match="unknown tool-call style"):
        ToolStreamFilter("gemma")


def test_template_messages_leaves_the_given_history_alone():
    messages = [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "name": "a", "content": "1"}]
    before = repr(messages)
    shaped = template_messages(messages, MISTRAL)
    assert repr(messages) == before
    assert shaped[1]["tool_calls"][0]["function"]["arguments"] == {"x": 1}
    assert shaped[1]["tool_calls"][0]["id"] == shaped[2]["tool_call_id"] != "call_1"
    bad = [{**messages[1], "tool_calls": [{"id": "c", "type": "function",
                                           "function": {"name": "a", "arguments": "{oops"}}]}]
    assert template_messages(bad, HERMES)[0]["tool_calls"][0]["function"]["arguments"] == "{oops"
