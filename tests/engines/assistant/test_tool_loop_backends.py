"""run_turn through the real stream_chat: an OpenAI-compatible server streaming tool_calls (the fake server), and a
local tiny model wearing a real tool template (Qwen2.5, Mistral v0.3) whose generation is scripted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engines.assistant import Notice, Tool, Toolbox, ToolStep, TurnDone, run_turn

TEMPLATES = Path(__file__).resolve().parents[2] / "support" / "templates"
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the weather in Paris?"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def weather() -> Toolbox:
    return Toolbox([Tool("get_weather", "Weather of a city", CITY, lambda a: f"{a['city']}: sunny, 21 C")])


def test_remote_loop_runs_the_call_and_sends_the_result_back(remote_env):
    remote_env.script_tool_calls("fake-loop", ("get_weather", '{"city": "Paris"}'), then="It is sunny in Paris.")
    events = list(run_turn("openai:fake-loop", HI, weather(), max_new_tokens=64))
    step = next(e.result for e in events if isinstance(e, ToolStep))
    assert step.ok and step.call.name == "get_weather" and step.text == "Paris: sunny, 21 C"
    done = events[-1]
    assert isinstance(done, TurnDone) and done.messages[-1] == {"role": "assistant",
                                                                "content": "It is sunny in Paris."}
    assert [s.finish_reason for s in done.stats] == ["tool_calls", "stop"]
    sent = remote_env.requests[-1]["body"]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": step.call.id, "name": "get_weather",
                                    "content": "Paris: sunny, 21 C"}


@pytest.fixture()
def scripted_local(tiny, tmp_path, monkeypatch):
    """A tiny local model with a real template; ``script`` holds the texts it 'generates', ``prompts`` what it
    was given (decoded)."""
    from engines.backends import transformers_local

    state = {"script": [], "prompts": [], "lm": None}

    def fake_generate(lm, ids, max_new_tokens, temperature, stats, top_p=None, keep_special=False):
        state["prompts"].append(lm.tokenizer.decode(ids, skip_special_tokens=False))
        text = state["script"].pop(0)
        yield from (text[i:i + 4] for i in range(0, len(text), 4))  # a few characters per "token"

    monkeypatch.setattr(transformers_local, "generate_stream", fake_generate)
    monkeypatch.setattr(transformers_local, "context_window", lambda ref, lm: 4096)  # real templates > 256 tokens

    def make(template: str) -> str:
        from transformers import AutoTokenizer

        folder = tmp_path / template
        shutil.copytree(tiny["lm-llama"], folder)
        tok = AutoTokenizer.from_pretrained(folder)
        tok.chat_template = (TEMPLATES / f"{template}.jinja").read_text()
        tok.save_pretrained(folder)
        return str(folder)

    state["make"] = make
    return state


@pytest.mark.parametrize(("template", "answer", "result_in_prompt"), [
    ("qwen2.5-instruct",
     'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
     "<|im_start|>user\n<tool_response>\nParis: sunny, 21 C\n</tool_response><|im_end|>\n<|im_start|>assistant\n"),
    ("mistral-7b-instruct-v0.3", '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
     '[TOOL_RESULTS] {"content": Paris: sunny, 21 C, "call_id": "'),
    ("llama-3.1-instruct", '{"name": "get_weather", "parameters": {"city": "Paris"}}',
     '<|start_header_id|>ipython<|end_header_id|>\n\n"Paris: sunny, 21 C"<|eot_id|>'),
])
def test_local_loop_through_the_real_template(scripted_local, template, answer, result_in_prompt):
    model = scripted_local["make"](template)
    scripted_local["script"] += [answer, "It is sunny in Paris."]
    events = list(run_turn(model, HI, weather(), max_new_tokens=64))
    assert not [e for e in events if isinstance(e, Notice) and "tools" in e.text]
    step = next(e.result for e in events if isinstance(e, ToolStep))
    assert step.ok and step.call.arguments == '{"city": "Paris"}'
    shown = "".join(e.text for e in events if type(e).__name__ == "TextDelta")
    assert "get_weather" not in shown and shown.startswith("Checking." if "qwen" in template else "It is")
    first, second = scripted_local["prompts"]
    assert "get_weather" in first and result_in_prompt in second
    assert events[-1].messages[-1] == {"role": "assistant", "content": "It is sunny in Paris."}
