"""engines.synthetic.validate: coercion where it is safe, and the reasons a row is rejected."""

from __future__ import annotations

import pytest
from synthetic_samples import FIELDS, row

from engines import synthetic as syn


def test_coercion_where_safe_and_rejection_reasons():
    fields = syn.validate_fields(FIELDS)
    good, coerced = syn.validate_row({"Name": " Ann ", "AGE": "42", "plan": "PRO", "active": "yes",
                                      "signup": "2021/03/04", "score": 1, "extra": "dropped"}, fields)
    assert good == {"name": "Ann", "age": 42, "plan": "pro", "active": True, "signup": "2021-03-04", "score": 1.0}
    assert coerced and type(good["age"]) is int and type(good["score"]) is float
    assert list(good) == [f.name for f in fields]
    for bad, reason in [({"age": 17}, "age: below the minimum"), ({"age": 4.5}, "age: not an integer"),
                        ({"age": True}, "age: not a number"), ({"plan": "gold"}, "plan: not one of"),
                        ({"active": "maybe"}, "active: not true/false"),
                        ({"signup": "01/02/2021"}, "signup: not a date"),
                        ({"signup": "2019-12-31"}, "signup: below"), ({"score": "nan"}, "score: not a number"),
                        ({"name": ""}, "name: empty"), ({"name": None}, "name: null")]:
        with pytest.raises(ValueError, match=reason):
            syn.validate_row(row(1, **bad), fields)
    with pytest.raises(ValueError, match="plan: missing"):
        syn.validate_row({k: v for k, v in row(1).items() if k != "plan"}, fields)


def test_a_row_that_is_not_an_object_is_rejected():
    with pytest.raises(ValueError, match="not a JSON object"):
        syn.validate_row([1, 2], syn.validate_fields(FIELDS))
