"""Python → C++ conversion with any chat model, extraction of the C++ from the model's answer, repair rounds fed
with compiler errors, and the output check that decides whether a speedup counts."""

from __future__ import annotations

import platform
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from engines import errors, prompts, sandbox
from engines.chat import ChatChunk, stream_chat
from engines.code_samples import SAMPLES, Sample  # noqa: F401  (re-exported for the tab)
from engines.config import Settings
from engines.refs import parse_ref
from engines.snippets.code import conversion_code

MAX_PYTHON_CHARS = 100_000
DEFAULT_MAX_NEW_TOKENS = 4096

# End-of-turn and chat-control tokens that open models leak into their text.
_CONTROL = re.compile(r"<\|(?:im_end|im_start|endoftext|eot_id|end|assistant|user|system|file_sep|fim_[a-z]+|"
                      r"start_header_id|end_header_id|return|channel|message)\|>|<end_of_turn>|<start_of_turn>"
                      r"(?:model|user)?|</s>|<s>|\[/?INST\]")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
_CPP_LANGS = {"cpp", "c++", "cxx", "cc", "c", "hpp", "h", "cplusplus"}
_CPP_START = re.compile(r"^\s*(#\s*(include|define|pragma|if|ifndef)|using\s|namespace\s|template\s*<|typedef\s|"
                        r"struct\s|class\s|static\s|const(expr)?\s|inline\s|(int|void|auto|double|long|unsigned)\s+"
                        r"[\w:]+\s*\(|//|/\*)")
_TIMING = re.compile(r"(?i)\b(elapsed|time|timing|took|duration|runtime|seconds?|secs?|ms|milliseconds?|"
                     r"microseconds?|µs|us|ns)\b")


def extract_cpp(model_text: str) -> str:
    """The C++ source in a model's answer: control tokens (``<|im_end|>`` …), ``<think>`` blocks, prose and code
    fences removed. With several fenced blocks, the C++ one holding ``main(`` wins (else the longest).

    Args:
        model_text: the raw answer, complete or still streaming (an unclosed fence is fine).

    Returns:
        The source, ending with one newline ("" when there is none yet).
    """
    text = _CONTROL.sub("", _THINK.sub("", model_text or ""))
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if blocks:
        cpp = [b for lang, b in blocks if lang in _CPP_LANGS] or [b for lang, b in blocks if not lang] or \
              [b for _, b in blocks]
        with_main = [b for b in cpp if re.search(r"\bmain\s*\(", b)]
        code = max(with_main or cpp, key=len)
    else:
        code = _strip_prose(text)
    code = code.strip("\n").rstrip()
    return code + "\n" if code.strip() else ""


_PY_LINE = re.compile(r"^\s*(def \w+\(.*\)\s*(->.*)?:|import \w|from [\w.]+ import |print\(|if __name__|elif .*:|"
                      r"for \w+( *, *\w+)* in .*:|while .*:|class \w+.*:$|return\b[^;]*$|with .*:$)")
_CPP_MARK = re.compile(r"#\s*include\s*[<\"]|\bstd::|\bint\s+main\s*\(|;\s*$|\{\s*$|^\s*\}")


def answer_language(code: str) -> str:
    """What a model's extracted answer is: "cpp", "python", "prose" (no code at all) or "empty".

    C++ has includes, ``std::``, ``main(``, semicolons and braces; Python has ``def …:``, ``import``, ``print(``
    and colon-ended blocks without semicolons. The larger count of line markers wins; an answer with neither is
    prose.
    """
    lines = [line for line in (code or "").splitlines() if line.strip()]
    if not lines:
        return "empty"
    cpp = sum(bool(_CPP_MARK.search(line)) for line in lines)
    python = sum(bool(_PY_LINE.match(line)) for line in lines)
    if cpp == 0 and python == 0:
        return "prose"
    return "python" if python > cpp else "cpp"


def cpp_source(model_text: str) -> str:
    """The C++ to compile from a model's answer, or a clear error when the answer is not C++.

    Raises:
        NotCpp: the answer holds Python, only prose, or nothing — so nothing is compiled.
    """
    code = extract_cpp(model_text) or (model_text or "")
    kind = answer_language(code)
    if kind == "cpp":
        return code
    what = {"python": "Python, not C++", "prose": "prose without any C++ code", "empty": "nothing"}[kind]
    raise NotCpp(f"The model answered with {what}, so nothing was compiled. Convert again (a code model such as "
                 "Qwen2.5-Coder, or a larger one, follows the instructions better), or paste C++ yourself.")


class NotCpp(errors.InvalidInput):
    """A model's answer is not C++ (Python, prose, or empty)."""

    title = "Not C++"


