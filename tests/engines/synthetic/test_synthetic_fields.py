"""engines.synthetic.fields: field specs, normalization, specific errors, and the bounds on the field list."""

from __future__ import annotations

import pytest
from synthetic_samples import FIELDS

from engines import errors
from engines import synthetic as syn
from engines.synthetic import limits


@pytest.mark.parametrize(("fields", "message"), [
    ([], "at least one field"),
    (["a", "A"], "Duplicate field name"),
    (["x", "x:int"], "Duplicate field name"),
    (["plan:enum"], "has no values"),
    ([{"name": "plan", "type": "enum", "values": []}], "has no values"),
    (["age:int(90..18)"], "min \\(90\\) is greater than max \\(18\\)"),
    (["d:date(2024-12-31..2020-01-01)"], "is greater than max"),
    (["x:colour"], "use one of string, int"),
    (["s:string(1..3)"], "applies only to int, float and date"),
    (["n:int(a..b)"], "'a' is not a number"),
    ([{"name": "", "type": "int"}], "needs a name"),
    ([{"name": "x", "kind": "int"}], "Unknown field key"),
])
def test_bad_fields_are_specific(fields, message):
    with pytest.raises(errors.InvalidInput, match=message):
        syn.validate_fields(fields)


def test_field_specs_parse_and_normalize():
    fields = syn.validate_fields(FIELDS + [syn.Field("count", "Integer", min="1", max=10.0),
                                           {"name": "ok", "type": "boolean"}])
    by = {f.name: f for f in fields}
    assert by["name"].type == "string" and by["name"].description == "full name"
    assert (by["age"].type, by["age"].min, by["age"].max) == ("int", 18, 90)
    assert by["plan"].values == ["free", "pro", "team"]
    assert (by["signup"].min, by["signup"].max) == ("2020-01-01", "2024-12-31")
    assert (by["count"].type, by["count"].min, by["count"].max) == ("int", 1, 10)
    assert by["ok"].type == "bool"


def test_validation_copies_and_does_not_touch_the_callers_fields():
    mine = syn.Field("Plan ", "category", values=[" free", "pro", "pro", ""])
    out = syn.validate_fields([mine])[0]
    assert (out.name, out.type, out.values) == ("Plan", "enum", ["free", "pro"])
    assert (mine.name, mine.type, mine.values) == ("Plan ", "category", [" free", "pro", "pro", ""])


# ------------------------------------------------------------------------------ bounds (issue 16 #6)


def test_field_count_is_capped():
    ok = syn.validate_fields([f"f{i}:int" for i in range(limits.MAX_FIELDS)])
    assert len(ok) == limits.MAX_FIELDS == 50
    with pytest.raises(errors.InvalidInput, match="51 fields defined: a dataset may have at most 50 fields"):
        syn.validate_fields([f"f{i}:int" for i in range(51)])


def test_field_count_cap_reads_an_iterable_no_further_than_the_cap():
    taken = []

    def many():
        for i in range(100_000):
            taken.append(i)
            yield f"f{i}"

    with pytest.raises(errors.InvalidInput, match="at most 50 fields"):
        syn.validate_fields(many())
    assert len(taken) == 51


@pytest.mark.parametrize(("fields", "message"), [
    ("name", "must be a list"),
    ({"name": "x"}, "must be a list"),
    (42, "must be a list"),
    ([{"type": "int"}], "needs a name"),
    ([7], "not int"),
    ([{"name": "n" * 65}], "is too long \\(65 characters\\): 64 at most"),
    (["n" * 65 + ":int"], "is too long \\(65 characters\\): 64 at most"),
    ([{"name": "x", "description": "d" * 501}], "the description is too long \\(501 characters\\): 500 at most"),
    ([{"name": "x", "type": "enum", "values": [f"v{i}" for i in range(101)]}], "101 values: 100 at most"),
    (["x:enum(" + "|".join(f"v{i}" for i in range(101)) + ")"], "101 values: 100 at most"),
    ([{"name": "x", "type": "enum", "values": ["v" * 101]}], "is too long \\(101 characters\\): 100 at most"),
    (["x:enum(a|b) # " + "d" * 12_000], "is too long \\(12,0\\d\\d characters\\): 12,000 at most"),
    ([{"name": f"f{i}", "description": "d" * 500} for i in range(41)], "add up to 20,\\d{3} characters"),
    ([{"name": "x", "type": "t" * 100_000}], "has type 'tttt"),
])
def test_each_bound_has_a_specific_message(fields, message):
    with pytest.raises(errors.InvalidInput, match=message) as info:
        syn.validate_fields(fields)
    assert len(str(info.value)) < 400  # the user's input is named, not echoed in full


def test_limits_are_inclusive():
    fields = syn.validate_fields([{"name": "n" * 64, "description": "d" * 500},
                                  {"name": "e", "type": "enum", "values": [f"{i:0>100}" for i in range(100)]}])
    assert len(fields[0].name) == 64 and len(fields[1].values) == 100


def test_enum_values_given_as_one_text_are_split():
    f = syn.validate_fields([{"name": "plan", "type": "enum", "values": "free | pro, team"}])[0]
    assert f.values == ["free", "pro", "team"]
