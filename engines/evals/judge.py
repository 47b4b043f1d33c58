"""LLM-as-judge: any model reference grades one answer against a rubric or a reference (a score and a one-line
rationale), or compares two answers in both orders (position swap) and reports whether the two verdicts agree.

The judge sees the task, the criteria and the answer text only: never which model wrote it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from engines import prompts
from engines.evals.scoring import Verdict, parse_pairwise, parse_verdict

JUDGE_MAX_NEW_TOKENS = 200


@dataclass
class JudgeCall:
    """One judge call: the verdict, the judge's own tokens and time."""

    verdict: Verdict
    seconds: float
    prompt_tokens: int | None
    completion_tokens: int | None


def _ask(judge: str, system: str, user: str) -> tuple[str, float, int | None, int | None]:
    from engines.chat import stream_chat

    start = time.perf_counter()
    parts, stats = [], None
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    for chunk in stream_chat(judge, messages, max_new_tokens=JUDGE_MAX_NEW_TOKENS, temperature=0.0):
        parts.append(chunk.text)
        stats = chunk.stats or stats
    return ("".join(parts), time.perf_counter() - start, getattr(stats, "prompt_tokens", None),
            getattr(stats, "tokens", None))


def criteria_for(rubric: str = "", references: list[str] | None = None) -> tuple[str, str]:
    """(label, text) of what the judge grades against: the rubric, else the reference answer(s)."""
    if rubric.strip():
        return prompts.JUDGE_RUBRIC_LABEL, rubric.strip()
    return prompts.JUDGE_REFERENCE_LABEL, "\n".join(f"- {r}" for r in (references or [])) or "(none given)"


def judge_prompt(question: str, answer: str, *, rubric: str = "", references: list[str] | None = None) -> str:
    """The user message a judge receives for one answer (no model name in it)."""
    label, criteria = criteria_for(rubric, references)
    return prompts.JUDGE_USER.format(question=question, criteria_label=label, criteria=criteria, answer=answer)


def judge_answer(judge: str, question: str, answer: str, *, rubric: str = "",
                 references: list[str] | None = None) -> JudgeCall:
    """Grade one answer with a judge model.

    Args:
        judge: any model reference (local, openai:, hf:, ollama:).
        question: the task the answer responds to.
        answer: the answer text (anonymous).
        rubric: grading criteria; when empty, the references are the criteria.
        references: reference answers.

    Returns:
        JudgeCall whose verdict has score None when the judge's reply holds no readable score.
    """
    raw, seconds, p_tok, c_tok = _ask(judge, prompts.JUDGE_SYSTEM,
                                      judge_prompt(question, answer, rubric=rubric, references=references))
    return JudgeCall(parse_verdict(raw), seconds, p_tok, c_tok)


@dataclass
class PairwiseVerdict:
    """Two answers compared in both orders. ``first``/``second``: the winner read from each order, mapped back to
    "a" / "b" / "tie" (None when unreadable); ``winner`` is theirs when they agree, else None."""

    first: str | None
    second: str | None
    rationale_first: str
    rationale_second: str

    @property
    def agree(self) -> bool | None:
        """Whether both orders name the same winner (None when either verdict is unreadable)."""
        if self.first is None or self.second is None:
            return None
        return self.first == self.second

    @property
    def winner(self) -> str | None:
        """"a", "b" or "tie" when both orders agree, else None."""
        return self.first if self.agree else None


def _mapped(letter: str | None, swapped: bool) -> str | None:
    if letter is None or letter == "tie":
        return letter
    if swapped:
        return "b" if letter == "A" else "a"
    return "a" if letter == "A" else "b"


