"""engines.repetition: a stream that ends in a loop is recognised (and only then)."""

from __future__ import annotations

from engines.repetition import LoopGuard, tail_loop


def test_a_repeated_line_at_the_end_is_a_loop():
    text = "## Summary\nThe team met.\n" + "- The budget needs review by Friday.\n" * 6
    period, repeats = tail_loop(text)
    assert period == len("- The budget needs review by Friday.\n") and repeats >= 4


def test_ordinary_text_and_formatting_are_not_loops():
    assert tail_loop("## Summary\nAlice, Bob and Carol met in Lisbon to plan the launch.\n") is None
    assert tail_loop("| # | Action |\n|---|---|\n" + "-" * 300) is None  # short-period formatting
    assert tail_loop("a b " * 10) is None  # too little text


def test_guard_stops_once_and_keeps_one_copy():
    guard = LoopGuard(every=16)
    line = "- Review the budget before Friday.\n"
    fed = 0
    for piece in ["## Takeaways\n"] + [line] * 50:
        fed += 1
        if guard.feed(piece):
            break
    assert guard.looping and fed < 20  # noticed after a few repeats, not at the end
    assert guard.kept_text() == "## Takeaways\n" + line


def test_near_identical_lines_under_new_timestamps_are_a_loop():
    # what SmolLM2-135M really wrote for minutes: one transcript line again and again, new stamps and speakers
    lines = [f"[00:00:{28 + 4 * i:02d}] {('Bob', 'Alice', 'Carol')[i % 3]}: Good morning everyone, this is the "
             "weekly planning meeting." for i in range(12)]
    guard = LoopGuard(every=16)
    fed = 0
    for line in lines:
        fed += 1
        if guard.feed(line + "\n"):
            break
    assert guard.looping and fed <= 8
    assert guard.kept_text().count("Good morning everyone") == 1


def test_a_real_action_items_table_is_not_a_loop():
    table = "## Action items\n| # | Action | Owner | Due | Source |\n|---|---|---|---|---|\n" + "".join(
        f"| {i} | {what} | {who} | Friday | [00:0{i}:00] |\n"
        for i, (what, who) in enumerate([("Call the supplier", "Bob"), ("Finish the budget", "Carol"),
                                         ("Book the venue", "Alice"), ("Send the agenda", "Dan"),
                                         ("Review the launch plan", "Eve"), ("Update the roadmap", "Bob")], 1))
    guard = LoopGuard(every=8)
    for line in table.splitlines(keepends=True):
        guard.feed(line)
    assert not guard.looping
