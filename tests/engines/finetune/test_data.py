"""Training data: files, Hub / local datasets, synthetic rows → examples; the seeded split; the tokens carrying loss
match trl's own labels (prompt tokens carry none)."""

from __future__ import annotations

import json

import pytest
import tiny_finetune as tf

from engines import finetune as ft
from engines.finetune import data as fdata


def test_jsonl_prompt_completion_is_recognised(tmp_path):
    path = tf.write_jsonl(tmp_path / "d.jsonl", tf.rows(5))
    ds = ft.examples_from_rows(ft.read_file(path), source="upload")
    assert ds.form == "prompt-completion" and ds.columns == {"prompt": "prompt", "completion": "completion"}
    assert ds.examples[0] == {"prompt": "What is 0 plus 0?", "completion": "The answer is 0."}


def test_chat_rows_learn_the_last_assistant_reply(tmp_path):
    path = tf.write_jsonl(tmp_path / "chat.jsonl", tf.chat_rows(3))
    ds = ft.examples_from_rows(ft.read_file(path), source="upload")
    assert ds.form == "chat"
    assert [m["role"] for m in ds.examples[1]["prompt"]] == ["system", "user"]
    assert ds.examples[1]["completion"] == "The answer is 2."


def test_sharegpt_and_csv_with_a_mapping(tmp_path):
    share = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}]
    ds = ft.examples_from_rows(share, source="x")
    assert ds.examples == [{"prompt": [{"role": "user", "content": "hi"}], "completion": "hello"}]
    csv = tmp_path / "d.csv"
    csv.write_text("q,a,extra\nWhat is 1+1?,2,x\nCapital of France?,Paris,y\n", encoding="utf-8")
    ds = ft.examples_from_rows(ft.read_file(csv), source="csv", prompt_column="q", completion_column="a")
    assert ds.examples[1] == {"prompt": "Capital of France?", "completion": "Paris"}


def test_local_dataset_folder_works_offline(tmp_path):
    import datasets

    datasets.Dataset.from_list(tf.rows(6)).save_to_disk(str(tmp_path / "saved"))
    assert len(ft.read_hub(str(tmp_path / "saved"))) == 6
    (tmp_path / "plain").mkdir()
    tf.write_jsonl(tmp_path / "plain" / "train.jsonl", tf.rows(4))
    assert ft.read_hub(str(tmp_path / "plain"), "train")[0]["prompt"] == "What is 0 plus 0?"


def test_unknown_hub_dataset_offline_is_a_clear_error():
    with pytest.raises(ft.DataError, match="cannot be reached|No dataset|could not be loaded"):
        ft.read_hub("nobody-here/no-such-dataset-xyz")


def test_from_synthetic_rows_and_fields():
    rows = [{"subject": "Late parcel", "body": "Where is it?", "category": "shipping"},
            {"subject": "Refund", "body": "Money back please", "category": "billing"}]
    fields = [{"name": "subject"}, {"name": "body"}, {"name": "category"}]
    ds = ft.from_synthetic(rows, fields, description="Support tickets")
    assert ds.examples[0]["completion"] == "shipping"
    assert "subject: Late parcel" in ds.examples[0]["prompt"][0]["content"]
    assert ds.examples[0]["prompt"][0]["content"].startswith("Support tickets")
    assert ft.from_synthetic(rows, ["subject", "body", "category"], target="body").examples[1]["completion"] == \
        "Money back please"
    with pytest.raises(ft.DataError, match="not a field"):
        ft.from_synthetic(rows, fields, target="nope")
    with pytest.raises(ft.DataError, match="no rows"):
        ft.from_synthetic([], fields)


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_dataset_is_refused(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ft.DataError, match="empty"):
        ft.examples_from_rows(ft.read_file(path), source="upload")


def test_rows_without_the_mapped_columns(tmp_path):
    rows = tf.rows(4)
    with pytest.raises(ft.DataError, match="no column 'answer'.*Columns: 'prompt', 'completion'"):
        ft.examples_from_rows(rows, source="x", prompt_column="prompt", completion_column="answer")
    rows[2]["completion"] = ""
    del rows[3]["completion"]
    with pytest.raises(ft.DataError, match="2 of 4 rows \\(the first is row 3\\)"):
        ft.examples_from_rows(rows, source="x")
    with pytest.raises(ft.DataError, match="No column to learn from"):
        ft.examples_from_rows([{"a": 1, "b": 2}], source="x")
    with pytest.raises(ft.DataError, match="no assistant reply"):
        ft.examples_from_rows([{"messages": [{"role": "user", "content": "hi"}]}], source="x")


def test_bad_json_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": \n', encoding="utf-8")
    with pytest.raises(ft.DataError, match="Line 2"):
        ft.read_file(path)


def test_split_is_seeded_and_disjoint():
    examples = [{"prompt": str(i), "completion": str(i)} for i in range(50)]
    train, held = fdata.split(examples, 0.2, seed=3)
    assert len(held) == 10 and len(train) == 40
    assert {e["prompt"] for e in train}.isdisjoint({e["prompt"] for e in held})
    assert fdata.split(examples, 0.2, seed=3) == (train, held)
    assert fdata.split(examples, 0.2, seed=4)[1] != held
    assert fdata.split(examples, 0.0, seed=3)[1] == []