def pairwise(judge: str, question: str, answer_a: str, answer_b: str, *, rubric: str = "",
             references: list[str] | None = None) -> PairwiseVerdict:
    """Compare two answers with a judge, once as (A, B) and once swapped as (B, A).

    Args:
        judge: any model reference.
        question: the task.
        answer_a: the first model's answer (anonymous).
        answer_b: the second model's answer (anonymous).
        rubric: grading criteria; when empty, the references are the criteria.
        references: reference answers.

    Returns:
        PairwiseVerdict with both orders' winners in terms of a / b.
    """
    label, criteria = criteria_for(rubric, references)
    verdicts = []
    for swapped, (x, y) in ((False, (answer_a, answer_b)), (True, (answer_b, answer_a))):
        user = prompts.JUDGE_PAIRWISE_USER.format(question=question, criteria_label=label, criteria=criteria,
                                                  answer_a=x, answer_b=y)
        raw = _ask(judge, prompts.JUDGE_PAIRWISE_SYSTEM, user)[0]
        letter, rationale = parse_pairwise(raw)
        verdicts.append((_mapped(letter, swapped), rationale))
    return PairwiseVerdict(verdicts[0][0], verdicts[1][0], verdicts[0][1], verdicts[1][1])


@dataclass
class PairwiseSummary:
    """Pairwise judging of two models over a run's items: wins counted only where both orders agree."""

    model_a: str
    model_b: str
    judge: str
    total: int
    rows: list[dict]  # item_id, first, second, winner, agree, rationale_first, rationale_second

    def count(self, key: str, value) -> int:
        """How many rows have ``row[key] == value``."""
        return sum(1 for r in self.rows if r.get(key) == value)

    @property
    def agreement(self) -> float | None:
        """Share of readable items where both orders named the same winner."""
        readable = [r for r in self.rows if r["agree"] is not None]
        return sum(1 for r in readable if r["agree"]) / len(readable) if readable else None


def judge_run_pairs(run_id: str, model_a: str, model_b: str, judge: str, *, store=None,
                    stop=None, settings=None):
    """Judge two models of a stored run answer by answer, both orders per item (verdicts are stored; a repeat
    reuses them).

    Args:
        run_id: the run.
        model_a: one model of the run.
        model_b: another.
        judge: the judge model reference.
        store: the runs database (default: the app's data directory).
        stop: a threading.Event to stop.
        settings: the deployment's settings (``engines.config.Settings``; read from the environment when None).

    Yields:
        PairwiseSummary after each judged item.

    Raises:
        InvalidInput: a model not in the run, the same model twice, or no item both answered.
    """
    from engines.errors import InvalidInput
    from engines.evals.store import RunStore
    from engines.refs import parse_ref

    store = store or RunStore.default(settings)
    run = store.get_run(run_id)
    for m in (model_a, model_b):
        if m not in run.models:
            raise InvalidInput(f"'{m}' is not a model of run {run_id} ({', '.join(run.models)}).")
    if model_a == model_b:
        raise InvalidInput("Pick two different models to compare.")
    judge = parse_ref((judge or "").strip(), settings).raw
    testset = store.load_testset(run.set_hash)
    answers = {(r.model, r.item_id): r.output for r in store.results(run_id) if not r.error and r.output}
    items = [i for i in testset.items if (model_a, i.id) in answers and (model_b, i.id) in answers]
    if not items:
        raise InvalidInput("No item has answers from both models yet: run (or resume) the evaluation first.")
    stored = store.pairwise(run_id, model_a, model_b, judge)
    summary = PairwiseSummary(model_a, model_b, judge, len(items), [])
    for item in items:
        if stop is not None and stop.is_set():
            break
        row = stored.get(item.id)
        if row is None:
            v = pairwise(judge, item.question, answers[(model_a, item.id)], answers[(model_b, item.id)],
                         rubric=item.rubric, references=item.references)
            row = {"item_id": item.id, "first": v.first, "second": v.second, "winner": v.winner, "agree": v.agree,
                   "rationale_first": v.rationale_first, "rationale_second": v.rationale_second}
            store.add_pairwise(run_id, model_a, model_b, judge, item.id, row)
        summary.rows.append(row)
        yield summary
