"""One model on one item: the prompt as the model sees it, the answer, and its score.

Generated answers go through ``engines.chat.stream_chat`` (local and remote alike). Multiple choice on a local
model is scored by log-likelihood (``engines.evals.logprobs``), several items per batch; on an API model by the
letter it writes. Code answers run against the item's tests in ``engines.sandbox``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engines import errors, prompts
from engines.evals import judge as judging
from engines.evals import scoring
from engines.evals.logprobs import score_requests
from engines.evals.stats import pass_at_k
from engines.evals.store import Result
from engines.evals.testsets import Item
from engines.refs import ModelRef

SANDBOX_LIMITS = {"wall_s": 10.0, "cpu_s": 10.0, "memory_mb": 512}


@dataclass
class RunConfig:
    """Decoding and scoring settings, the same for every model of a run."""

    method: str = "exact"  # free-form items: exact | contains | regex | numeric | judge
    judge: str = ""  # judge model: needed for rubric items and method "judge"
    choice_method: str = "auto"  # auto: log-likelihood for local models, letter for API models | letter
    max_new_tokens: int = 256
    temperature: float = 0.0
    system_prompt: str = ""
    samples: int = 1  # code items: samples per item (n of pass@k)
    k: int = 1  # code items: the k of pass@k
    tolerance: float = 1e-6  # numeric scoring
    quantization: str = "auto"
    batch_size: int = 16  # log-likelihood: sequences per forward pass
    parallel: int = 4  # API models: requests in flight at once
    extra: dict = field(default_factory=dict)


@dataclass
class Generation:
    """A generated answer with what it cost."""

    text: str
    prompt: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float


def choice_method(ref: ModelRef, config: RunConfig) -> str:
    """How a model's multiple-choice items are scored: "loglikelihood" (local models) or "letter"."""
    from engines.backends.registry import capabilities

    if config.choice_method == "letter" or not capabilities(ref).logprobs:
        return "letter"
    return "loglikelihood"


def options_text(choices: list[str]) -> str:
    """"A. first\\nB. second…" for a letter prompt."""
    return "\n".join(f"{scoring.LETTERS[i]}. {c}" for i, c in enumerate(choices))


def user_text(item: Item, letter: bool = False) -> str:
    """The user message of an item (prompts from ``engines.prompts``)."""
    if item.kind == "choice":
        if letter:
            return prompts.EVAL_CHOICE_LETTER_USER.format(question=item.question, options=options_text(item.choices))
        return prompts.EVAL_CHOICE_LL_USER.format(question=item.question)
    if item.kind == "code":
        return prompts.EVAL_CODE_USER.format(question=item.question, tests=item.tests)
    if item.kind == "rubric":
        return prompts.EVAL_RUBRIC_USER.format(question=item.question)
    return prompts.EVAL_FREEFORM_USER.format(question=item.question)


def messages_for(item: Item, config: RunConfig, letter: bool = False) -> list[dict]:
    """The chat messages a model receives for an item."""
    system = [{"role": "system", "content": config.system_prompt.strip()}] if config.system_prompt.strip() else []
    return [*system, {"role": "user", "content": user_text(item, letter)}]


def render_prompt(ref: ModelRef, messages: list[dict]) -> str:
    """The exact prompt text a model reads: a local model's chat template rendered as ``stream_chat`` renders it;
    for an API model, the messages sent (its server applies its own template)."""
    from engines.backends.registry import is_local

    if not is_local(ref):
        shown = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
        return shown + "\n\n(sent as chat messages; the server applies the model's chat template)"
    from engines.chat import encode_chat, no_system_role
    from engines.loading import load_tokenizer

    tok = load_tokenizer(ref)
    ids, _ = encode_chat(tok, messages, no_system_role=no_system_role(ref))
    return tok.decode(ids, skip_special_tokens=False)


def generate(ref: ModelRef, messages: list[dict], config: RunConfig) -> Generation:
    """One answer through ``stream_chat``; the seconds exclude a first model load."""
    from engines.chat import stream_chat

    start = time.perf_counter()
    parts, stats = [], None
    for chunk in stream_chat(ref.raw, messages, max_new_tokens=config.max_new_tokens,
                             temperature=config.temperature, quantization=config.quantization):
        parts.append(chunk.text)
        stats = chunk.stats or stats
    seconds = time.perf_counter() - start
    if stats is not None and not stats.cache_hit:
        seconds = max(0.0, seconds - stats.load_s)
    return Generation("".join(parts), render_prompt(ref, messages), getattr(stats, "prompt_tokens", None),
                      getattr(stats, "tokens", None), seconds)


