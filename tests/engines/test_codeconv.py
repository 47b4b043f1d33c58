"""The code converter engine: extraction, prompts, output check, streaming from the fake server and a tiny local
model, and the repair loop."""

from __future__ import annotations

import pytest
import tiny_code as tc

from engines import codeconv, errors, sandbox
from engines.chat import ChatChunk

FAST = sandbox.Limits(wall_s=15, cpu_s=15)


@pytest.mark.parametrize("reply", [tc.REPLY_OK, tc.REPLY_BARE, tc.REPLY_WRONG.replace("% 5", "% 7"),
                                   "Sure!\n" + tc.CPP_OK + "\nHope this helps.</s>",
                                   "<think>First ```python x``` then C++.</think>\n```cpp\n" + tc.CPP_OK + "```",
                                   "```\n" + tc.CPP_OK + "```<|eot_id|>",
                                   "```python\nprint(1)\n```\n```cpp\n" + tc.CPP_OK + "```"])
def test_extract_cpp_strips_prose_fences_and_control_tokens(reply):
    code = codeconv.extract_cpp(reply)
    assert code == tc.CPP_OK
    assert "```" not in code and "<|" not in code and "</s>" not in code


def test_extract_cpp_handles_unfinished_streams_and_empty():
    assert codeconv.extract_cpp("```cpp\n#include <cstdio>\nint ma") == "#include <cstdio>\nint ma\n"
    assert codeconv.extract_cpp("") == ""
    assert codeconv.extract_cpp(tc.REPLY_PROSE_ONLY) == ""


def test_compare_outputs_ignores_timing_lines_only():
    ok = codeconv.compare_outputs("total = 3\nElapsed: 1.5 s\n", "total = 3\nElapsed: 0.001 s")
    assert ok.match and ok.compared_lines == 1 and ok.ignored_lines == 1
    bad = codeconv.compare_outputs("total = 3\nElapsed: 1.5 s\n", "total = 4\n")
    assert not bad.match and bad.first_diff == 1 and (bad.python_line, bad.cpp_line) == ("total = 3", "total = 4")
    short = codeconv.compare_outputs("a\nb\n", "a\n")
    assert not short.match and short.cpp_line == "<no line>"
    assert not codeconv.compare_outputs("", "").match


def test_prompt_names_the_rules_and_compiler():
    messages = codeconv.convert_messages(tc.PYTHON)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert tc.PYTHON.strip() in user and "-O3" in user
    for rule in ("header", "overflow", "bit-identical", "C++17"):
        assert rule in user
    with pytest.raises(errors.InvalidInput, match="empty"):
        codeconv.convert_messages("  ")


def test_stream_cpp_from_fake_server(remote_env):
    remote_env.script("code-stream", tc.REPLY_OK)
    chunks = list(codeconv.stream_cpp(tc.PYTHON, model="openai:code-stream"))
    assert all(isinstance(c, ChatChunk) for c in chunks)
    assert sum(1 for c in chunks if c.text) > 5
    assert chunks[-1].stats is not None and chunks[-1].stats.tokens > 0
    assert codeconv.extract_cpp("".join(c.text for c in chunks)) == tc.CPP_OK
    sent = remote_env.requests[-1]["body"]
    assert sent["model"] == "code-stream" and sent["messages"][0]["role"] == "system"


def test_stream_cpp_with_tiny_local_model(tiny, fresh_cache, tmp_path_factory):
    coder = tc.tiny_coder(tiny, tmp_path_factory.mktemp("coder"))
    chunks = list(codeconv.stream_cpp(tc.PYTHON, model=str(coder), max_new_tokens=6))
    stats = chunks[-1].stats
    assert stats is not None and stats.backend == "transformers" and 0 < stats.tokens <= 6
    assert isinstance("".join(c.text for c in chunks), str)


