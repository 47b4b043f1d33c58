"""Benchmarks and leaderboards: a glossary in our own words, and published scores for catalog models.

Scores live as data in ``engines/data/benchmark_scores.json`` (versioned, validated by a test): every score names a
catalog model, a benchmark key from ``BENCHMARKS``, a value in the benchmark's range, its source link and its date.
A missing score means "unpublished (or not verified)", never zero: the tables leave it blank.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engines import registry
from engines.errors import InvalidInput, WorkbenchError

SCORES_PATH = Path(__file__).resolve().parent / "data" / "benchmark_scores.json"
SCORES_VERSION = 1
FORMATS = ("multiple choice", "free form", "code execution", "pairwise votes")
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: what it measures, how, how big it is, and what it can't tell you.

    ``low``/``high`` bound a valid score in ``unit`` (percent for accuracies, Elo points for the arena).
    """

    key: str
    name: str
    evaluates: str
    format: str
    size: str
    limits: str
    url: str
    low: float = 0.0
    high: float = 100.0
    unit: str = "%"


BENCHMARKS: dict[str, Benchmark] = {b.key: b for b in (
    # --- the first Open LLM Leaderboard (2023-24) ---
    Benchmark("arc", "ARC", "Grade-school science questions (AI2 Reasoning Challenge); the Challenge set keeps only "
              "questions that simple retrieval and word co-occurrence methods got wrong.", "multiple choice",
              "7,787 questions (2,590 in the Challenge set), 4 options", "Mostly saturated by current models; "
              "reported as Challenge only, Easy+Challenge average, 0-shot or 25-shot: numbers rarely compare.",
              "https://arxiv.org/abs/1803.05457"),
    Benchmark("drop", "DROP", "Reading comprehension that needs discrete reasoning over a paragraph: counting, "
              "adding, sorting, comparing dates and numbers.", "free form",
              "~96k questions over Wikipedia paragraphs, scored by F1", "Answer normalisation is fragile (a number "
              "cut at a stop token scores zero); Hugging Face dropped it from the Open LLM Leaderboard for that.",
              "https://arxiv.org/abs/1903.00161"),
    Benchmark("hellaswag", "HellaSwag", "Commonsense: pick the most plausible continuation of an everyday scene "
              "(ActivityNet and WikiHow); wrong endings were adversarially generated to fool early models.",
              "multiple choice", "~70k items (10k validation), 4 endings", "Near human level for modern models; "
              "some items are ungrammatical or ambiguous, so the last points measure noise.",
              "https://arxiv.org/abs/1905.07830"),
    Benchmark("mmlu", "MMLU", "Broad knowledge and problem solving across 57 subjects, from elementary maths to law "
              "and medicine (Massive Multitask Language Understanding).", "multiple choice",
              "~15.9k questions (14k test), 4 options", "Label errors in a few percent of questions, heavy "
              "contamination risk after years online, and scores vary a lot with prompt format and harness.",
              "https://arxiv.org/abs/2009.03300"),
    Benchmark("truthfulqa", "TruthfulQA", "Whether a model repeats popular misconceptions: questions written so "
              "that the common (false) answer is tempting.", "multiple choice",
              "817 questions in 38 categories (a free-form variant exists)", "Small; written against GPT-3-era "
              "failures; some 'true' answers have aged; rewards hedging as much as knowledge.",
              "https://arxiv.org/abs/2109.07958"),
    Benchmark("winogrande", "Winogrande", "Commonsense pronoun / reference resolution: fill a blank with one of two "
              "names, where one word flips the answer (large-scale Winograd schemas).", "multiple choice",
              "44k problems (1,267 dev), 2 options", "Two options give a 50% floor; adversarial filtering against "
              "older models; mostly saturated.", "https://arxiv.org/abs/1907.10641"),
    Benchmark("gsm8k", "GSM8K", "Multi-step grade-school maths word problems (2 to 8 steps) with a single numeric "
              "answer.", "free form", "8.5k problems (1,319 test)", "Saturated at the top; contamination shown by "
              "fresh look-alike sets (GSM1k) where some models drop several points; answer extraction matters.",
              "https://arxiv.org/abs/2110.14168"),
    # --- human preference and code ---
    Benchmark("elo", "Arena Elo", "Human preference: people chat with two anonymous models side by side and vote "
              "for the better answer; votes become Elo / Bradley-Terry ratings (LMArena, formerly Chatbot Arena).",
              "pairwise votes", "Millions of votes, open-ended prompts from the public", "Rewards style, length and "
              "formatting as much as correctness; the voters' prompts are not your workload; providers can test "
              "many private variants and publish the best.", "https://lmarena.ai/leaderboard", 0.0, 3000.0, "Elo"),
    Benchmark("humaneval", "HumanEval", "Writing a Python function from its signature and docstring; the result is "
              "run against unit tests (pass@k).", "code execution", "164 hand-written problems",
              "Small and Python only; weak tests let wrong code pass (EvalPlus adds many more tests); widely "
              "contaminated.", "https://arxiv.org/abs/2107.03374"),
    Benchmark("multipl_e", "MultiPL-E", "HumanEval and MBPP translated into many other programming languages, so "
              "code generation can be compared beyond Python.", "code execution",
              "164 HumanEval (+ ~400 MBPP) problems in 18+ languages", "Inherits HumanEval's weaknesses; automatic "
              "translation can make problems unidiomatic; per-language results vary a lot.",
              "https://arxiv.org/abs/2208.08227"),
    # --- Open LLM Leaderboard v2 (2024-25) ---
    Benchmark("gpqa", "GPQA", "Graduate-level biology, physics and chemistry questions written by PhD experts and "
              "checked to be 'Google-proof' (skilled non-experts with web access score about 34%).",
              "multiple choice", "448 questions (198 in the Diamond subset), 4 options", "Small, so a few questions "
              "move the score; access is gated to limit contamination, yet leaks remain possible.",
              "https://arxiv.org/abs/2311.12022"),
    Benchmark("bbh", "BBH", "BIG-Bench Hard: 23 BIG-Bench tasks where earlier models were below the average human "
              "rater: multi-step arithmetic, logical deduction, boolean expressions, date understanding, ...",
              "multiple choice", "23 tasks, ~6.5k examples", "Mix of formats and exact-match scoring; sensitive to "
              "few-shot examples and chain-of-thought prompting.", "https://arxiv.org/abs/2210.09261"),
    Benchmark("math_lvl5", "MATH level 5", "The hardest level of the MATH competition dataset (AMC, AIME-style "
              "problems in algebra, geometry, number theory, ...); the answer must be given in a set format.",
              "free form", "1,324 level-5 problems of the 12.5k in MATH", "Strict answer formatting can fail "
              "correct solutions; heavily trained on since 2023.", "https://arxiv.org/abs/2103.03874"),
    Benchmark("ifeval", "IFEval", "Following explicit, checkable instructions ('answer in under 100 words', 'no "
              "commas', 'use JSON'); compliance is verified by code, not by a judge.", "free form",
              "~500 prompts with 25 kinds of verifiable instructions", "Measures format compliance, not whether "
              "the answer is any good; strict vs loose and prompt vs instruction level give different numbers.",
              "https://arxiv.org/abs/2311.07911"),
    Benchmark("musr", "MuSR", "Multistep soft reasoning over long generated narratives: murder mysteries, object "
              "placement, team allocation.", "multiple choice", "756 narratives of ~1,000 words in 3 domains",
              "Synthetic stories written by an LLM; small; few-option questions keep the random baseline high.",
              "https://arxiv.org/abs/2310.16049"),
    Benchmark("mmlu_pro", "MMLU-PRO", "A harder, cleaner MMLU: more reasoning-heavy questions, 10 options instead of "
              "4, noisy questions removed by expert review.", "multiple choice", "~12k questions in 14 subjects, 10 "
              "options", "Still multiple choice and knowledge-heavy; chain-of-thought vs direct answering changes "
              "scores by many points.", "https://arxiv.org/abs/2406.01574"),
)}


