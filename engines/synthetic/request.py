"""Building one batch's request: the messages (templates in ``engines.prompts``), the diversity hints, the sampling
temperature and seed, and the token budget."""

from __future__ import annotations

import json
import random
from collections import Counter

from engines import prompts
from engines.config import Settings
from engines.synthetic.fields import Field
from engines.synthetic.plan import Plan

_PLACEHOLDER = {"string": "\"...\"", "int": "<integer>", "float": "<number>", "bool": "<true|false>",
                "enum": "\"<one of the values>\"", "date": "\"YYYY-MM-DD\""}


def describe_field(f: Field) -> str:
    """One line for the prompt: the key, its type and constraints, and its meaning."""
    rng = ""
    if f.min is not None and f.max is not None:
        rng = f" between {f.min} and {f.max}"
    elif f.min is not None:
        rng = f" of at least {f.min}"
    elif f.max is not None:
        rng = f" of at most {f.max}"
    kind = {"string": "text", "int": f"integer{rng}", "float": f"number{rng}", "bool": "true or false",
            "enum": "one of " + ", ".join(json.dumps(v) for v in (f.values or [])),
            "date": f"date as \"YYYY-MM-DD\"{rng}"}[f.type]
    return f"- {json.dumps(f.name)}: {kind}" + (f" — {f.description}" if f.description else "")


def row_shape(fields: list[Field]) -> str:
    """The shape of one row as a JSON-like line with a placeholder per field."""
    return "{" + ", ".join(f"{json.dumps(f.name)}: {_PLACEHOLDER[f.type]}" for f in fields) + "}"


def batch_tokens(plan: Plan, want: int) -> int:
    """Tokens for a batch of ``want`` rows: the plan's ``max_new_tokens``, else estimated from the fields."""
    if plan.max_new_tokens:
        return plan.max_new_tokens
    per_row = 6 + sum(len(f.name) // 3 + 2 + (24 if f.type == "string" else 6) for f in plan.fields)
    limit = (plan.settings or Settings.current()).max_new_tokens
    return max(64, min(limit, int(per_row * want * 1.3) + 32))


def batch_request(plan: Plan, batch: int, want: int, history: list[dict],
                  rng: random.Random) -> tuple[list[dict], float, int]:
    """The messages, temperature and sampling seed of batch number ``batch`` (1-based).

    Args:
        plan: the run's plan.
        batch: the batch number.
        want: rows to ask for.
        history: the rows accepted so far (for the values-to-avoid and balance hints).
        rng: the run's random source (seeded by ``plan.seed``).

    Returns:
        (messages, temperature, seed).
    """
    seed = rng.randrange(1, 1_000_000)
    variation = prompts.SYNTHETIC_NO_REPEAT if batch > 1 else ""
    temperature = plan.temperature
    if plan.diversity:
        focus = prompts.SYNTHETIC_FOCUS[0] if batch == 1 else rng.choice(prompts.SYNTHETIC_FOCUS)
        variation = prompts.SYNTHETIC_VARIATION.format(batch=batch, seed=seed, focus=focus)
        variation += _avoid_hint(plan.fields, history, rng) + _balance_hint(plan.fields, history)
        if temperature > 0:
            temperature = round(min(2.0, max(0.05, temperature + rng.uniform(-0.15, 0.15))), 3)
    user = prompts.SYNTHETIC_USER.format(description=plan.description, n=want, shape=row_shape(plan.fields),
                                         fields="\n".join(describe_field(f) for f in plan.fields),
                                         variation=variation)
    messages = [{"role": "system", "content": prompts.SYNTHETIC_SYSTEM}, {"role": "user", "content": user}]
    return messages, temperature, seed


def _avoid_hint(fields: list[Field], history: list[dict], rng: random.Random) -> str:
    hints = []
    for f in [f for f in fields if f.type == "string"][:2]:
        used = list(dict.fromkeys(str(r[f.name])[:40] for r in history))
        if used:
            sample = rng.sample(used, min(12, len(used)))
            hints.append(prompts.SYNTHETIC_AVOID.format(field=f.name, values="; ".join(sample)))
    return "".join(hints)


def _balance_hint(fields: list[Field], history: list[dict]) -> str:
    hints = []
    for f in fields:
        if f.type not in ("enum", "bool") or len(history) < 4:
            continue
        options = f.values if f.type == "enum" else [True, False]
        counts = Counter(r[f.name] for r in history)
        mean = len(history) / len(options)
        rare = [json.dumps(v) for v in options if counts[v] < 0.6 * mean]
        if rare:
            hints.append(prompts.SYNTHETIC_BALANCE.format(field=f.name, values=", ".join(rare[:8])))
    return "".join(hints)