def test_convert_compile_run_match_and_speedup(remote_env):
    remote_env.script("code-e2e", tc.REPLY_OK)
    cpp = codeconv.extract_cpp("".join(c.text for c in codeconv.stream_cpp(tc.PYTHON, model="openai:code-e2e")))
    py = sandbox.run_python(tc.PYTHON, limits=FAST)
    cc = sandbox.compile_and_run_cpp(cpp, limits=FAST, runs=3)
    assert py.ok and cc.ok
    assert codeconv.compare_outputs(py.stdout, cc.stdout).match
    factor = codeconv.speedup(py, cc)
    assert isinstance(factor, float) and factor == pytest.approx(py.seconds / cc.seconds)
    assert codeconv.speedup(py, sandbox.compile_and_run_cpp(tc.CPP_BROKEN, limits=FAST)) is None


def test_repair_round_fixes_compile_error(remote_env):
    remote_env.script("code-fixer", tc.REPLY_OK)
    steps = list(codeconv.repair(tc.PYTHON, tc.CPP_BROKEN, model="openai:code-fixer", rounds=2, limits=FAST))
    phases = [(s.round, s.phase) for s in steps if s.phase != "fixing"]
    assert phases == [(0, "compile"), (1, "fixed"), (1, "compile"), (1, "done")]
    assert steps[0].result.compile_failed and steps[-1].ok and steps[-1].cpp == tc.CPP_OK
    assert any(s.phase == "fixing" for s in steps)
    fix_prompt = remote_env.requests[-1]["body"]["messages"][1]["content"]
    assert tc.CPP_BROKEN.strip() in fix_prompt and "error" in fix_prompt


def test_repair_gives_up_after_rounds(remote_env):
    remote_env.script("code-stubborn", tc.REPLY_BROKEN)
    steps = [s for s in codeconv.repair(tc.PYTHON, tc.CPP_BROKEN, model="openai:code-stubborn", rounds=2,
                                        limits=FAST) if s.phase in ("compile", "done")]
    assert [s.round for s in steps] == [0, 1, 2, 2] and not steps[-1].ok
    with pytest.raises(errors.InvalidInput, match="between 1 and 10"):
        list(codeconv.repair(tc.PYTHON, tc.CPP_BROKEN, model="openai:x", rounds=0))


def test_show_code_snippets(tiny):
    remote = codeconv.show_code("openai:gpt-4o-mini", tc.PYTHON)
    assert "from openai import OpenAI" in remote and "OPENAI_API_KEY" in remote  # read from the environment
    compile(remote, "snippet", "exec")
    local = codeconv.show_code(str(tiny["lm-qwen2"]), tc.PYTHON)
    assert "AutoModelForCausalLM" in local
    compile(local, "snippet", "exec")


@pytest.mark.parametrize("key", list(codeconv.SAMPLES))
def test_samples_reference_cpp_compiles(key):
    sample = codeconv.SAMPLES[key]
    r = sandbox.compile_cpp(sample.cpp)
    assert not r.compile_failed, r.compile_output
    assert "print(" in sample.python


PY_ANSWER = '''Here is the optimized version:

```python
def main():
    total = 0
    for i in range(10):
        total += i
    print(total)

if __name__ == "__main__":
    main()
```
'''
CPP_ANSWER = "```cpp\n#include <cstdio>\nint main() {\n    std::printf(\"%d\\n\", 45);\n    return 0;\n}\n```\n"


@pytest.mark.parametrize("answer, kind", [
    (PY_ANSWER, "python"),
    ("I cannot convert this program because it uses dynamic features.", "prose"),
    ("", "empty"),
    (CPP_ANSWER, "cpp"),
])
def test_non_cpp_answers_are_named_before_compiling(answer, kind):
    assert codeconv.answer_language(codeconv.extract_cpp(answer) or answer) == kind
    if kind == "cpp":
        assert "#include <cstdio>" in codeconv.cpp_source(answer)
        return
    with pytest.raises(codeconv.NotCpp, match="nothing was compiled") as info:
        codeconv.cpp_source(answer)
    assert {"python": "Python, not C++", "prose": "prose", "empty": "nothing"}[kind] in str(info.value)


def test_repair_refuses_python_instead_of_compiling_it():
    with pytest.raises(codeconv.NotCpp, match="Python, not C\\+\\+"):
        next(codeconv.repair("print(1)", PY_ANSWER, model="openai:fake-echo", rounds=1))
