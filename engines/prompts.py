"""Every system/user prompt template the app sends to a model, in one place."""

from __future__ import annotations

DEFAULT_SYSTEM = "You are a helpful, concise assistant."

# Used when a chat template has no system role (Gemma): the system text is folded into the first user turn.
FOLDED_SYSTEM = "{system}\n\n{user}"

EXAMPLE_CHAT = [
    {"role": "system", "content": "You are a helpful assistant who answers in one sentence."},
    {"role": "user", "content": "What is a tokenizer?"},
    {"role": "assistant", "content": "A tokenizer splits text into the integer ids a model reads."},
    {"role": "user", "content": "Why do token counts differ between models?"},
]


FOLDED_NOTICE = ("This model's chat template has no system role: the system text was folded into the first user "
                 "message.")


def apply_template(tokenizer, messages: list[dict], *, add_generation_prompt: bool = True,
                   no_system_role: bool = False,
                   tools: list[dict] | None = None) -> tuple[str, list[dict], str | None]:
    """Render ``messages`` through the tokenizer's chat template, rendering once.

    Where the template has no system role (known from the catalog, or its template raises on one), the system
    text is folded into the first user turn and a notice says so.

    Args:
        tokenizer: a tokenizer with a ``chat_template``.
        messages: validated chat messages.
        add_generation_prompt: end with the tokens that open the assistant's turn.
        no_system_role: the catalog says the template has no system role.
        tools: function schemas the template renders (its own tool instructions).

    Returns:
        (text, messages actually rendered, notice or None).

    Raises:
        InvalidInput: the template rejected the messages for another reason.
    """
    from engines.errors import InvalidInput

    has_system = any(m["role"] == "system" for m in messages)
    notice = None
    if has_system and no_system_role:
        messages, notice = fold_system(messages), FOLDED_NOTICE
    extra = {"tools": tools} if tools else {}
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                             **extra)
    except Exception as exc:  # jinja raise_exception("System role not supported") and the like
        if not (has_system and notice is None and "system" in str(exc).lower()):
            raise InvalidInput(f"The chat template rejected these messages: {exc}") from None
        messages, notice = fold_system(messages), FOLDED_NOTICE
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                             **extra)
    return text, messages, notice


PROMPT_FORMATS = ("raw", "chat")  # next-token view: continue the text as written, or wrap it in the chat template
RAW_NO_TEMPLATE_NOTICE = ("API models always wrap the prompt in their chat template (the chat API takes messages, "
                          "not raw text): it ran with the chat template.")


def raw_text(messages: list[dict]) -> str:
    """The text a raw (no chat template) prompt continues: the system text, a blank line, then the user text."""
    return FOLDED_SYSTEM.format(system=messages[0]["content"], user=_user_text(messages)) \
        if messages and messages[0]["role"] == "system" and messages[0]["content"].strip() else _user_text(messages)


def _user_text(messages: list[dict]) -> str:
    return "\n\n".join(m["content"] for m in messages if m["role"] != "system")


def fold_system(messages: list[dict]) -> list[dict]:
    """Merge leading system messages into the first user message (for templates without a system role).

    Args:
        messages: chat messages with "role" and "content".

    Returns:
        A new list without system messages; the system text leads the first user turn.
    """
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system" and m.get("content"))
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for m in rest:
        if m.get("role") == "user":
            m["content"] = FOLDED_SYSTEM.format(system=system, user=m.get("content", ""))
            return rest
    return [{"role": "user", "content": system}, *rest]


# ------------------------------------------------------------------------------------------- synthetic data

SYNTHETIC_SYSTEM = (
    "You generate realistic synthetic data. Answer with JSON Lines only: one JSON object per line, with exactly "
    "the keys listed, values of the stated types, no prose, no numbering, no code fences."
)

SYNTHETIC_USER = """Dataset: {description}

Fields:
{fields}

Write {n} new, distinct rows as JSON Lines ({n} lines). Each line looks like:
{shape}{variation}"""

# Appended per batch when diversity is on: a different angle, a seed and the values to avoid.
SYNTHETIC_VARIATION = "\n\nBatch {batch}, variation seed {seed}: focus on {focus}."
SYNTHETIC_AVOID = "\nAlready used for {field} (do not repeat): {values}."
SYNTHETIC_BALANCE = "\nUnder-represented so far, prefer: {field} = {values}."
SYNTHETIC_NO_REPEAT = "\n\nDo not repeat rows you may have written before."

