"""run_turn with a scripted chat function (no model): every tool round, the history it builds, the step limit,
and Stop."""

from __future__ import annotations

import json
import threading

from engines.assistant import (
    Notice,
    TextDelta,
    Tool,
    Toolbox,
    ToolStart,
    ToolStep,
    TurnDone,
    run_turn,
)
from engines.backends.types import ChatChunk, GenerationStats, ToolCall

USER = [{"role": "user", "content": "Weather in Paris and Rome?"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def stats(reason: str) -> GenerationStats:
    return GenerationStats(load_s=0, ttft_s=0.01, tokens=5, tokens_per_s=50, total_s=0.1, finish_reason=reason)


def say(*pieces: str) -> list[ChatChunk]:
    return [ChatChunk(text=p) for p in pieces] + [ChatChunk(text="", stats=stats("stop"))]


def ask(*calls: tuple[str, str], text: str = "") -> list[ChatChunk]:
    chunks = [ChatChunk(text=text)] if text else []
    chunks.append(ChatChunk(text="", tool_calls=[ToolCall(id=f"call_{i + 1}", name=n, arguments=a)
                                                 for i, (n, a) in enumerate(calls)]))
    return chunks + [ChatChunk(text="", stats=stats("tool_calls"))]


class ScriptedChat:
    """A fake stream_chat: each request gets the next scripted answer; records what it was asked."""

    def __init__(self, *answers: list[ChatChunk]):
        self.answers = list(answers)
        self.requests: list[dict] = []
        self.closed = 0
        self.streams: list = []

    def __call__(self, model, messages, **kwargs):
        self.requests.append({"model": model, "messages": [dict(m) for m in messages], **kwargs})
        answer = self.answers.pop(0) if self.answers else ask(("get_weather", '{"city": "Oslo"}'))
        stream = self._stream(answer)
        self.streams.append(stream)  # kept alive: only an explicit close() (not garbage collection) closes it
        return stream

    def _stream(self, answer):
        try:
            yield from answer
        finally:
            self.closed += 1


def weather_box(**kwargs) -> Toolbox:
    return Toolbox([Tool("get_weather", "Weather in a city.", CITY, lambda a: f"{a['city']}: sunny", **kwargs)])


def run(chat: ScriptedChat, toolbox: Toolbox | None = None, **kwargs) -> list:
    toolbox = weather_box() if toolbox is None else toolbox
    return list(run_turn("tiny-model", USER, toolbox, chat=chat, temperature=0.0, **kwargs))


def test_no_tool_call_is_a_plain_turn():
    chat = ScriptedChat(say("It is ", "sunny."))
    events = run(chat)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["It is ", "sunny."]
    done = events[-1]
    assert isinstance(done, TurnDone) and not done.stopped_by_limit and len(done.stats) == 1
    assert done.messages == [*USER, {"role": "assistant", "content": "It is sunny."}]
    assert chat.requests[0]["tools"][0]["function"]["name"] == "get_weather"
    assert chat.requests[0]["temperature"] == 0.0 and chat.requests[0]["model"] == "tiny-model"


def test_one_call_then_the_answer():
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}'), text="Let me check."), say("Sunny in Paris."))
    events = run(chat)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["TextDelta", "ToolStart", "ToolStep", "TextDelta", "TurnDone"]
    step = events[2].result
    assert step.ok and step.text == "Paris: sunny" and step.call.arguments == '{"city": "Paris"}'
    done = events[-1]
    assert done.messages == [
        *USER,
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "Paris: sunny"},
        {"role": "assistant", "content": "Sunny in Paris."}]
    assert chat.requests[1]["messages"] == done.messages[:-1]  # the second request saw the tool result
    assert [s.finish_reason for s in done.stats] == ["tool_calls", "stop"]


def test_two_parallel_calls_run_in_order_and_answer_by_id():
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Rome"}')),
                        say("Both sunny."))
    events = run(chat)
    steps = [e.result for e in events if isinstance(e, ToolStep)]
    assert [(s.call.id, s.text) for s in steps] == [("call_1", "Paris: sunny"), ("call_2", "Rome: sunny")]
    tools = [m for m in events[-1].messages if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tools] == [
        ("call_1", "Paris: sunny"), ("call_2", "Rome: sunny")]


def test_bad_json_goes_back_to_the_model_as_the_tool_result():
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"')), say("Sorry."))
    events = run(chat)
    step = next(e.result for e in events if isinstance(e, ToolStep))
    assert not step.ok and "not valid JSON" in step.error
    tool_message = chat.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"].startswith("Error: the arguments are not valid")
    assert events[-1].messages[-1] == {"role": "assistant", "content": "Sorry."}