def _trl_labels(model_dir, trl_examples, max_length=256):
    """The labels trl 1.x itself builds for these examples (SFTTrainer's prepared dataset)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    args = SFTConfig(output_dir="/tmp/unused-sft", max_length=max_length, completion_only_loss=True, bf16=False,
                     use_cpu=True, report_to=[], gradient_checkpointing=False)
    return tok, SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(trl_examples),
                           processing_class=tok).train_dataset


@pytest.mark.parametrize("template", [True, False], ids=["chat-template", "base-model-text"])
def test_prompt_tokens_carry_no_loss_as_trl_builds_the_labels(tiny, template):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["lm-llama"])
    if not template:
        tok.chat_template = None
    examples = ft.examples_from_rows(tf.chat_rows(4), source="x").examples
    trl_examples = [fdata.to_trl(e, tok) for e in examples]
    if not template:
        assert isinstance(trl_examples[0]["prompt"], str) and trl_examples[0]["prompt"].endswith("Assistant:")
    else:
        assert isinstance(trl_examples[0]["prompt"], list)
    _, prepared = _trl_labels(tiny["lm-llama"], trl_examples) if template else _text_labels(tiny, trl_examples)
    for ex, row in zip(trl_examples, prepared, strict=True):
        ids, mask = fdata.tokenize(tok, ex)
        assert ids == row["input_ids"]
        assert [lab != -100 for lab in row["labels"]] == [bool(m) for m in mask]
        first_loss = mask.index(1)
        assert 0 < first_loss < len(ids)  # the prompt (and the chat template around it) carries no loss
        reply = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
        assert ex["completion"][-1]["content"] in reply if template else "The answer is" in reply


def _text_labels(tiny, trl_examples):
    """trl's labels with the chat template removed (a base model): copy the tiny model without its template."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="ft-notemplate-"))
    shutil.copytree(tiny["lm-llama"], folder, dirs_exist_ok=True)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    return _trl_labels(folder, trl_examples)


def test_lengths_every_example_too_long_says_how_many(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["lm-llama"])
    trl_examples = [fdata.to_trl(e, tok) for e in ft.examples_from_rows(tf.rows(7), source="x").examples]
    lengths = fdata.measure(trl_examples, tok, 8)
    with pytest.raises(ft.DataError, match="Every example is longer than the max length of 8 tokens \\(all 7 "
                                           "examples; longest \\d+"):
        fdata.check_lengths(lengths, 8)
    some = fdata.measure(trl_examples, tok, lengths.longest - 1)
    assert some.too_long >= 1
    assert "longer than" in fdata.check_lengths(some, lengths.longest - 1)
    assert fdata.check_lengths(fdata.measure(trl_examples, tok, 256), 256) is None


def test_gemma_template_folds_the_system_turn(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["lm-gemma2"])
    assert fdata.needs_fold(tok)
    ex = ft.examples_from_rows(tf.chat_rows(1), source="x").examples[0]
    trl_ex = fdata.to_trl(ex, tok, fold=True)
    assert [m["role"] for m in trl_ex["prompt"]] == ["user"]
    assert trl_ex["prompt"][0]["content"].startswith("Answer briefly.")
    ids, mask = fdata.tokenize(tok, trl_ex)
    assert sum(mask) > 0


# ----------------------------------------------------------------------------------------------- uploads (issue 26)

LINE_SEPARATORS = ["\u2028", "\u2029", "\u0085"]  # characters inside a JSON string, not line ends


def _separator_rows(n: int = 8) -> list[dict]:
    return [{"prompt": f"Say {i}{LINE_SEPARATORS[i % 3]}please", "completion": f"It is{LINE_SEPARATORS[i % 3]}{i}."}
            for i in range(n)]


def test_rows_holding_unicode_line_separators_are_all_read(tmp_path):
    rows = _separator_rows()
    path = tmp_path / "seps.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert ft.read_file(path) == rows
    from engines.finetune import runs

    copy = tmp_path / "train.jsonl"  # what start_run writes and the worker reads back
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert runs.read_jsonl(copy) == rows


def test_utf16_and_windows_1252_files_are_read_and_the_encoding_named(tmp_path):
    utf16 = tmp_path / "excel.csv"
    utf16.write_bytes("prompt\tcompletion\nWo liegt Köln?\tIn Deutschland.\n".encode("utf-16"))
    notices: list[str] = []
    assert ft.read_file(utf16, notices) == [{"prompt": "Wo liegt Köln?", "completion": "In Deutschland."}]
    assert notices == ["'excel.csv' is not UTF-8: it was read as UTF-16."]
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"prompt": "Café?", "completion": "Crème."}\n'.encode("cp1252"))
    assert ft.read_file(latin, notices) == [{"prompt": "Café?", "completion": "Crème."}]
    assert notices[-1] == "'latin.jsonl' is not UTF-8: it was read as Windows-1252."


def test_deep_json_and_thousands_of_columns_are_short_specific_errors(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"prompt": ' + "[" * 50_000 + "]" * 50_000 + "}\n", encoding="utf-8")
    with pytest.raises(ft.DataError, match="Line 1 .* \\(nested more than 64 levels deep\\)"):
        ft.read_file(deep)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("x" * 20_000) + "\n")
    with pytest.raises(ft.DataError, match="more than 1,000 columns") as info:
        ft.read_file(wide)
    assert len(str(info.value)) < 200
    with pytest.raises(ft.DataError, match="No column to learn from") as info:
        ft.examples_from_rows([{f"column_{i}": "x" for i in range(900)}], source="x")
    assert len(str(info.value)) < 600