SYNTHETIC_FOCUS = (
    "typical, everyday cases",
    "less common but realistic cases",
    "edge cases within the allowed ranges",
    "a wide spread of numeric values across the ranges",
    "different regions, cultures and names",
    "short and long text values",
    "values near the minimum of each range",
    "values near the maximum of each range",
    "unusual combinations of the fields",
    "a mix that a careful analyst would find representative",
)


# --- code converter (engines/codeconv.py) ---

CODE_SYSTEM = (
    "You convert Python programs into C++17 for maximum speed. Reply with the complete C++ source only, in one "
    "```cpp code block, with no explanation before or after it."
)

CODE_USER = """Rewrite this Python program in C++17 so that it prints exactly the same output (byte for byte, except \
lines that only report elapsed time) and runs as fast as possible on {arch}. It is compiled with:
    {compile_command}

Rules:
- Include every header you use; the code must compile without warnings-as-errors changes or extra files.
- Watch integer types: use 64-bit (or unsigned/128-bit) integers wherever a value could overflow 32 bits, and \
reproduce Python's wrap-around or modulo semantics exactly (Python's % of a negative number is non-negative).
- Keep random number generators bit-identical: implement the same algorithm with the same constants and types; \
never substitute <random> or rand().
- Keep floating-point results identical: same operation order, double precision, no -ffast-math tricks; print \
floats with the same number of digits Python prints.
- Time the same sections Python times, with std::chrono, and print those lines in the same format.

Python program:
```python
{python}
```"""

CODE_FIX_USER = """This C++ does not compile with `{compile_command}`:
```cpp
{cpp}
```

Compiler output:
```
{errors}
```

Fix it. Reply with the complete corrected C++17 source only, in one ```cpp code block. It must still print exactly \
what this Python program prints:
```python
{python}
```"""


# --------------------------------------------------------------------------- Images tab
# Example prompts of our own for text-to-image (FLUX reads up to 256 T5 tokens; CLIP-based models 77).
IMAGE_EXAMPLES = [
    "A red fox curled up asleep on a mossy log in a misty pine forest at dawn, soft golden light, 35mm photo",
    "An isometric cutaway of a tiny underground bakery run by moles, warm lamplight, detailed digital illustration",
    "A hand-lettered chalkboard menu outside a seaside café that reads \"Fresh Figs Today\", watercolor style",
    "A vintage travel poster of a lighthouse on a cliff above a stormy sea, bold flat colors, art deco typography",
    "Macro photograph of dew drops on a spider web, each drop reflecting a tiny sunrise, shallow depth of field",
    "A cozy reading nook in a treehouse with round windows, stacks of books and a sleeping cat, Studio Ghibli mood",
]


# --------------------------------------------------------------------------------------- Minutes tab (issue 4)

MINUTES_SYSTEM = """You write meeting minutes in Markdown from a meeting transcript (or from notes taken on it).
Transcript lines start with a [hh:mm:ss] timestamp. Use only what was said; write "not stated" when something is
missing. Never invent names, dates or decisions. Write exactly these four sections:

## Summary
**Attendees:** names, or not stated · **Date:** or not stated · **Location:** or not stated
Then two to four sentences on the purpose and outcome of the meeting.

## Discussion points
- one bullet per topic, with the main arguments

## Takeaways
- decisions and conclusions

## Action items
| # | Action | Owner | Due | Source |
|---|--------|-------|-----|--------|
| 1 | what is to be done | who, or unassigned | when, or not stated | [hh:mm:ss] |

The Source column holds the timestamp of the transcript line where the action was agreed."""

MINUTES_USER = "Transcript:\n\n{transcript}\n\nWrite the minutes of this meeting."

MINUTES_REDUCE_USER = ("Notes on the {parts} consecutive parts of one meeting, in order:\n\n{notes}\n\n"
                       "Write the minutes of the whole meeting from these notes.")