def test_unknown_tool_and_missing_argument():
    chat = ScriptedChat(ask(("get_wether", '{"city": "Paris"}'), ("get_weather", "{}")), say("Ok."))
    steps = [e.result for e in run(chat) if isinstance(e, ToolStep)]
    assert steps[0].error == "there is no tool named 'get_wether'. The tools are: get_weather."
    assert "missing required argument 'city'" in steps[1].error


def test_a_tool_error_does_not_end_the_turn():
    def broken(args):
        raise RuntimeError("the weather service is down")

    toolbox = Toolbox([Tool("get_weather", "w", CITY, broken)])
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}')), say("The service is down."))
    events = run(chat, toolbox)
    step = next(e.result for e in events if isinstance(e, ToolStep))
    assert step.error == "get_weather failed: RuntimeError: the weather service is down"
    assert chat.requests[1]["messages"][-1]["content"] == "Error: " + step.error
    assert isinstance(events[-1], TurnDone)


def test_a_tool_timeout_is_reported_and_the_turn_goes_on():
    release = threading.Event()
    toolbox = Toolbox([Tool("get_weather", "w", CITY, lambda a: release.wait(30) and "late", timeout_s=0.1)])
    try:
        chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}')), say("It timed out."))
        events = run(chat, toolbox)
    finally:
        release.set()
    step = next(e.result for e in events if isinstance(e, ToolStep))
    assert step.error == "get_weather did not finish within 0.1 s and was given up."
    assert events[-1].messages[-1]["content"] == "It timed out."


def test_endless_calls_stop_at_the_limit_and_ask_for_an_answer_without_tools():
    chat = ScriptedChat(*[ask(("get_weather", json.dumps({"city": f"City {i}"}))) for i in range(3)],
                        say("Here is what I found."))
    events = run(chat, step_limit=3)
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["the model kept calling tools: stopped after 3 steps; asking it for a final answer "
                       "without tools"]
    assert [("tools" in r) for r in chat.requests] == [True, True, True, False]
    done = events[-1]
    assert done.stopped_by_limit and done.messages[-1] == {"role": "assistant", "content": "Here is what I found."}
    ids = [c["id"] for m in done.messages for c in m.get("tool_calls") or []]
    assert len(ids) == 3 and len(set(ids)) == 3  # each round numbers from call_1: made unique in the history
    tool_ids = [m["tool_call_id"] for m in done.messages if m["role"] == "tool"]
    assert tool_ids == ids


def test_calls_after_the_limit_are_not_run():
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}')), ask(("get_weather", '{"city": "Rome"}')))
    events = run(chat, step_limit=1)
    assert len([e for e in events if isinstance(e, ToolStep)]) == 1
    assert events[-2].text == ("the model asked for tools again (get_weather) after the step limit: "
                               "those calls were not run")
    assert events[-1].stopped_by_limit and events[-1].messages[-1] == {"role": "assistant", "content": ""}


def test_an_empty_toolbox_offers_no_tools():
    chat = ScriptedChat(say("Hi."))
    run(chat, Toolbox([]))
    assert "tools" not in chat.requests[0]


def test_backend_notices_pass_through():
    chat = ScriptedChat([ChatChunk(text="", notice="4-bit is not available: loaded in bf16"), *say("Hi.")])
    events = run(chat)
    assert isinstance(events[0], Notice) and events[0].text == "4-bit is not available: loaded in bf16"


def test_stop_mid_stream_closes_the_model_stream():
    chat = ScriptedChat(say("one ", "two ", "three"))
    turn = run_turn("tiny-model", USER, weather_box(), chat=chat)
    assert next(turn) == TextDelta("one ")
    turn.close()
    assert chat.closed == 1
    assert chat.answers == []


def test_stop_after_a_tool_step_runs_no_more_requests():
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}')), say("Sunny."))
    turn = run_turn("tiny-model", USER, weather_box(), chat=chat)
    for event in turn:
        if isinstance(event, ToolStart):
            break
    turn.close()
    assert len(chat.requests) == 1 and chat.closed == 1


def test_the_given_history_is_not_modified():
    history = [dict(m) for m in USER]
    chat = ScriptedChat(ask(("get_weather", '{"city": "Paris"}')), say("Sunny."))
    list(run_turn("tiny-model", history, weather_box(), chat=chat))
    assert history == USER
