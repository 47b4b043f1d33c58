"""Where test sets come from: an uploaded CSV / JSON Lines file, our example sets, a dataset through the
``datasets`` library (a Hub id, or a local dataset folder offline), and the Synthetic data tab's rows.

Each reader returns a ``RawTable`` (rows + columns); ``testsets.build_testset`` maps and validates it.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from engines import errors, textfiles
from engines.config import Settings
from engines.evals.testsets import RawTable, TestSet, build_testset, guess_mapping, max_items
from engines.localpaths import local_path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "evals"
EXAMPLES = {"short-qa": ("short_qa.jsonl", "Short QA (free-form, exact match / contains)"),
            "multiple-choice": ("multiple_choice.jsonl", "Multiple choice (log-likelihood or letter)")}
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}(?:/[A-Za-z0-9][A-Za-z0-9_.\-]{0,95})?$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_MAX_BYTES = 50 * 2**20


def example_names() -> list[tuple[str, str]]:
    """(label, key) of the example sets shipped with the app."""
    return [(label, key) for key, (_, label) in EXAMPLES.items()]


def _columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        if len(row) > textfiles.MAX_COLUMNS:
            raise errors.InvalidInput(f"A row has {len(row):,} columns; a test set has at most "
                                      f"{textfiles.MAX_COLUMNS:,}.")
        for key in row:
            seen.setdefault(str(key), None)
        if len(seen) > textfiles.MAX_COLUMNS:
            raise errors.InvalidInput(f"The rows have more than {textfiles.MAX_COLUMNS:,} different columns; a test "
                                      "set needs a few.")
    return list(seen)


def parse_jsonl(text: str, name: str) -> list[dict]:
    """Rows of a JSON Lines text (a JSON array of objects is accepted too).

    Raises:
        InvalidInput: a line that is not a JSON object, naming the line.
    """
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("["):
        try:
            data = textfiles.loads(stripped)
        except ValueError as exc:
            raise errors.InvalidInput(f"'{name}' is not valid JSON: {getattr(exc, 'msg', exc)}.") from None
        if not all(isinstance(r, dict) for r in data):
            raise errors.InvalidInput(f"'{name}': every element of the JSON array must be an object.")
        return data
    rows = []
    for n, line in enumerate(textfiles.lines(stripped), start=1):
        if not line.strip():
            continue
        try:
            row = textfiles.loads(line)
        except ValueError as exc:
            raise errors.InvalidInput(f"'{name}' line {n} is not valid JSON ({exc.msg}).") from None
        if not isinstance(row, dict):
            raise errors.InvalidInput(f"'{name}' line {n} is not a JSON object ({{\"column\": value, ...}}).")
        rows.append(row)
    return rows


def parse_csv(text: str, name: str) -> list[dict]:
    """Rows of a CSV text with a header line (every value a string).

    Raises:
        InvalidInput: no header, or a row with more cells than the header.
    """
    reader = textfiles.csv_reader(text.lstrip("\ufeff"), name, errors.InvalidInput)
    if not reader.fieldnames or not any(f and f.strip() for f in reader.fieldnames):
        raise errors.InvalidInput(f"'{name}' has no header line: the first line must name the columns.")
    rows = []
    for n, row in enumerate(reader, start=2):
        if None in row:
            raise errors.InvalidInput(f"'{name}' line {n} has more cells than the header has columns.")
        rows.append({k.strip(): v for k, v in row.items() if k is not None})
    return rows


def read_file(path: str | Path, name: str | None = None) -> RawTable:
    """Read an uploaded .csv, .jsonl or .json file.

    Args:
        path: the uploaded file (a temporary copy made by the app).
        name: the name to show (default: the file's name).

    Returns:
        The rows and columns.

    Raises:
        InvalidInput: another extension, a file over 50 MB, broken UTF-16, or malformed rows. A file that is not
            UTF-8 is read as UTF-16 (by its BOM) or Windows-1252, and the table's notices say so.
    """
    p = Path(path)
    name = name or p.name
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json", ".ndjson"):
        raise errors.InvalidInput(f"'{name}': upload a .csv or .jsonl (JSON Lines) file.")
    if p.stat().st_size > _MAX_BYTES:
        raise errors.InvalidInput(f"'{name}' is over 50 MB; a test set that large belongs in a dataset folder.")
    try:
        decoded = textfiles.read_text(p)
    except UnicodeDecodeError:
        raise errors.InvalidInput(f"'{name}' is not valid text: save it as UTF-8 (or UTF-16) CSV or JSON Lines.") \
            from None
    text = decoded.text
    rows = parse_csv(text, name) if suffix == ".csv" else parse_jsonl(text, name)
    notice = decoded.notice(name)
    return RawTable(name=name, source=f"upload: {name}", rows=rows, columns=_columns(rows),
                    notices=[notice] if notice else [])


def read_example(key: str) -> RawTable:
    """One of our example sets ("short-qa", "multiple-choice").

    Raises:
        InvalidInput: an unknown key.
    """
    if key not in EXAMPLES:
        raise errors.InvalidInput(f"Unknown example set '{key}': use {', '.join(EXAMPLES)}.")
    filename, label = EXAMPLES[key]
    rows = parse_jsonl((EXAMPLES_DIR / filename).read_text(encoding="utf-8"), filename)
    return RawTable(name=label, source=f"example: {key}", rows=rows, columns=_columns(rows))


def read_synthetic(rows: list[dict], fields: list | None = None, name: str = "Synthetic data",
                   source: str | None = None) -> RawTable:
    """The Synthetic data tab's rows as a table (columns in the order of its fields).

    Args:
        rows: the generated rows (dicts).
        fields: the field list (``engines.synthetic.Field``, dicts with "name", or names).
        name: the set's name.
        source: where the rows come from, as shown beside the name (default "synthetic data tab"; the Fine-tune
            tab sends its held-out split through the same path). Clipped to 80 characters.

    Raises:
        InvalidInput: no rows.
    """
    if not rows:
        raise errors.InvalidInput("There are no synthetic rows to evaluate on: generate some first.")
    names = [f if isinstance(f, str) else (f.get("name") if isinstance(f, dict) else getattr(f, "name", None))
             for f in (fields or [])]
    columns = [n for n in names if n] or _columns(rows)
    label = " ".join(str(source or "").split())[:80] or "synthetic data tab"
    return RawTable(name=name, source=label, rows=[dict(r) for r in rows], columns=columns)


def testset_from_synthetic(rows: list[dict], fields: list | None = None, *, mapping: dict[str, str] | None = None,
                           kind: str = "auto", name: str = "Synthetic data") -> TestSet:
    """A test set from the Synthetic data tab's last run ("Evaluate on these rows").

    Args:
        rows: the generated rows.
        fields: the run's fields (Field objects, dicts or names).
        mapping: role → column; guessed from the field names when None (question/prompt, answer/reference, …).
        kind: auto | freeform | choice | code | rubric.
        name: the set's name.

    Returns:
        The validated TestSet.
    """
    table = read_synthetic(rows, fields, name)
    return build_testset(table, mapping if mapping is not None else guess_mapping(table.columns), kind=kind)


# ----------------------------------------------------------------------------------------------- datasets


def _looks_local(text: str) -> bool:
    return text.startswith(("/", "./", "~", ".\\")) or Path(text).expanduser().is_dir()


def read_dataset(dataset: str, config: str | None = None, split: str | None = None, n_rows: int | None = None,
                 settings: Settings | None = None) -> RawTable:
    """The first rows of a dataset through the ``datasets`` library.

    A local folder works offline: one written by ``save_to_disk`` (``load_from_disk``) or one holding data files
    (``load_dataset(folder)``: CSV, JSON Lines, Parquet). A Hub id streams only the rows asked for.

    Args:
        dataset: a Hub dataset id (org/name) or a local dataset folder.
        config: the configuration (subset) name, if the dataset has several.
        split: the split (default: test, else validation, else train, else the first one).
        n_rows: how many rows from the start (default and maximum: ``max_items()``).
        settings: deployment settings (local folders need WORKBENCH_ALLOW_LOCAL_MODELS).

    Returns:
        The rows and columns.

    Raises:
        InvalidInput: a malformed id, a bad config or split, a folder that holds no dataset.
        ModelNotAllowed: a local folder where local paths are disabled.
        HubUnreachable: a Hub id while the Hub cannot be reached.
    """
    settings = settings or Settings.current()
    text = (dataset or "").strip()
    if not text:
        raise errors.InvalidInput("Give a dataset: a Hub id like 'org/name' or a local dataset folder.")
    if ".." in re.split(r"[\\/]", text) or "://" in text:
        raise errors.InvalidInput(f"'{text}' is not a dataset id or folder (no URLs, no '..').")
    limit = max_items()
    n = limit if n_rows in (None, 0) else int(n_rows)
    if not 1 <= n <= limit:
        raise errors.InvalidInput(f"The number of rows must be between 1 and {limit:,}.")
    for what, value in (("config", config), ("split", split)):
        if value and not _NAME.match(value.strip()):
            raise errors.InvalidInput(f"The {what} name {value!r} has characters a {what} name can't have.")
    config, split = (config or "").strip() or None, (split or "").strip() or None
    if _looks_local(text):
        rows, label = _read_local(text, config, split, n, settings)
    else:
        rows, label = _read_hub(text, config, split, n)
    return RawTable(name=label, source=f"dataset: {label}", rows=rows, columns=_columns(rows))


def _pick_split(names: list[str], split: str | None, where: str) -> str:
    if split:
        if split not in names:
            raise errors.InvalidInput(f"{where} has no split '{split}'. Splits: {', '.join(names)}.")
        return split
    return next((s for s in ("test", "validation", "train") if s in names), names[0])


def _read_local(text: str, config: str | None, split: str | None, n: int, settings: Settings):
    import datasets

    if not settings.allow_local_models:
        raise errors.ModelNotAllowed("Local dataset folders are disabled on this deployment "
                                     "(WORKBENCH_ALLOW_LOCAL_MODELS=0). Use a Hub dataset id or upload a file.")
    path = local_path(text, settings, "dataset folder")
    if not path.is_dir():
        raise errors.InvalidInput(f"No folder at '{text}'.")
    try:
        if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(str(path), name=config)
    except Exception as exc:  # datasets raises many kinds; the message says what was wrong
        raise errors.InvalidInput(f"'{path.name}' could not be read as a dataset: {_first_line(exc)}") from None
    if isinstance(loaded, datasets.DatasetDict):
        chosen = _pick_split(list(loaded), split, f"'{path.name}'")
        loaded = loaded[chosen]
    else:
        chosen = split or "train"
    rows = [dict(r) for r in loaded.select(range(min(n, len(loaded))))]
    return rows, f"{path.name}/{chosen}"


def _read_hub(text: str, config: str | None, split: str | None, n: int):
    import datasets

    from engines.loading import hub_reachable

    if not _DATASET_ID.match(text):
        raise errors.InvalidInput(f"'{text}' is not a dataset id: use org/name, or give a local dataset folder.")
    if not hub_reachable():
        raise errors.HubUnreachable(f"The Hugging Face Hub cannot be reached, so '{text}' can't be read. Save the "
                                    "dataset to a folder (save_to_disk, or its data files) and give that folder.")
    try:
        streams = datasets.load_dataset(text, name=config, streaming=True)
        chosen = _pick_split(list(streams), split, f"'{text}'")
        rows = [dict(r) for r in itertools.islice(streams[chosen], n)]
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise errors.InvalidInput(f"'{text}' could not be read: {_first_line(exc)}") from None
    return rows, f"{text}{'/' + config if config else ''}/{chosen}"


def _first_line(exc: BaseException) -> str:
    return ((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:300]