MINUTES_MAP_SYSTEM = """You take notes on one part of a long meeting transcript; other parts are summarized separately.
Transcript lines start with a [hh:mm:ss] timestamp. Write short Markdown bullets, no preamble:
- attendees, date and location, only if stated
- each topic discussed, with the main points
- decisions
- action items: what, owner, due date (where stated) and the [hh:mm:ss] timestamp they come from"""

MINUTES_MAP_USER = "Part {part} of {parts} ({start}–{end}):\n\n{transcript}"

MINUTES_COMBINE_USER = ("Merge these notes on consecutive parts of one meeting into one shorter set of notes. Keep "
                        "every decision and every action item with its owner, due date and [hh:mm:ss] timestamp."
                        "\n\n{notes}")


# --------------------------------------------------------------------------------------- Evaluate tab (issue 17)
# What each model is asked, per item kind. Log-likelihood scoring follows lm-evaluation-harness's ARC/MMLU-style
# "Question: …\nAnswer:" context; the other kinds are generated answers.

EVAL_FREEFORM_USER = "{question}"

EVAL_CHOICE_LL_USER = "Question: {question}\nAnswer:"

EVAL_CHOICE_LETTER_USER = """{question}

{options}

Answer with the letter of the correct option only."""

EVAL_CODE_USER = """{question}

Write the complete Python solution in one ```python code block. Tests like these will be run against it:
```python
{tests}
```"""

EVAL_RUBRIC_USER = "{question}"

# The judge sees the task, the rubric or reference, and one answer; never which model wrote it.
JUDGE_SYSTEM = ("You are a strict, fair grader. You grade one answer at a time against the given criteria. You do "
                "not know who or what wrote the answer. Reply with exactly two lines and nothing else.")

JUDGE_USER = """Task given to the assistant:
{question}

{criteria_label}:
{criteria}

Answer to grade:
<<<
{answer}
>>>

Grade the answer from 0 (useless or wrong) to 10 (fully meets the criteria). Reply in exactly this format:
Score: <a whole number from 0 to 10>
Rationale: <one sentence>"""

JUDGE_RUBRIC_LABEL = "Grading rubric"
JUDGE_REFERENCE_LABEL = "Reference answer (the answer must agree with it; wording may differ)"

JUDGE_PAIRWISE_SYSTEM = ("You are a strict, fair grader comparing two answers to the same task. You do not know who "
                         "or what wrote them; their order is arbitrary. Reply with exactly two lines.")

JUDGE_PAIRWISE_USER = """Task:
{question}

{criteria_label}:
{criteria}

Answer A:
<<<
{answer_a}
>>>

Answer B:
<<<
{answer_b}
>>>

Which answer meets the criteria better? Reply in exactly this format:
Winner: <A, B or tie>
Rationale: <one sentence>"""


# --------------------------------------------------------------------------- Evaluate tab: contamination (issue 18)
# Guided vs general instruction (Golchin & Surdeanu 2023, "Time Travel in LLMs"): the same first piece of an item,
# once with the dataset's name and split ("guided"), once without ("general"). A model that completes the second
# piece much more faithfully when told where the item comes from has probably seen it. ``{label_block}`` is
# CONTAM_LABEL_BLOCK with the item's answer (their open-QA format), or empty for items without one.

CONTAM_GUIDED_USER = """INSTRUCTION:
You are provided with the FIRST PIECE of an instance from the {split} split of the {dataset} dataset.
Finish the SECOND PIECE of the instance as EXACTLY appeared in the dataset.
ONLY rely on the original form of the instance in the dataset to finish the SECOND PIECE.
{label_block}
FIRST PIECE:
{first_piece}

SECOND PIECE:"""

CONTAM_GENERAL_USER = """INSTRUCTION:
Finish the SECOND PIECE based on the FIRST PIECE, such that these two pieces become a single instance{label_clause}.
{label_block}
FIRST PIECE:
{first_piece}

SECOND PIECE:"""

CONTAM_LABEL_BLOCK = "\nANSWER: {label}\n"
CONTAM_LABEL_CLAUSE = " with the following ANSWER"

# A reference set of items the model cannot have seen: the same items reworded by another model.
CONTAM_PARAPHRASE_SYSTEM = ("You reword text. Keep its meaning, facts, numbers and names; change the wording and the "
                            "sentence structure as much as you can. Reply with the reworded text only.")
CONTAM_PARAPHRASE_USER = "Reword this text:\n\n{text}"
