"""engines.images.inputs: seed parsing and the request checks (pure: nothing is loaded)."""

from __future__ import annotations

import pytest

from engines import errors
from engines import images as im


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), (None, None), ("  ", None), ("0", 0), ("4294967295", 4294967295), (" 1_000 ", 1000),
    (123, 123), (7.0, 7),
])
def test_parse_seed(value, expected):
    assert im.parse_seed(value) == expected


@pytest.mark.parametrize("value", ["-1", "4294967296", "abc", "1.5", 1.5, True, 2.0**60, "99999999999999999999"])
def test_parse_seed_rejects(value):
    with pytest.raises(errors.InvalidInput):
        im.parse_seed(value)


def test_random_seed_in_range():
    seeds = {im.random_seed() for _ in range(50)}
    assert all(0 <= s <= im.MAX_SEED for s in seeds) and len(seeds) > 1


def test_check_request_strips_the_prompt_and_fills_a_seed():
    assert im.check_request("  a cat \n", 4, 64, 64, 5) == ("a cat", 5)
    prompt, seed = im.check_request("a cat", 4, 64, 64, None)
    assert prompt == "a cat" and 0 <= seed <= im.MAX_SEED


def test_check_request_reports_the_first_problem_in_order():
    # prompt before steps before size before seed: the message names the first one
    with pytest.raises(errors.InvalidInput, match="prompt is empty"):
        im.check_request("", 0, 1, 1, -1)
    with pytest.raises(errors.InvalidInput, match="Steps"):
        im.check_request("a cat", 0, 1, 1, -1)
    with pytest.raises(errors.InvalidInput, match="width"):
        im.check_request("a cat", 4, 1, 1, -1)
    with pytest.raises(errors.InvalidInput, match="negative"):
        im.check_request("a cat", 4, 64, 64, -1)
