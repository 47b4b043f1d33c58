"""Training data: rows from a file, a Hub (or local) dataset or the Synthetic data tab → prompt/completion examples
→ a seeded train/held-out split → the exact tokens the model will see, with the ones that carry loss.

An *example* is ``{"prompt": str | list[message], "completion": str}``: the prompt is plain text (a
prompt/completion source) or chat messages (a ``messages`` source, every turn before the last assistant reply); the
completion is the reply the model learns. ``to_trl`` turns it into what trl's ``SFTTrainer`` takes (conversational
prompt/completion through the chat template, or plain text for a base model), so the loss falls on the completion
tokens only.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import errors, prompts, textfiles
from engines.config import Settings
from engines.localpaths import local_path


class DataError(errors.InvalidInput):
    """The training data can't be used as given (empty, columns missing, every example too long, ...)."""

    title = "Dataset problem"


MESSAGE_COLUMNS = ("messages", "conversations", "conversation", "chat")
# (prompt, completion) column pairs recognised without a mapping, in order of preference
PAIRS = (("prompt", "completion"), ("instruction", "output"), ("instruction", "response"), ("question", "answer"),
         ("input", "output"), ("query", "response"), ("prompt", "response"))
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant",
                  "system": "system", "bot": "assistant"}
ROLES = ("system", "user", "assistant")
LENGTH_SAMPLE = 5000  # examples whose length is measured exactly; larger sets are sampled (seeded)


def max_rows(settings: Settings | None = None) -> int:
    """The most rows a training set may have (``Settings.finetune_max_rows``: WORKBENCH_FINETUNE_MAX_ROWS, default
    100,000)."""
    return (settings or Settings.current()).finetune_max_rows


@dataclass
class Dataset:
    """Examples ready to split, with where they came from.

    Attributes:
        examples: prompt/completion examples (see the module docstring).
        source: a short description for the run list and the model card ("upload: tickets.jsonl", ...).
        form: "chat" (messages) or "prompt-completion".
        columns: how columns were mapped, e.g. {"prompt": "question", "completion": "answer"}.
        notices: what was changed or assumed (rows skipped, columns guessed, ...).
    """

    examples: list[dict]
    source: str
    form: str
    columns: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- reading rows