def _result(ref: ModelRef, item: Item, method: str, gen: Generation, score: float | None, **kw) -> Result:
    return Result(model=ref.raw, item_id=item.id, kind=item.kind, method=method, score=score, output=gen.text,
                  prompt=gen.prompt, prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                  latency_s=gen.seconds, **kw)


def _judged(ref: ModelRef, item: Item, config: RunConfig, gen: Generation, method: str) -> Result:
    call = judging.judge_answer(config.judge, item.question, gen.text, rubric=item.rubric,
                                references=item.references)
    verdict = call.verdict
    detail = {"judge": config.judge, "judge_raw": verdict.raw, "judge_seconds": call.seconds,
              "judge_prompt_tokens": call.prompt_tokens, "judge_completion_tokens": call.completion_tokens}
    metrics = {} if verdict.score is None else {"judge": verdict.score}
    return _result(ref, item, method, gen, verdict.score, metrics=metrics, detail=detail,
                   judge_rationale=verdict.rationale, judge_failed=verdict.score is None)


def _letter(ref: ModelRef, item: Item, config: RunConfig) -> Result:
    gen = generate(ref, messages_for(item, config, letter=True), config)
    picked = scoring.choice_letter(gen.text, len(item.choices), item.choices)
    score = float(picked == item.answer)
    detail = {"picked": picked, "note": "" if picked is not None else "no choice letter found in the answer"}
    return _result(ref, item, "letter", gen, score, metrics={"acc": score}, detail=detail)


def _code(ref: ModelRef, item: Item, config: RunConfig) -> Result:
    from engines.sandbox import Limits, run_python

    messages = messages_for(item, config)
    samples, passed, gens = [], 0, []
    for _ in range(config.samples):
        gen = generate(ref, messages, config)
        gens.append(gen)
        code = scoring.extract_code(gen.text)
        run = run_python(f"{code}\n\n{item.tests}\n" if code.strip() else item.tests, limits=Limits(**SANDBOX_LIMITS))
        passed += int(run.ok)
        samples.append({"code": code, "passed": run.ok, "exit_code": run.exit_code, "timed_out": run.timed_out,
                        "stderr": run.stderr[-800:], "seconds": run.seconds})
    n, k = config.samples, config.k
    metrics = {"pass@1": pass_at_k(n, passed, 1), f"pass@{k}": pass_at_k(n, passed, k), "n": n, "c": passed}
    total = Generation(gens[0].text, gens[0].prompt, gens[0].prompt_tokens,
                       sum(g.completion_tokens or 0 for g in gens), sum(g.seconds for g in gens))
    return _result(ref, item, "pass@k", total, metrics[f"pass@{k}"], metrics=metrics,
                   detail={"samples": samples, "isolation": run.isolation})


def evaluate_generated(ref: ModelRef, item: Item, config: RunConfig) -> Result:
    """Score one item by a generated answer (free-form, letter choice, code, rubric).

    Args:
        ref: the model.
        item: the item.
        config: the run's settings.

    Returns:
        The Result; an answer the model could not give for this item alone (prompt too long) is stored with
        ``error`` and no score; one the server cut off (the stream closed before the answer finished) is stored so
        too, with ``retry``: resuming the run asks again.
    """
    try:
        if item.kind == "choice":
            return _letter(ref, item, config)
        if item.kind == "code":
            return _code(ref, item, config)
        gen = generate(ref, messages_for(item, config), config)
        if item.kind == "rubric" or config.method == "judge":
            return _judged(ref, item, config, gen, "rubric" if item.kind == "rubric" else "judge")
        ok = scoring.score_text(config.method, gen.text, item.references, config.tolerance)
        return _result(ref, item, config.method, gen, float(ok), metrics={config.method: float(ok)})
    except errors.ContextTooLong as exc:
        return Result(model=ref.raw, item_id=item.id, kind=item.kind, method="", score=None, error=str(exc))
    except errors.StreamTruncated as exc:
        return Result(model=ref.raw, item_id=item.id, kind=item.kind, method="", score=None, error=str(exc),
                      retry=True)


