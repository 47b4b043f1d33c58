"""engines.synthetic.hub: the dataset card and the one-commit push (HfApi recorded, never reached)."""

from __future__ import annotations

import json

import pytest
from synthetic_samples import FIELDS, FakeHub, row

from engines import errors
from engines import synthetic as syn


def test_push_to_hub_uploads_card_and_rows(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    hub = FakeHub(monkeypatch)
    stats = syn.RunStats(rows=2, temperature=0.7, batches=1, stop_reason="complete",
                         first_messages=[{"role": "user", "content": "Write 2 rows about customers"}])
    rows = [row(1), row(2)]
    url = syn.push_to_hub(rows, FIELDS, repo_id="me/customers", description="Customers of a SaaS",
                          model="openai:gpt-4o-mini", stats=stats)
    assert url == "https://huggingface.co/datasets/me/customers"
    assert hub.repos == [("me/customers", {"repo_type": "dataset", "private": True, "exist_ok": True})]
    repo_id, files, kw = hub.commits[0]
    assert repo_id == "me/customers" and kw["repo_type"] == "dataset"
    assert set(files) == {"README.md", "data/train.jsonl"}
    assert [json.loads(x) for x in files["data/train.jsonl"].decode().splitlines()] == rows
    card = files["README.md"].decode()
    assert card.startswith("---\n") and "path: data/train.jsonl" in card and "- synthetic" in card
    assert "Customers of a SaaS" in card and "openai:gpt-4o-mini" in card
    assert "| plan | enum | free, pro, team |" in card and "| age | int | 18 .. 90 |" in card
    assert "Write 2 rows about customers" in card and 'load_dataset("me/customers"' in card
    assert "hf_secret" not in card


def test_push_to_hub_errors(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert not syn.hub_push_available()
    with pytest.raises(errors.MissingApiKey, match="HF_TOKEN"):
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    assert syn.hub_push_available()
    with pytest.raises(errors.InvalidInput, match="not a valid dataset id"):
        syn.push_to_hub([row(1)], FIELDS, repo_id="https://hf.co/x", description="d", model="m")
    with pytest.raises(errors.InvalidInput, match="no rows"):
        syn.push_to_hub([], FIELDS, repo_id="me/x", description="d", model="m")

    from huggingface_hub import HfApi

    class Refused(Exception):
        response = type("R", (), {"status_code": 403})()

    def refuse(*a, **k):
        raise Refused("403 Forbidden: hf_secretsecret123")

    monkeypatch.setattr(HfApi, "create_repo", refuse)
    with pytest.raises(errors.RemoteError, match="403") as info:
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")
    assert "hf_secret" not in str(info.value)

    def offline(*a, **k):
        raise ConnectionError("no route")

    monkeypatch.setattr(HfApi, "create_repo", offline)
    with pytest.raises(errors.HubUnreachable):
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")


@pytest.mark.parametrize(("kw", "message"), [
    ({"rows": [row(i) for i in range(11)]}, "11 rows: at most 10 can be pushed"),
    ({"description": "d" * 4001}, "description is too long \\(4,001 characters\\)"),
    ({"model": "m" * 5000}, "model reference is too long"),
    ({"repo_id": "me/" + "x" * 100_000}, "not a valid dataset id"),
    ({"fields": [f"f{i}" for i in range(51)]}, "at most 50 fields"),
])
def test_push_inputs_are_bounded_before_any_hub_call(monkeypatch, kw, message):
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    monkeypatch.setenv("WORKBENCH_SYNTHETIC_MAX_ROWS", "10")
    hub = FakeHub(monkeypatch)
    args = {"rows": [row(1)], "fields": FIELDS, "repo_id": "me/x", "description": "d", "model": "m", **kw}
    rows, fields = args.pop("rows"), args.pop("fields")
    with pytest.raises(errors.InvalidInput, match=message) as info:
        syn.push_to_hub(rows, fields, **args)
    assert len(str(info.value)) < 400 and hub.repos == [] and hub.commits == []