def _strip_prose(text: str) -> str:
    """Unfenced answers: keep from the first line that looks like C++ to the last closing brace."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _CPP_START.match(line)), None)
    if start is None:
        return text if "main(" in text.replace(" ", "") else ""
    end = max((i for i, line in enumerate(lines) if line.rstrip().endswith("}")), default=len(lines) - 1)
    return "\n".join(lines[start:max(start, end) + 1])


def arch_name() -> str:
    """What to optimize for, in words (goes into the prompt)."""
    machine = platform.machine() or "this CPU"
    return {"x86_64": "an x86-64 CPU (compiled with -march=native)", "aarch64": "a 64-bit ARM CPU",
            "arm64": "Apple silicon (arm64)"}.get(machine, machine)


def _compile_command() -> str:
    comp = sandbox.detect_compiler()
    return comp.display if comp else "g++ -O3 -std=c++17 main.cpp -o main"


def _check_python(python_code: str) -> str:
    if not isinstance(python_code, str) or not python_code.strip():
        raise errors.InvalidInput("The Python code is empty: paste a program or pick a sample.")
    if len(python_code) > MAX_PYTHON_CHARS:
        raise errors.InvalidInput(f"The Python code is {len(python_code):,} characters; the limit is "
                                  f"{MAX_PYTHON_CHARS:,}.")
    return python_code


def convert_messages(python_code: str) -> list[dict]:
    """The chat messages that ask for a C++ translation of ``python_code``.

    Args:
        python_code: the program to convert.

    Returns:
        [system, user] messages built from ``prompts.CODE_SYSTEM``/``CODE_USER``.
    """
    user = prompts.CODE_USER.format(arch=arch_name(), compile_command=_compile_command(),
                                    python=_check_python(python_code).strip())
    return [{"role": "system", "content": prompts.CODE_SYSTEM}, {"role": "user", "content": user}]


def fix_messages(python_code: str, cpp_code: str, compile_output: str) -> list[dict]:
    """Messages that send a compile error back to the model.

    Args:
        python_code: the original program.
        cpp_code: the C++ that failed.
        compile_output: the compiler's messages (cut to their first 6,000 characters).

    Returns:
        [system, user] messages built from ``prompts.CODE_FIX_USER``.
    """
    if not (cpp_code or "").strip():
        raise errors.InvalidInput("There is no C++ to fix yet: convert first.")
    user = prompts.CODE_FIX_USER.format(compile_command=_compile_command(), cpp=cpp_code.strip(),
                                        errors=(compile_output or "").strip()[:6000], python=python_code.strip())
    return [{"role": "system", "content": prompts.CODE_SYSTEM}, {"role": "user", "content": user}]


def _max_tokens(model: str, max_new_tokens: int, settings: Settings | None = None) -> int:
    return max(1, min(int(max_new_tokens), (settings or Settings.current()).max_new_tokens))


def stream_cpp(python_code: str, *, model: str, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
               temperature: float = 0.0, quantization: str = "auto",
               settings: Settings | None = None) -> Iterator[ChatChunk]:
    """Stream a model's C++ translation of a Python program (raw text: pass the running text to ``extract_cpp``).

    Args:
        python_code: the program to convert.
        model: any model reference (``openai:gpt-4o-mini``, ``hf:Qwen/Qwen2.5-Coder-32B-Instruct``,
            ``ollama:qwen2.5-coder``, a Hub id or local folder for transformers).
        max_new_tokens: bound on generated tokens (capped by WORKBENCH_MAX_NEW_TOKENS).
        temperature: 0 = greedy.
        quantization: for local models (auto | 4bit | 8bit | bf16 | fp16 | fp32).
        settings: the deployment's settings (read from the environment when None).

    Yields:
        ChatChunk deltas; the last carries GenerationStats.
    """
    settings = settings or Settings.current()
    parse_ref(model, settings)
    yield from stream_chat(model, convert_messages(python_code),
                           max_new_tokens=_max_tokens(model, max_new_tokens, settings), temperature=temperature,
                           quantization=quantization, settings=settings)


def stream_fix(python_code: str, cpp_code: str, compile_output: str, *, model: str,
               max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, quantization: str = "auto",
               settings: Settings | None = None) -> Iterator[ChatChunk]:
    """Stream a corrected C++ from the model, given the compiler's error messages.

    Args:
        python_code: the original program.
        cpp_code: the C++ that did not compile.
        compile_output: what the compiler said.
        model: model reference.
        max_new_tokens: bound on generated tokens.
        quantization: for local models.

    Yields:
        ChatChunk deltas; the last carries GenerationStats.
    """
    settings = settings or Settings.current()
    messages = fix_messages(_check_python(python_code), cpp_code, compile_output)
    yield from stream_chat(model, messages, max_new_tokens=_max_tokens(model, max_new_tokens, settings),
                           temperature=0.0, quantization=quantization, settings=settings)


@dataclass
class RepairStep:
    """One step of the repair loop. ``phase``: "compile" (``result`` set), "fixing" (``cpp`` streaming),
    "fixed" (a round's answer complete) or "done" (``ok`` tells whether it compiles)."""

    round: int
    phase: str
    cpp: str
    result: sandbox.RunResult | None = None
    ok: bool = False


def repair(python_code: str, cpp_code: str, *, model: str, rounds: int = 3,
           limits: sandbox.Limits | None = None, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
           settings: Settings | None = None) -> Iterator[RepairStep]:
    """Compile; while it fails and rounds remain, send the errors to the model and compile its answer.

    Args:
        python_code: the original program.
        cpp_code: the C++ to check.
        model: model reference that writes the fixes.
        rounds: at most this many repair rounds (1–10).
        limits: compile limits.
        max_new_tokens: per answer.
        settings: the deployment's settings (read from the environment when None).

    Yields:
        RepairStep for every compile, streamed fix and the final verdict.
    """
    if not isinstance(rounds, int) or not 1 <= rounds <= 10:
        raise errors.InvalidInput("Repair rounds must be between 1 and 10.")
    if not (cpp_code or "").strip():
        raise errors.InvalidInput("There is no C++ to fix yet: convert first.")
    _check_python(python_code)
    settings = settings or Settings.current()
    cpp = cpp_source(cpp_code)
    for n in range(rounds + 1):
        result = sandbox.compile_cpp(cpp, limits=limits, settings=settings)
        yield RepairStep(n, "compile", cpp, result, ok=not result.compile_failed)
        if not result.compile_failed or n == rounds:
            yield RepairStep(n, "done", cpp, result, ok=not result.compile_failed)
            return
        raw = ""
        for chunk in stream_fix(python_code, cpp, result.compile_output, model=model, max_new_tokens=max_new_tokens,
                                settings=settings):
            raw += chunk.text
            if chunk.text:
                yield RepairStep(n + 1, "fixing", extract_cpp(raw))
        cpp = cpp_source(raw)
        yield RepairStep(n + 1, "fixed", cpp)


# ------------------------------------------------------------------------------------------- verification


@dataclass
class OutputCheck:
    """Whether two programs printed the same thing, ignoring lines that only report timings."""

    match: bool
    compared_lines: int
    ignored_lines: int
    first_diff: int | None = None  # 1-based index among the compared lines
    python_line: str = ""
    cpp_line: str = ""


def is_timing_line(line: str) -> bool:
    """A line that only reports how long something took (e.g. ``Elapsed: 1.23 s``)."""
    return bool(re.search(r"\d", line)) and bool(_TIMING.search(line))


def compare_outputs(python_stdout: str, cpp_stdout: str) -> OutputCheck:
    """Compare two outputs line by line (trailing spaces and blank lines ignored, timing lines skipped).

    Args:
        python_stdout: what the Python program printed.
        cpp_stdout: what the C++ program printed.

    Returns:
        OutputCheck with the first differing line when they differ.
    """
    def keep(text: str) -> tuple[list[str], int]:
        lines = [line.rstrip() for line in (text or "").rstrip().splitlines()]
        kept = [line for line in lines if not is_timing_line(line)]
        return kept, len(lines) - len(kept)

    py, py_ignored = keep(python_stdout)
    cc, cc_ignored = keep(cpp_stdout)
    for i in range(max(len(py), len(cc))):
        a = py[i] if i < len(py) else "<no line>"
        b = cc[i] if i < len(cc) else "<no line>"
        if a != b:
            return OutputCheck(False, max(len(py), len(cc)), max(py_ignored, cc_ignored), i + 1, a, b)
    return OutputCheck(bool(py) or bool(cc), len(py), max(py_ignored, cc_ignored))


def speedup(python_result: sandbox.RunResult, cpp_result: sandbox.RunResult) -> float | None:
    """Python's median wall time over C++'s (None unless both ran to the end)."""
    if not (python_result.ok and cpp_result.ok) or cpp_result.seconds <= 0:
        return None
    return statistics.median(python_result.runs_s or [python_result.seconds]) / cpp_result.seconds


def show_code(model: str, python_code: str) -> str:
    """A standalone script that reproduces the conversion with the plain ``openai`` or ``transformers`` API.

    Args:
        model: the model reference used.
        python_code: the program converted.

    Returns:
        Python source (built by ``engines.snippets.code.conversion_code``).

    Raises:
        InvalidModelRef / ModelNotAllowed / ModelNotFound: the reference is not one this app runs.
    """
    from engines.backends.registry import is_local

    ref = parse_ref(model)
    messages = convert_messages(python_code or "print('hello')")
    return conversion_code(ref.name if is_local(ref) else ref.raw, messages, _compile_command())
