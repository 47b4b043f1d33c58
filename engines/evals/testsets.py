"""Test sets: items of four kinds, built from a table of rows through a column mapping, validated with errors that
name the row and the column, and hashed so every run records exactly which set it scored.

Kinds: ``freeform`` (a question and reference answers), ``choice`` (a question, choices and the right one),
``code`` (a Python task and assert-style tests), ``rubric`` (an open-ended task scored by a judge against a rubric).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from engines import textfiles
from engines.config import Settings
from engines.errors import InvalidInput
from engines.evals.scoring import LETTERS

KINDS = ("freeform", "choice", "code", "rubric")
KIND_LABELS = {"freeform": "free-form with a reference", "choice": "multiple choice", "code": "code with tests",
               "rubric": "open-ended with a rubric"}
_KIND_ALIASES = {"freeform": "freeform", "free-form": "freeform", "qa": "freeform", "reference": "freeform",
                 "choice": "choice", "mc": "choice", "mcq": "choice", "multiple_choice": "choice",
                 "multiple-choice": "choice", "code": "code", "rubric": "rubric", "open": "rubric",
                 "open-ended": "rubric", "open_ended": "rubric"}
ROLES = ("question", "answer", "choices", "tests", "rubric", "id", "kind")
ROLE_LABELS = {"question": "question / task", "answer": "answer / reference", "choices": "choices (a list, or "
               "several columns A,B,C,D)", "tests": "tests (assert statements)", "rubric": "rubric",
               "id": "item id (optional)", "kind": "kind per row (optional)"}
_SYNONYMS = {
    "id": ("id", "item_id", "qid", "task_id", "question_id", "uid"),
    "question": ("question", "prompt", "input", "query", "problem", "instruction", "task", "text"),
    "answer": ("answer", "reference", "answers", "target", "expected", "gold", "label", "output", "solution",
               "answerkey", "answer_key", "correct"),
    "choices": ("choices", "options", "candidates", "endings", "mc_options"),
    "tests": ("tests", "test", "test_list", "asserts", "unit_tests", "test_code"),
    "rubric": ("rubric", "criteria", "grading", "rubrics"),
    "kind": ("kind", "type", "item_kind"),
}
DEFAULT_MAX_ITEMS = 1000


def max_items(settings: Settings | None = None) -> int:
    """The most items one test set may hold (``Settings.eval_max_items``: ``WORKBENCH_EVAL_MAX_ITEMS``, default
    1,000)."""
    return (settings or Settings.current()).eval_max_items


@dataclass
class Item:
    """One test item. ``answer`` is the 0-based index of the right choice (choice items)."""

    id: str
    kind: str
    question: str
    references: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    answer: int | None = None
    tests: str = ""
    rubric: str = ""


@dataclass
class RawTable:
    """Rows read from a source, before the column mapping."""

    name: str
    source: str
    rows: list[dict]
    columns: list[str]
    notices: list[str] = field(default_factory=list)  # e.g. the file was not UTF-8: which encoding was used


@dataclass
class TestSet:
    """A validated test set. ``hash`` (sha256 of the items) and ``size`` are recorded with every run."""

    name: str
    source: str
    items: list[Item]
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of items."""
        return len(self.items)

    @property
    def hash(self) -> str:
        """sha256 of the items' canonical JSON (the name and source do not count)."""
        blob = json.dumps([asdict(i) for i in self.items], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def kinds(self) -> dict[str, int]:
        """Items per kind."""
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        return counts

    def to_json(self) -> str:
        """The set as JSON (what the runs database stores)."""
        return json.dumps({"name": self.name, "source": self.source, "mapping": self.mapping,
                           "items": [asdict(i) for i in self.items]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TestSet:
        """The set stored by ``to_json``."""
        data = json.loads(text)
        return cls(name=data["name"], source=data["source"], mapping=data.get("mapping") or {},
                   items=[Item(**i) for i in data["items"]])

    def item(self, item_id: str) -> Item | None:
        """The item with this id, or None."""
        return next((i for i in self.items if i.id == str(item_id)), None)


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """A first column mapping from the column names (role → column); the user can change it.

    Args:
        columns: the table's column names.

    Returns:
        Roles found by name ("question" ← question/prompt/input…, "choices" ← choices/options, or A,B,C,D columns).
    """
    lower = {c.lower().strip(): c for c in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for role in ("id", "choices", "tests", "rubric", "kind", "question", "answer"):
        for name in _SYNONYMS[role]:
            column = lower.get(name)
            if column is not None and column not in used:
                mapping[role] = column
                used.add(column)
                break
    if "choices" not in mapping:
        letters = [lower[x] for x in ("a", "b", "c", "d", "e") if x in lower]
        if len(letters) >= 2 and not (set(letters) & used):
            mapping["choices"] = ",".join(letters)
    return mapping


def _cell(row: dict, column: str):
    value = row.get(column)
    return None if value is None or (isinstance(value, float) and value != value) else value


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _listish(value):
    """A list from a cell: a list, a {"text": [...]} dict (ARC), or a JSON list written in a CSV cell."""
    if isinstance(value, dict) and isinstance(value.get("text"), list):
        return list(value["text"])
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = textfiles.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _check_columns(mapping: dict[str, str], columns: list[str]) -> None:
    for role, column in mapping.items():
        if role not in ROLES:
            raise InvalidInput(f"Unknown mapping role {textfiles.name_list([role], quote=True)}: use "
                               f"{', '.join(ROLES)}.")
        for name in (column.split(",") if role == "choices" else [column]):
            if name.strip() not in columns:
                raise InvalidInput(f"The column {textfiles.name_list([name.strip()], quote=True)} mapped to {role} is "
                                   f"not in the data. Columns: {textfiles.name_list(columns)}.")


def _row_kind(row: dict, mapping: dict[str, str], kind: str, where: str) -> str:
    if "kind" in mapping:
        raw = _text(_cell(row, mapping["kind"])).strip().lower()
        if raw:
            if raw not in _KIND_ALIASES:
                raise InvalidInput(f"{where}: kind {textfiles.name_list([raw], quote=True)} is not one of "
                                   f"{', '.join(KINDS)}.")
            return _KIND_ALIASES[raw]
    if kind != "auto":
        return kind
    for role, k in (("choices", "choice"), ("tests", "code")):
        if role in mapping:
            return k
    return "rubric" if "rubric" in mapping and "answer" not in mapping else "freeform"


def _need(mapping: dict[str, str], role: str, kind: str, columns: list[str]) -> str:
    if role not in mapping or not mapping[role]:
        raise InvalidInput(f"{KIND_LABELS[kind].capitalize()} items need a column mapped to '{role}' "
                           f"({ROLE_LABELS[role]}). Columns: {textfiles.name_list(columns)}.")
    return mapping[role]


def _choices(row: dict, mapping: dict[str, str], columns: list[str], where: str) -> list[str]:
    column = _need(mapping, "choices", "choice", columns)
    if "," in column:
        values = [_text(_cell(row, c.strip())) for c in column.split(",")]
        return [v for v in values if v.strip()]
    value = _cell(row, column)
    listed = _listish(value)
    if listed is None:
        shown = _text(value)[:80]
        raise InvalidInput(f"{where}: the choices column '{column}' holds {shown!r}, not a list. Write a JSON list "
                           "such as [\"Paris\", \"Rome\"], or map one column per choice (e.g. A,B,C,D).")
    return [_text(v) for v in listed]


def _answer_index(value, choices: list[str], where: str) -> int:
    text = _text(value).strip()
    if text in choices:
        return choices.index(text)
    if len(text) == 1 and text.upper() in LETTERS[:len(choices)]:
        return LETTERS.index(text.upper())
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(choices):
        return int(text)
    raise InvalidInput(f"{where}: the answer {text!r} is not among the choices {choices}. Give the choice's text, "
                       f"its letter (A–{LETTERS[len(choices) - 1]}) or its 0-based index.")


def _references(value) -> list[str]:
    listed = _listish(value)
    values = listed if listed is not None else [value]
    return [t for t in (_text(v).strip() for v in values) if t]


def _item(row: dict, n: int, mapping: dict[str, str], kind: str, columns: list[str]) -> Item:
    where = f"Row {n}"
    item_kind = _row_kind(row, mapping, kind, where)
    item_id = _text(_cell(row, mapping["id"])).strip() if "id" in mapping else ""
    item = Item(id=item_id or str(n), kind=item_kind,
                question=_text(_cell(row, _need(mapping, "question", item_kind, columns))).strip())
    if not item.question:
        raise InvalidInput(f"{where}: the question (column '{mapping['question']}') is empty.")
    if item_kind == "choice":
        item.choices = _choices(row, mapping, columns, where)
        if len(item.choices) < 2:
            raise InvalidInput(f"{where}: a multiple-choice item needs at least two choices (got {item.choices}).")
        if len(item.choices) > len(LETTERS):
            raise InvalidInput(f"{where}: at most {len(LETTERS)} choices per item (got {len(item.choices)}).")
        item.answer = _answer_index(_cell(row, _need(mapping, "answer", item_kind, columns)), item.choices, where)
    elif item_kind == "code":
        tests = _cell(row, _need(mapping, "tests", item_kind, columns))
        listed = _listish(tests)
        item.tests = "\n".join(_text(t) for t in listed) if listed is not None else _text(tests)
        if not item.tests.strip():
            raise InvalidInput(f"{where}: a code item has no tests. Put assert statements in column "
                               f"'{mapping['tests']}', e.g. assert add(2, 3) == 5.")
    elif item_kind == "rubric":
        item.rubric = _text(_cell(row, _need(mapping, "rubric", item_kind, columns))).strip()
        if not item.rubric:
            raise InvalidInput(f"{where}: an open-ended item needs a rubric (column '{mapping['rubric']}' is empty).")
        if "answer" in mapping:
            item.references = _references(_cell(row, mapping["answer"]))
    else:
        item.references = _references(_cell(row, _need(mapping, "answer", item_kind, columns)))
        if not item.references:
            raise InvalidInput(f"{where}: the reference answer (column '{mapping['answer']}') is empty.")
    return item


def build_testset(table: RawTable, mapping: dict[str, str] | None = None, *, kind: str = "auto",
                  limit: int | None = None) -> TestSet:
    """Validate a table through a column mapping into a TestSet.

    Args:
        table: rows and columns from a source (``engines.evals.sources``).
        mapping: role → column (``guess_mapping`` when None); choices may name several columns "A,B,C,D".
        kind: auto | freeform | choice | code | rubric (auto: from the mapped columns, or a kind column per row).
        limit: the most items allowed (default ``max_items()``).

    Returns:
        The TestSet.

    Raises:
        InvalidInput: an empty set, a missing or unmapped column, choices that aren't a list, an answer not among
            the choices, code items without tests, duplicate item ids, or more items than allowed.
    """
    if kind not in ("auto", *KINDS):
        raise InvalidInput(f"Unknown item kind '{kind}': use auto, {', '.join(KINDS)}.")
    if not table.rows:
        raise InvalidInput(f"The test set '{table.name}' is empty: it has no rows.")
    limit = limit or max_items()
    if len(table.rows) > limit:
        raise InvalidInput(f"The test set has {len(table.rows):,} items; at most {limit:,} are evaluated at once "
                           "(WORKBENCH_EVAL_MAX_ITEMS). Load fewer rows (e.g. the first N of a Hub split).")
    mapping = {k: v for k, v in (guess_mapping(table.columns) if mapping is None else mapping).items() if v}
    _check_columns(mapping, table.columns)
    if "question" not in mapping:
        raise InvalidInput(f"Map a column to 'question' (the prompt each model answers). Columns: "
                           f"{textfiles.name_list(table.columns)}.")
    items = [_item(row, n, mapping, kind, table.columns) for n, row in enumerate(table.rows, start=1)]
    seen: dict[str, int] = {}
    for n, item in enumerate(items, start=1):
        if item.id in seen:
            raise InvalidInput(f"The item id '{item.id}' appears twice (rows {seen[item.id]} and {n}); ids must be "
                               "unique so runs can be resumed and compared.")
        seen[item.id] = n
    return TestSet(name=table.name, source=table.source, items=items, mapping=mapping)