def ll_context(tokenizer, ref: ModelRef, item: Item, config: RunConfig) -> tuple[str, str]:
    """(context, delimiter) for log-likelihood scoring, as lm-evaluation-harness builds them: the chat template
    rendered with the generation prompt and no delimiter when the model has one (``--apply_chat_template``), else
    the plain "Question: …\\nAnswer:" text and a space before each choice."""
    from engines.chat import no_system_role

    messages = messages_for(item, config)
    if getattr(tokenizer, "chat_template", None):
        text, _, _ = prompts.apply_template(tokenizer, messages, no_system_role=no_system_role(ref))
        return text, ""
    system = config.system_prompt.strip()
    return (f"{system}\n\n" if system else "") + user_text(item), " "


def evaluate_choices_ll(ref: ModelRef, lm, items: list[Item], config: RunConfig) -> list[Result]:
    """Score multiple-choice items on a loaded local model by log-likelihood, all their choices in batches.

    Args:
        ref: the model.
        lm: its LoadedLM.
        items: multiple-choice items.
        config: the run's settings (batch_size).

    Returns:
        One Result per item: score = acc, metrics acc and acc_norm (lm-evaluation-harness definitions).
    """
    start = time.perf_counter()
    contexts = [ll_context(lm.tokenizer, ref, item, config) for item in items]
    requests = [(ctx, delim + choice) for item, (ctx, delim) in zip(items, contexts, strict=True)
                for choice in item.choices]
    scores = score_requests(lm, requests, batch_size=config.batch_size)
    seconds = (time.perf_counter() - start) / max(1, len(items))
    out, at = [], 0
    for item, (ctx, delim) in zip(items, contexts, strict=True):
        mine, at = scores[at:at + len(item.choices)], at + len(item.choices)
        lls = [s.total for s in mine]
        acc, acc_norm, pred, pred_norm = scoring.acc_and_norm(lls, item.choices, item.answer)
        detail = {"context": ctx, "delimiter": delim, "loglikelihoods": lls, "pred": pred, "pred_norm": pred_norm,
                  "choice_tokens": [len(s.tokens) for s in mine], "greedy": [s.greedy for s in mine],
                  "truncated": any(s.truncated for s in mine)}
        output = f"{scoring.LETTERS[pred]}. {item.choices[pred]}"
        gen = Generation(output, ctx, len(lm.tokenizer(ctx, add_special_tokens=False)["input_ids"]),
                         0, seconds)
        out.append(_result(ref, item, "loglikelihood", gen, acc, metrics={"acc": acc, "acc_norm": acc_norm},
                           detail=detail))
    return out


def evaluate_choices_ll_served(ref: ModelRef, items: list[Item], config: RunConfig) -> list[Result]:
    """Score multiple-choice items by log-likelihood on a served model whose server echoes prompt log-probabilities
    (vLLM's completions ``echo`` + ``logprobs``): the plain "Question: …\nAnswer:" context (a completions endpoint
    takes text, not messages) and a space before each choice, as lm-evaluation-harness's ``local-completions``.

    Returns:
        One Result per item: score = acc, metrics acc and acc_norm.

    Raises:
        Unsupported: the server refuses the completions echo.
    """
    from engines.backends.registry import resolve

    found = resolve(ref)
    out = []
    for item in items:
        start = time.perf_counter()
        ctx, delim = ll_context(None, ref, item, config)
        lls = found.backend.loglikelihoods(found.ref, [(ctx, delim + c) for c in item.choices],
                                           quantization=config.quantization, settings=found.settings)
        acc, acc_norm, pred, pred_norm = scoring.acc_and_norm(lls, item.choices, item.answer)
        detail = {"context": ctx, "delimiter": delim, "loglikelihoods": lls, "pred": pred, "pred_norm": pred_norm,
                  "served": True}
        gen = Generation(f"{scoring.LETTERS[pred]}. {item.choices[pred]}", ctx, None, 0,
                         time.perf_counter() - start)
        out.append(_result(ref, item, "loglikelihood", gen, acc, metrics={"acc": acc, "acc_norm": acc_norm},
                           detail=detail))
    return out