@dataclass(frozen=True)
class Leaderboard:
    """A public leaderboard and what it ranks."""

    name: str
    url: str
    ranks: str


LEADERBOARDS: tuple[Leaderboard, ...] = (
    Leaderboard("Open LLM Leaderboard (Hugging Face, archived 2025)",
                "https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard",
                "Open-weights models run by Hugging Face with one harness on IFEval, BBH, MATH level 5, GPQA, MuSR "
                "and MMLU-PRO (v2; v1 used ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K)."),
    Leaderboard("BigCode Models Leaderboard", "https://huggingface.co/spaces/bigcode/bigcode-models-leaderboard",
                "Open code models on HumanEval and MultiPL-E across programming languages, with throughput."),
    Leaderboard("LLM-Perf Leaderboard", "https://huggingface.co/spaces/optimum/llm-perf-leaderboard",
                "Speed, not quality: latency, throughput, memory and energy of open models per hardware, backend "
                "and quantization."),
    Leaderboard("Vellum LLM Leaderboard", "https://www.vellum.ai/llm-leaderboard",
                "Frontier and open models side by side on recent reasoning, coding and maths benchmarks, with "
                "price, context window and speed."),
    Leaderboard("SEAL Leaderboards (Scale AI)", "https://scale.com/leaderboard",
                "Frontier models on private, expert-written evaluation sets (coding, instruction following, maths, "
                "agents), kept private to resist contamination."),
    Leaderboard("LMArena (formerly Chatbot Arena)", "https://lmarena.ai/leaderboard",
                "Human preference: Elo-style ratings from millions of blind pairwise votes, by category."),
)

