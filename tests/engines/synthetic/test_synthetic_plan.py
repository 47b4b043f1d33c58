"""engines.synthetic.plan: a run's inputs are checked and bounded when ``stream_rows`` is called, before any model
call (the model below is never reached)."""

from __future__ import annotations

import time

import pytest

from engines import errors
from engines import synthetic as syn

NEVER = "openai:never-called"


@pytest.mark.parametrize(("kw", "message"), [
    ({"n_rows": 0}, "between 1 and 1,000"),
    ({"n_rows": 1001}, "between 1 and 1,000"),
    ({"description": "  "}, "Describe the dataset"),
    ({"fields": []}, "at least one field"),
    ({"max_attempts": 0}, "retry budget"),
    ({"batch_size": 51}, "batch size"),
    ({"temperature": 3}, "temperature"),
    ({"model": "https://example.com/model"}, "URL"),
])
def test_bad_run_inputs_fail_before_any_call(kw, message):
    args = {"description": "People", "fields": ["name"], "n_rows": 3, "model": NEVER, **kw}
    description = args.pop("description")
    with pytest.raises(errors.WorkbenchError, match=message):
        syn.stream_rows(description, **args)  # raises at call time: no iteration needed


def test_max_rows_is_configurable(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SYNTHETIC_MAX_ROWS", "10")
    assert syn.max_rows() == 10
    with pytest.raises(errors.InvalidInput, match="between 1 and 10 "):
        syn.stream_rows("People", fields=["name"], n_rows=11, model="openai:x")


# ------------------------------------------------------------------------------ bounds (issue 16 #6)


def test_two_thousand_fields_are_refused_at_once():
    """/generate_rows took 124 s on 2,000 fields: now the field count is refused before any work."""
    fields = [f"f{i}:int(0..9) # field number {i}" for i in range(2000)]
    started = time.perf_counter()
    with pytest.raises(errors.InvalidInput, match="2,000 fields defined: a dataset may have at most 50 fields"):
        syn.stream_rows("People", fields=fields, n_rows=3, model=NEVER)
    assert time.perf_counter() - started < 30  # generous: only "not minutes" matters


@pytest.mark.parametrize(("kw", "message"), [
    ({"description": "d" * 4001}, "too long \\(4,001 characters\\): keep it under 4,000 characters"),
    ({"description": 42}, "description must be text"),
    ({"fields": "name"}, "must be a list"),
    ({"fields": [{"type": "int"}]}, "needs a name"),
    ({"n_rows": "3" * 10_000}, "between 1 and 1,000 \\(got 3333"),
    ({"n_rows": True}, "between 1 and 1,000"),
    ({"temperature": "hot"}, "temperature must be a number between 0 and 2"),
    ({"temperature": float("nan")}, "temperature must be between 0 and 2"),
    ({"max_new_tokens": 10**9}, "max_new_tokens must be a whole number between 1 and"),
    ({"max_new_tokens": 0}, "max_new_tokens must be a whole number between 1 and"),
    ({"seed": [1, 2]}, "seed must be a whole number"),
    ({"seed": "x" * 10_000}, "seed must be a whole number"),
    ({"model": 5}, "model must be a model reference"),
    ({"batch_size": True}, "batch size"),
])
def test_every_run_input_is_bounded(kw, message):
    args = {"description": "People", "fields": ["name"], "n_rows": 3, "model": NEVER, **kw}
    description = args.pop("description")
    with pytest.raises(errors.InvalidInput, match=message) as info:
        syn.stream_rows(description, **args)
    assert len(str(info.value)) < 400


def test_bounds_admit_the_largest_valid_run():
    fields = [f"f{i}:int(0..9)" for i in range(syn.MAX_FIELDS)]
    it = syn.stream_rows("d" * syn.MAX_DESCRIPTION_CHARS, fields=fields, n_rows=syn.max_rows(), model=NEVER,
                         max_attempts=50, batch_size=syn.MAX_BATCH_SIZE, temperature=2.0, seed=7)
    it.close()  # checked and planned; never iterated, so no model call
