"""The README's API examples run, as written, against the served app: local tiny models stand in for the Hub ids
(through the models dir, or by substitution where a tiny model of the right kind is needed), the fake OpenAI server
answers the API models, and the bundled sample meeting is the recording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tiny_minutes import SAMPLE_PATH, minutes_fx  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[2]
CPP = "```cpp\n#include <cstdio>\nint main() { std::printf(\"%d\\n\", 42); return 0; }\n```"
ROWS = '{"name": "Ada Baker", "age": 34}\n{"name": "Bo Crumb", "age": 51}\n'


def readme_api_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _answer(messages: list) -> str:
    said = " ".join(str(m.get("content")) for m in messages if isinstance(m, dict))
    if "C++" in said:
        return CPP
    if "JSON" in said:
        return ROWS
    return "Because air scatters blue light more than red."


def test_the_readme_api_block_runs_against_the_app(app_url, served, minutes_fx, fake_server, tmp_path):  # noqa: F811
    fake_server.respond("gpt-4o-mini", _answer)
    code = readme_api_block()
    for hub_id, local in {
        '"http://127.0.0.1:7860/"': repr(app_url),
        '"meeting.mp3"': repr(str(SAMPLE_PATH)),
        '"openai/whisper-small"': repr(str(minutes_fx["whisper"])),
        '"Qwen/Qwen2.5-1.5B-Instruct"': repr(str(minutes_fx["lm-long"])),  # minutes need a 1k-token context
        '"HuggingFaceTB/SmolLM2-135M-Instruct"': '"Qwen/Qwen2.5-0.5B-Instruct"',
        '1024, api_name="/minutes"': '256, api_name="/minutes"',  # the tiny LM's context is 1k tokens
        "1024, 1024": "64, 64",  # the tiny FLUX at a tiny size
        '"9906, 11, 11460, 0"': '"9, 11, 460, 0"',  # Llama 3 ids; the tiny tokenizer has 1,000
    }.items():
        assert hub_id in code, f"the README example no longer uses {hub_id}"
        code = code.replace(hub_id, local)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102  (our own README)
    assert "data-state='done'" in namespace["status"] or "Hub" in namespace["status"]
    assert namespace["cpp"].startswith("#include") and Path(namespace["notebook"]).suffix == ".ipynb"
    assert namespace["transcript"].startswith("[00:00:")
    assert "Ada Baker" in str(namespace["rows"])
    assert namespace["results"] and namespace["defaults"]
    assert [m["role"] for m in namespace["history"]] == ["system", "user", "assistant", "user", "assistant"]
    assert namespace["answer"] == namespace["history"][-1]["content"] != ""
    assert "saved" in str(namespace["vote"])  # the arena vote over the API, with the match id the battle returned
    assert "after 2 turns" in str(namespace["vote"])  # the follow-up before it counts
    assert [[m["role"] for m in h] for h in namespace["histories"]] == [["user", "assistant"] * 2] * 2


@pytest.mark.parametrize("name", ["pipeline_classify", "tokenize", "compare", "compare_followup", "arena_battle",
                                  "arena_followup", "arena_vote",
                                  "chat", "transcribe", "minutes",
                                  "generate_image", "convert_to_cpp", "generate_rows", "run_evaluation",
                                  "hub_search_models", "finetune_defaults"])
def test_each_tab_has_an_example(name):
    assert f'api_name="/{name}"' in readme_api_block()