LIMITS = (
    ("Contamination", "Benchmark questions leak into web-scale training data; a model can recite answers it has "
                      "seen. Fresh or private sets (GSM1k, SEAL) often show lower scores."),
    ("Narrow scope", "Each benchmark measures one thin slice (multiple-choice knowledge, Python functions, "
                     "format compliance); none measures your task, your prompts or your users."),
    ("Overfitting", "Once a number becomes the target, training recipes and prompt formats are tuned to it: "
                    "leaderboard gains can stop transferring to real use."),
    ("Inconsistent harnesses", "Shots, chain of thought, prompt templates, answer extraction and metrics differ "
                               "between model cards and leaderboards: two numbers for the 'same' benchmark often "
                               "are not comparable."),
    ("Saturation and noise", "Near the ceiling, the remaining points are label errors and ambiguous items; small "
                             "sets (HumanEval, GPQA) swing by points on a handful of questions."),
)


@dataclass(frozen=True)
class Score:
    """One published score."""

    model: str
    benchmark: str
    value: float
    source: str
    date: str
    setting: str = ""


def glossary_rows() -> list[dict]:
    """The glossary as table rows, in display order.

    Returns:
        One dict per benchmark: benchmark, evaluates, format, size, limits, paper/link.
    """
    return [{"benchmark": b.name, "evaluates": b.evaluates, "format": b.format, "size": b.size,
             "known limits": b.limits, "link": b.url} for b in BENCHMARKS.values()]


def validate_scores(data: dict) -> list[str]:
    """Every problem in a score file (empty when valid).

    Checks: the version, the shape of each entry, a catalog model id, a known benchmark key, a number inside the
    benchmark's range, an https source, a YYYY-MM[-DD] date, and no duplicate (model, benchmark, setting).

    Args:
        data: the parsed JSON of a score file.

    Returns:
        Human-readable problems, one per line.
    """
    if not isinstance(data, dict):
        return ["the score file must be a JSON object"]
    problems = []
    if data.get("version") != SCORES_VERSION:
        problems.append(f"version must be {SCORES_VERSION}, got {data.get('version')!r}")
    scores = data.get("scores")
    if not isinstance(scores, list):
        return [*problems, "'scores' must be a list"]
    seen: set[tuple] = set()
    for i, entry in enumerate(scores):
        problems += [f"score {i + 1}: {p}" for p in _entry_problems(entry)]
        if isinstance(entry, dict):
            key = (entry.get("model"), entry.get("benchmark"), entry.get("setting", ""))
            if key in seen:
                problems.append(f"score {i + 1}: duplicate of an earlier {key[0]} / {key[1]} score")
            seen.add(key)
    return problems


