"""Toolbox.call never raises: every bad call becomes an error result the model can read."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from engines import errors
from engines.assistant import Tool, Toolbox, ToolOutput, validate_arguments
from engines.backends.types import ToolCall

WEATHER_SCHEMA = {"type": "object",
                  "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                 "unit": {"type": "string", "enum": ["C", "F"]},
                                 "hours": {"type": "array", "items": {"type": "integer"}},
                                 "where": {"type": "object", "properties": {"lat": {"type": "number"}}}},
                  "required": ["city"]}


def weather(args: dict) -> str:
    return f"{args['city']}: sunny for {args.get('days', 1)} day(s)"


def box(*extra: Tool) -> Toolbox:
    return Toolbox([Tool("get_weather", "Weather in a city.", WEATHER_SCHEMA, weather), *extra])


def call(name: str, arguments: str) -> ToolCall:
    return ToolCall(id="call_1", name=name, arguments=arguments)


def test_a_good_call_returns_the_tool_text_and_its_time():
    result = box().call(call("get_weather", '{"city": "Paris", "days": 2}'))
    assert result.ok and result.text == "Paris: sunny for 2 day(s)" and result.error == ""
    assert result.source == "workbench" and result.seconds >= 0
    assert result.message() == {"role": "tool", "tool_call_id": "call_1", "name": "get_weather",
                                "content": "Paris: sunny for 2 day(s)"}


def test_schemas_and_lookup():
    toolbox = box()
    assert toolbox.schemas() == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city.", "parameters": WEATHER_SCHEMA}}]
    assert toolbox.get("get_weather").name == "get_weather" and toolbox.get("nope") is None
    assert len(toolbox) == 1 and toolbox.names() == ["get_weather"] and not Toolbox([])
    with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
        box(Tool("get_weather", "again", {}, weather, source="http://mcp.example/mcp"))


def test_unknown_tool_names_the_tools_there_are():
    result = box().call(call("get_wether", '{"city": "Paris"}'))
    assert not result.ok and result.source == ""
    assert result.error == "there is no tool named 'get_wether'. The tools are: get_weather."
    assert result.for_model() == "Error: " + result.error


def test_a_call_without_a_name_quotes_what_was_written():
    result = box().call(call("", "get_weather(city='Paris')"))
    assert not result.ok and "could not be read" in result.error and "get_weather(city='Paris')" in result.error


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"city": "Paris"', "the arguments are not valid JSON"),
    ('["Paris"]', "the arguments must be a JSON object"),
    ('{"days": 2}', "missing required argument 'city'"),
    ('{"city": 7}', "argument 'city' must be string, not integer"),
    ('{"city": "Paris", "days": "two"}', "argument 'days' must be integer, not string"),
    ('{"city": "Paris", "days": true}', "argument 'days' must be integer, not boolean"),
    ('{"city": "Paris", "unit": "K"}', "argument 'unit' must be one of 'C', 'F'"),
    ('{"city": "Paris", "hours": [1, "2"]}', "argument 'hours[1]' must be integer, not string"),
    ('{"city": "Paris", "where": {"lat": "north"}}', "argument 'where.lat' must be number, not string"),
])
def test_bad_arguments_are_explained_and_the_tool_does_not_run(arguments, expected):
    ran = []
    toolbox = Toolbox([Tool("get_weather", "w", WEATHER_SCHEMA, lambda a: ran.append(a) or "ran")])
    result = toolbox.call(call("get_weather", arguments))
    assert not result.ok and expected in result.error and "get_weather" in result.error
    assert ran == []


def test_validate_arguments_accepts_what_fits():
    assert validate_arguments({"city": "Paris", "days": 3.0, "hours": [1, 2], "where": {"lat": 48}},
                              WEATHER_SCHEMA) == []
    strict = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}, "additionalProperties": False}
    assert validate_arguments({"a": None}, strict) == []
    assert validate_arguments({"a": "x", "b": 1}, strict) == ["unknown argument 'b' (the arguments are: a)"]


def test_a_tool_that_raises_gives_one_line_without_paths_or_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-123456")

    def broken(args):
        raise OSError(f"cannot open /srv/workbench/data/users/secret.db with key {os.environ['OPENAI_API_KEY']}")

    result = box(Tool("broken", "b", {"type": "object"}, broken)).call(call("broken", "{}"))
    assert not result.ok
    assert result.error == "broken failed: OSError: cannot open …/secret.db with key <OPENAI_API_KEY>"
    assert "Traceback" not in result.error and "/srv" not in result.error


def test_a_workbench_error_keeps_its_own_message():
    def refuse(args):
        raise errors.InvalidInput("The prompt is empty: write a user message.")

    result = box(Tool("refuse", "r", {"type": "object"}, refuse)).call(call("refuse", "{}"))
    assert result.error == "refuse failed: The prompt is empty: write a user message."


def test_a_tool_past_its_timeout_is_given_up():
    release = threading.Event()
    slow = Tool("slow", "s", {"type": "object"}, lambda args: release.wait(30) and "late", timeout_s=0.2)
    try:
        result = box(slow).call(call("slow", "{}"))
        assert not result.ok and result.error == "slow did not finish within 0.2 s and was given up."
        assert result.seconds >= 0.2
    finally:
        release.set()


def test_tool_output_files_and_other_return_values(tmp_path):
    image = tmp_path / "cat.png"
    toolbox = box(Tool("draw", "d", {"type": "object"}, lambda a: ToolOutput("drew a cat", images=[image])),
                  Tool("count", "c", {"type": "object"}, lambda a: 42),
                  Tool("nothing", "n", {"type": "object"}, lambda a: None))
    drawn = toolbox.call(call("draw", "{}"))
    assert drawn.ok and drawn.text == "drew a cat" and drawn.images == [Path(image)] and drawn.audio == []
    assert toolbox.call(call("count", "{}")).text == "42"
    assert toolbox.call(call("nothing", "{}")).text == ""
