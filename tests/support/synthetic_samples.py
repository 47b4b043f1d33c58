"""Sample rows and a recording stand-in for HfApi uploads, shared by the Synthetic data engine and tab tests."""

from __future__ import annotations

import json


def row(i: int, **over) -> dict:
    base = {"name": f"Person {i}", "age": 20 + i, "plan": ("free", "pro", "team")[i % 3], "active": i % 2 == 0,
            "signup": f"2021-01-{1 + i % 28:02d}", "score": round(i / 100, 2)}
    return {**base, **over}


def jsonl(*rows: dict) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


# The fields that ``row`` fills, as compact specs.
FIELDS = ["name # full name", "age:int(18..90)", "plan:enum(free|pro|team)", "active:bool",
          "signup:date(2020-01-01..2024-12-31)", "score:float(0..1)"]


def run(model: str, n: int, **kw):
    """Run ``stream_rows`` over FIELDS against ``openai:<model>`` (the fake server); (rows, RunStats)."""
    from engines import synthetic as syn

    stats = syn.RunStats()
    kw.setdefault("batch_size", n)
    rows = list(syn.stream_rows("Customers of a SaaS", fields=FIELDS, n_rows=n, model=f"openai:{model}",
                                stats=stats, **kw))
    return rows, stats


def requests_for(server, model: str) -> list[dict]:
    """The request bodies the fake server received for ``model``."""
    return [r["body"] for r in server.requests if isinstance(r.get("body"), dict) and r["body"].get("model") == model]


class FakeHub:
    """Records what HfApi would create and upload."""

    def __init__(self, monkeypatch):
        from huggingface_hub import HfApi

        self.repos, self.commits = [], []
        monkeypatch.setattr(HfApi, "create_repo", self.create_repo)
        monkeypatch.setattr(HfApi, "create_commit", self.create_commit)

    def create_repo(self, repo_id, **kw):
        from huggingface_hub import RepoUrl

        self.repos.append((repo_id, kw))
        full = repo_id if "/" in repo_id else f"me/{repo_id}"
        return RepoUrl(f"https://huggingface.co/datasets/{full}")

    def create_commit(self, repo_id, operations, **kw):
        files = {op.path_in_repo: op.path_or_fileobj for op in operations}
        self.commits.append((repo_id, files, kw))