def _entry_problems(entry: object) -> list[str]:
    if not isinstance(entry, dict):
        return ["must be an object"]
    out = []
    model, bench, value = entry.get("model"), entry.get("benchmark"), entry.get("value")
    if registry.get(model) is None:
        out.append(f"model {model!r} is not in the catalog")
    spec = BENCHMARKS.get(bench)
    if spec is None:
        out.append(f"benchmark {bench!r} is not one of {', '.join(BENCHMARKS)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(f"value {value!r} is not a number")
    elif spec is not None and not spec.low <= value <= spec.high:
        out.append(f"value {value} is outside {spec.low:g}..{spec.high:g} {spec.unit}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.startswith("https://"):
        out.append("needs a source link (https://...)")
    if not isinstance(entry.get("date"), str) or not _DATE.match(entry["date"]):
        out.append(f"date {entry.get('date')!r} is not YYYY-MM or YYYY-MM-DD")
    unknown = set(entry) - {"model", "benchmark", "value", "source", "date", "setting"}
    if unknown:
        out.append(f"unknown fields {sorted(unknown)}")
    return out


def load_scores(path: str | Path | None = None) -> list[Score]:
    """Read and validate a score file.

    Args:
        path: the JSON file; default the bundled ``engines/data/benchmark_scores.json``.

    Returns:
        The scores, in file order.

    Raises:
        WorkbenchError: the file is missing, not JSON, or fails validation (each problem listed).
    """
    path = Path(path) if path else SCORES_PATH
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise WorkbenchError(f"The benchmark score file {path.name} could not be read: {exc}") from None
    return list(_load(str(path), mtime))


@cache
def _load(path: str, mtime: int) -> tuple[Score, ...]:
    """Parsed and validated once per file version (``mtime`` is part of the key)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkbenchError(f"The benchmark score file {Path(path).name} could not be read: {exc}") from None
    problems = validate_scores(data)
    if problems:
        raise WorkbenchError(f"The benchmark score file {Path(path).name} is invalid: " + "; ".join(problems[:5]))
    return tuple(Score(model=e["model"], benchmark=e["benchmark"], value=float(e["value"]), source=e["source"],
                       date=e["date"], setting=e.get("setting", "")) for e in data["scores"])


def scored_id(model: str) -> str:
    """Scores belong to weights: a served entry (``hf:org/name``, ``vllm:org/name``) of a Hub model in the catalog
    shares that model's scores."""
    from engines.backends.registry import split_prefix

    prefix, name = split_prefix(model)
    return name if prefix is not None and registry.get(name) else model


def scores_for(models: list[str], path: str | Path | None = None) -> list[Score]:
    """Published scores of the chosen models, in the order the models were given.

    Args:
        models: catalog ids.
        path: score file (default: the bundled one).

    Returns:
        The scores (an ``hf:`` id reports the scores of the Hub model it serves, under its own id).

    Raises:
        InvalidInput: no model chosen, or an id outside the catalog.
    """
    chosen = _chosen(models)
    by_model: dict[str, list[Score]] = {}
    for s in load_scores(path):
        by_model.setdefault(s.model, []).append(s)
    out = []
    for model in chosen:
        out += [Score(model=model, benchmark=s.benchmark, value=s.value, source=s.source, date=s.date,
                      setting=s.setting) for s in by_model.get(scored_id(model), [])]
    return out


def _chosen(models: list[str] | str | None) -> list[str]:
    if isinstance(models, str):
        models = [models]
    chosen = list(dict.fromkeys(m.strip() for m in (models or []) if m and m.strip()))
    if not chosen:
        raise InvalidInput("Choose at least one model to see its published scores.")
    unknown = [m for m in chosen if registry.get(m) is None]
    if unknown:
        raise InvalidInput("Published scores exist only for catalog models; not in the catalog: "
                           f"{', '.join(unknown)}.")
    return chosen


def score_matrix(models: list[str], path: str | Path | None = None) -> tuple[list[str], list[dict]]:
    """A wide table: one row per model, one column per benchmark (None where unpublished).

    Args:
        models: catalog ids.
        path: score file (default: the bundled one).

    Returns:
        (columns, rows): columns are "model" then benchmark names; rows map column → value. Where a source gives
        one benchmark under several settings, the first listed is shown.
    """
    chosen = _chosen(models)
    scores = scores_for(chosen, path)
    columns = ["model", *(b.name for b in BENCHMARKS.values())]
    rows = []
    for model in chosen:
        spec = registry.get(model)
        row: dict = dict.fromkeys(columns)
        row["model"] = spec.label if spec else model
        for s in scores:
            if s.model == model and row[BENCHMARKS[s.benchmark].name] is None:
                row[BENCHMARKS[s.benchmark].name] = s.value
        rows.append(row)
    return columns, rows


def models_with_scores(path: str | Path | None = None) -> list[str]:
    """Catalog ids that have at least one published score in the file, in catalog order."""
    scored = {s.model for s in load_scores(path)}
    return [s.id for s in registry.all_specs() if scored_id(s.id) in scored]