def read_file(path: str | Path, notices: list[str] | None = None) -> list[dict]:
    """Rows of an uploaded JSON Lines, JSON (a list of objects) or CSV file (UTF-8, UTF-16 or Windows-1252: a file
    that is not UTF-8 adds a sentence to ``notices`` naming the encoding used).

    Raises:
        DataError: unreadable, broken UTF-16, malformed JSON (with the line number), or not objects.
    """
    path = Path(path)
    try:
        decoded = textfiles.read_text(path)
    except UnicodeDecodeError:
        raise DataError(f"'{path.name}' is not valid text: save it as UTF-8 JSON Lines or CSV.") from None
    except OSError:
        raise DataError("The uploaded file could not be read (it may have expired): upload it again.") from None
    text = decoded.text
    if notices is not None and decoded.notice(path.name):
        notices.append(decoded.notice(path.name))
    if path.suffix.lower() == ".csv" or (path.suffix.lower() not in (".json", ".jsonl") and _looks_csv(text)):
        return _read_csv(text, path.name)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = textfiles.loads(stripped)
        except json.JSONDecodeError as exc:
            raise DataError(f"'{path.name}' is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    else:
        rows = []
        for n, line in enumerate(textfiles.lines(text), 1):
            if line.strip():
                try:
                    rows.append(textfiles.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"Line {n} of '{path.name}' is not valid JSON ({exc.msg}). JSON Lines needs "
                                    "one object per line.") from None
    bad = next((i for i, r in enumerate(rows, 1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(f"Row {bad} of '{path.name}' is not a JSON object: each row needs named columns.")
    return rows


def _looks_csv(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0]
    return not first.startswith(("{", "[")) and ("," in first or "\t" in first)


def _read_csv(text: str, name: str) -> list[dict]:
    try:
        reader = textfiles.csv_reader(text, name, DataError)
        return [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise DataError(f"The CSV file could not be parsed: {exc}.") from None


def read_hub(name: str, split: str = "train", settings: Settings | None = None) -> list[dict]:
    """Rows of a Hub dataset (through ``datasets``, cached) or of a local dataset folder (works offline).

    A folder written by ``Dataset.save_to_disk`` is opened with ``load_from_disk``; any other folder of JSON Lines /
    CSV / Parquet files with ``load_dataset``.

    Raises:
        DataError: no such dataset or split, unreachable Hub, or a local folder where local paths are off.
    """
    settings = settings or Settings.current()
    name, split = (name or "").strip(), (split or "train").strip()
    if not name:
        raise DataError("Give a Hub dataset id (org/name) or a local dataset folder.")
    if "://" in name or ".." in name.replace("\\", "/").split("/"):
        raise DataError("Give a Hub dataset id like 'org/name' or a local folder, not a URL or a '..' path.")
    local = Path(name).expanduser()
    if local.is_dir() or name.startswith(("/", "./", "~")):
        if not settings.allow_local_models:
            raise DataError("Local dataset folders are disabled on this deployment: use a Hub dataset id.")
        local = local_path(name, settings, "dataset folder")  # ModelNotAllowed outside the roots
    try:
        ds = _load_local(local, split) if local.is_dir() else _load_hub(name, split)
    except DataError:
        raise
    except Exception as exc:
        raise _hub_error(exc, name, split) from None
    limit = max_rows(settings)
    return [dict(r) for r in ds.select(range(min(len(ds), limit)))]


def _load_local(folder: Path, split: str):
    import datasets

    if (folder / "dataset_info.json").exists() or (folder / "dataset_dict.json").exists():
        ds = datasets.load_from_disk(str(folder))
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise DataError(f"The dataset has no split '{split}'; it has: {', '.join(ds)}.")
            ds = ds[split]
        return ds
    return datasets.load_dataset(str(folder), split=split)


def _load_hub(name: str, split: str):
    import datasets

    return datasets.load_dataset(name, split=split)


def _hub_error(exc: Exception, name: str, split: str) -> DataError:
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if "unknown split" in low or ("split" in low and "should be one of" in low):
        return DataError(f"The dataset '{name}' has no split '{split}' ({str(exc)[:200]}).")
    if "offline" in low or "connect" in low or "couldn't reach" in low or "couldn't find" in low:
        return DataError(f"The dataset '{name}' is not in the local cache and the Hub cannot be reached. Use a "
                         "local dataset folder, or upload a JSON Lines / CSV file.")
    if "doesn't exist" in low or "not found" in low or "404" in low:
        return DataError(f"No dataset '{name}' on the Hub (or it is private): check the id.")
    return DataError(f"The dataset '{name}' could not be loaded: {text.splitlines()[0][:300]}")


# ----------------------------------------------------------------------------------------------- rows → examples


def examples_from_rows(rows: list[dict], *, source: str, prompt_column: str | None = None,
                       completion_column: str | None = None, messages_column: str | None = None,
                       settings: Settings | None = None) -> Dataset:
    """Turn rows into prompt/completion examples: chat rows (a ``messages`` column) or prompt/completion columns.

    Without a mapping the columns are recognised by name (messages / conversations; prompt+completion,
    instruction+output, question+answer, ...).

    Args:
        rows: the rows (dicts).
        source: where they came from (for the run list and the card).
        prompt_column: the column holding the prompt (text, or a list of chat messages).
        completion_column: the column holding the reply to learn.
        messages_column: the column holding a whole conversation; its last assistant message is learnt.
        settings: the deployment's settings (the row limit; read from the environment when None).

    Returns:
        The examples and how the columns were read.

    Raises:
        DataError: no rows, too many rows, a mapped column missing, rows without a value in it, or no column
            that can be recognised.
    """
    if not rows:
        raise DataError("The dataset is empty: it has no rows.")
    if len(rows) > (limit := max_rows(settings)):
        raise DataError(f"The dataset has {len(rows):,} rows; the limit is {limit:,} "
                        "(WORKBENCH_FINETUNE_MAX_ROWS). Use a subset.")
    columns = _columns(rows)
    messages_column = (messages_column or "").strip() or None
    prompt_column, completion_column = (prompt_column or "").strip() or None, (completion_column or "").strip() or None
    if messages_column is None and prompt_column is None and completion_column is None:
        messages_column = next((c for c in MESSAGE_COLUMNS if c in columns), None)
        if messages_column is None:
            prompt_column, completion_column = next(((p, c) for p, c in PAIRS if p in columns and c in columns),
                                                    (None, None))
        if messages_column is None and prompt_column is None:
            raise DataError(f"No column to learn from was found. Columns: {_names(columns)}. Map a messages column, "
                            "or a prompt and a completion column.")
    if messages_column is not None:
        _need(columns, [messages_column])
        examples = [_chat_example(row.get(messages_column), i) for i, row in enumerate(rows, 1)]
        return Dataset(examples, source, "chat", {"messages": messages_column})
    if prompt_column is None or completion_column is None:
        raise DataError("Map both a prompt column and a completion column (or a messages column).")
    _need(columns, [prompt_column, completion_column])
    examples = [_pair_example(row, prompt_column, completion_column, i, rows) for i, row in enumerate(rows, 1)]
    return Dataset(examples, source, "prompt-completion", {"prompt": prompt_column, "completion": completion_column})


def _columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows[:1000]:
        for key in row:
            seen.setdefault(str(key), None)
    return list(seen)


def _names(columns: list[str]) -> str:
    return textfiles.name_list(columns, quote=True)


def _need(columns: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise DataError(f"The rows have no column {_names(missing)}. Columns: {_names(columns)}.")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _pair_example(row: dict, p: str, c: str, n: int, rows: list[dict]) -> dict:
    prompt, completion = row.get(p), row.get(c)
    if _blank(prompt) or _blank(completion):
        missing = sum(1 for r in rows if _blank(r.get(p)) or _blank(r.get(c)))
        raise DataError(f"{missing:,} of {len(rows):,} rows (the first is row {n}) have no value in the mapped "
                        f"column{'s' if p != c else ''} '{p}' / '{c}'. Fill or remove them, or map other columns.")
    if isinstance(prompt, str) and prompt.lstrip().startswith("[") and _maybe_messages(prompt) is not None:
        prompt = _maybe_messages(prompt)
    if isinstance(prompt, list):
        prompt = _messages(prompt, n)
        if not prompt:
            raise DataError(f"Row {n}: the prompt has no messages.")
    elif not isinstance(prompt, str):
        prompt = str(prompt)
    return {"prompt": prompt, "completion": completion if isinstance(completion, str) else _text(completion)}


def _text(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[-1], dict):  # [{"role": "assistant", ...}]
        return str(value[-1].get("content", ""))
    return str(value)


def _maybe_messages(text: str) -> list | None:
    try:
        value = textfiles.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


def _messages(raw: Any, n: int) -> list[dict]:
    if isinstance(raw, str):
        parsed = _maybe_messages(raw)
        if parsed is None:
            raise DataError(f"Row {n}: the messages are not a JSON list of {{\"role\", \"content\"}} objects.")
        raw = parsed
    if not isinstance(raw, list):
        raise DataError(f"Row {n}: the messages must be a list of {{\"role\", \"content\"}} objects.")
    out = []
    for m in raw:
        if not isinstance(m, dict):
            raise DataError(f"Row {n}: each message must be an object with \"role\" and \"content\".")
        role = m.get("role", m.get("from"))
        content = m.get("content", m.get("value"))
        role = SHAREGPT_ROLES.get(str(role).lower(), str(role).lower()) if role is not None else None
        if role not in ROLES or not isinstance(content, str):
            raise DataError(f"Row {n}: a message has role {role!r}; use system, user or assistant, with text content.")
        out.append({"role": role, "content": content})
    return out


def _chat_example(raw: Any, n: int) -> dict:
    if _blank(raw):
        raise DataError(f"Row {n} has no messages in the mapped column.")
    messages = _messages(raw, n)
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None or not messages[last]["content"].strip():
        raise DataError(f"Row {n} has no assistant reply to learn from: a conversation must end with an assistant "
                        "message.")
    prompt = messages[:last]
    if not any(m["role"] == "user" for m in prompt):
        raise DataError(f"Row {n}: the assistant reply has no user message before it.")
    return {"prompt": prompt, "completion": messages[last]["content"]}


def from_synthetic(rows: list[dict], fields: list, *, target: str | None = None, description: str = "") -> Dataset:
    """Examples from the Synthetic data tab's rows: the other fields form the prompt, ``target`` is the reply.

    Args:
        rows: the generated rows.
        fields: their fields (``engines.synthetic.Field``, dicts or names), in order.
        target: the field the model learns to write (default: the last field).
        description: the dataset's description; it opens each prompt as the task.

    Returns:
        A chat-form Dataset: the user turn lists "field: value" lines, the assistant turn is the target's value.

    Raises:
        DataError: no rows, an unknown target, or no other field to build a prompt from.
    """
    names = [f if isinstance(f, str) else (f.get("name") if isinstance(f, dict) else f.name) for f in fields or []]
    names = [str(n) for n in names if n]
    if not rows:
        raise DataError("The Synthetic data tab has no rows yet: generate a dataset there first.")
    target = (target or "").strip() or (names[-1] if names else "")
    if target not in names:
        raise DataError(f"'{target}' is not a field of the synthetic dataset. Fields: {_names(names)}.")
    inputs = [n for n in names if n != target]
    if not inputs:
        raise DataError("The synthetic dataset has one field only: add fields that form the prompt.")
    task = (description.strip() + "\n\n") if description and description.strip() else ""
    examples = []
    for row in rows:
        lines = "\n".join(f"{n}: {row.get(n)}" for n in inputs)
        prompt = f"{task}{lines}\n\nWrite the {target}."
        examples.append({"prompt": [{"role": "user", "content": prompt}], "completion": str(row.get(target))})
    return Dataset(examples, f"synthetic: {len(rows):,} rows", "chat", {"prompt": ", ".join(inputs),
                                                                         "completion": target})


# ----------------------------------------------------------------------------------------------- split


def split(examples: list[dict], heldout_share: float, seed: int) -> tuple[list[dict], list[dict]]:
    """A seeded train / held-out split (same seed, same split).

    Args:
        examples: all examples.
        heldout_share: share kept for evaluation, 0 to 0.5 (at least one example when above 0 and there are 2+).
        seed: the shuffle seed.

    Returns:
        (train, heldout).

    Raises:
        DataError: no examples, or a share outside 0..0.5.
    """
    if not examples:
        raise DataError("The dataset is empty: it has no rows.")
    if not 0.0 <= float(heldout_share) <= 0.5:
        raise DataError("The held-out share must be between 0 and 0.5.")
    order = list(range(len(examples)))
    random.Random(int(seed)).shuffle(order)
    n_held = 0 if heldout_share <= 0 or len(examples) < 2 else max(1, round(len(examples) * heldout_share))
    held = sorted(order[:n_held])
    keep = [i for i in order if i not in set(held)]
    return [examples[i] for i in keep], [examples[i] for i in held]


# ----------------------------------------------------------------------------------------------- to tokens


def needs_fold(tokenizer) -> bool:
    """Whether the chat template rejects a system message (Gemma): then system text joins the first user turn."""
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        return False
    probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    try:
        tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    except Exception:
        return True
    return False


def to_trl(example: dict, tokenizer, *, fold: bool = False) -> dict:
    """The example as trl's SFTTrainer takes it: conversational prompt/completion through the chat template, or
    plain text (a base model without a template: chat turns become a "Role: text" transcript, as in chat)."""
    prompt, completion = example["prompt"], example["completion"]
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        if fold:
            messages = prompts.fold_system(messages)
        return {"prompt": messages, "completion": [{"role": "assistant", "content": completion}]}
    if isinstance(prompt, list):
        text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in prompt) + "Assistant:"
        return {"prompt": text, "completion": " " + completion.lstrip()}
    return {"prompt": prompt, "completion": completion}


def tokenize(tokenizer, example: dict) -> tuple[list[int], list[int]]:
    """Token ids of a trl example and its completion mask (1 = carries loss), exactly as trl 1.x prepares them.

    Conversational: the prompt with the generation prompt, and prompt + completion, both through the chat template;
    the completion starts where the two diverge. Plain text: the same with the tokenizer, EOS appended to the
    completion.
    """
    prompt, completion = example["prompt"], example["completion"]
    if isinstance(prompt, list):
        p_ids = tokenizer.apply_chat_template(prompt, tokenize=True, return_dict=True,
                                              add_generation_prompt=True)["input_ids"]
        ids = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)["input_ids"]
    else:
        eos = tokenizer.eos_token or ""
        if eos and not completion.endswith(eos):
            completion = completion + eos
        p_ids = tokenizer(text=prompt)["input_ids"]
        ids = tokenizer(text=prompt + completion)["input_ids"]
    p_ids, ids = list(p_ids), list(ids)
    common = 0
    for a, b in zip(p_ids, ids, strict=False):
        if a != b:
            break
        common += 1
    return ids, [0] * common + [1] * (len(ids) - common)


@dataclass
class Lengths:
    """Token lengths of the examples against the max length."""

    measured: int
    total: int
    too_long: int
    lose_reply: int  # cut so far that no completion token is left: trl drops these
    longest: int
    p95: int
    sampled: bool


def measure(trl_examples: list[dict], tokenizer, max_length: int, seed: int = 0) -> Lengths:
    """Count the examples longer than ``max_length`` (all of them up to LENGTH_SAMPLE, else a seeded sample)."""
    sample = trl_examples
    if len(sample) > LENGTH_SAMPLE:
        sample = random.Random(seed).sample(trl_examples, LENGTH_SAMPLE)
    lengths, lose = [], 0
    for ex in sample:
        ids, mask = tokenize(tokenizer, ex)
        lengths.append(len(ids))
        if not any(mask[:max_length]):
            lose += 1
    ordered = sorted(lengths) or [0]
    return Lengths(measured=len(sample), total=len(trl_examples), too_long=sum(n > max_length for n in lengths),
                   lose_reply=lose, longest=ordered[-1], p95=ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
                   sampled=len(sample) < len(trl_examples))


def check_lengths(lengths: Lengths, max_length: int) -> str | None:
    """Refuse a set whose every example is longer than ``max_length``; else a notice when some are.

    Raises:
        DataError: every example is longer than the max length (says how many, and their lengths).
    """
    of = f"of a sample of {lengths.measured:,}" if lengths.sampled else f"of {lengths.total:,}"
    if lengths.measured and lengths.too_long == lengths.measured:
        every = f"all {lengths.measured:,} sampled examples" if lengths.sampled else f"all {lengths.total:,} examples"
        raise DataError(f"Every example is longer than the max length of {max_length:,} tokens ({every}; longest "
                        f"{lengths.longest:,}, 95th percentile {lengths.p95:,}). Raise the max length to about "
                        f"{_round_up(lengths.p95):,}, or shorten the examples.")
    if lengths.too_long:
        dropped = f"; {lengths.lose_reply:,} lose their whole reply and are skipped" if lengths.lose_reply else ""
        return (f"{lengths.too_long:,} {of} examples are longer than {max_length:,} tokens and are cut there{dropped} "
                f"(longest {lengths.longest:,}).")
    return None


def _round_up(n: int) -> int:
    return max(64, 1 << (max(n, 1) - 1).bit_length())  # the next power of two, at least 64
