"""The Compare tab's arena handlers called directly: simultaneous votes on one match keep one vote, and the
leaderboard names its method and no server path."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import gradio as gr

from engines import arena
from tabs.compare import handlers as compare


def _match() -> str:
    stats = {"tokens": 3, "tokens_per_s": 1.0, "ttft_s": 0.1, "device": "cpu", "quantization": "fp32"}
    return arena.ArenaStore().open_match("org/model-a", "org/model-b", [stats, stats])


def test_simultaneous_votes_on_one_match_keep_one(tmp_path, monkeypatch):
    # before the fix: both clicks passed the session-state check and both votes were stored (3/3 tries)
    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(tmp_path / "arena.sqlite3"))
    match, n = _match(), 8  # the match id arena_battle returns
    barrier = threading.Barrier(n)

    def click(choice: str):
        barrier.wait(timeout=120)
        try:
            return compare.arena_vote(choice, match)
        except gr.Error as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(click, ["a", "b"] * (n // 2)))
    errors = [r for r in results if isinstance(r, gr.Error)]
    assert len(errors) == n - 1 and all("already has your vote" in str(e) for e in errors), results
    assert arena.ArenaStore().count() == 1


def test_leaderboard_shows_method_interval_and_no_path(tmp_path, monkeypatch):
    db = tmp_path / "server-only" / "arena.sqlite3"
    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(db))
    store = arena.ArenaStore()
    for i in range(12):
        store.record_vote("org/model-a", "org/model-b", "a" if i % 3 else "b", match_id=f"m{i}")
    shown = compare.arena_leaderboard()
    board, caption = shown["board"], shown["caption"]
    assert list(board.columns[:5]) == ["rank", "model", "rating", "95% CI", "votes"]
    top = board.iloc[0]
    assert top["model"] == "org/model-a" and top["votes"] == 12 and "–" in top["95% CI"]
    low, high = (float(x) for x in top["95% CI"].split("–"))
    assert low < top["rating"] < high
    assert "Bradley–Terry, bootstrap 95 % CI" in caption and "12 vote(s) stored on this server" in caption
    assert "server-only" not in caption and str(tmp_path) not in caption


def test_reveal_and_leaderboard_name_local_models_by_what_they_hold(tmp_path, monkeypatch):
    # issue 27 item 7: every fine-tune showed as "adapter", a full server path in the reveal and the leaderboard
    import json

    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(tmp_path / "arena.sqlite3"))
    run = tmp_path / "finetune" / "20261205-183012-smollm2-ab12"
    (run / "adapter").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"base_display": "HuggingFaceTB/SmolLM2-135M-Instruct"}))
    (run / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/srv/base"}))
    stats = {"tokens": 3, "tokens_per_s": 1.0, "ttft_s": 0.1, "device": "cpu", "quantization": "fp32"}
    match = arena.ArenaStore().open_match(str(run / "adapter"), "org/model-b", [stats, stats])
    shown = compare.arena_vote("a", match)
    name = "HuggingFaceTB/SmolLM2-135M-Instruct + 20261205-183012-smollm2-ab12"
    assert name in shown["reveal"]
    assert "title='local folder: …/20261205-183012-smollm2-ab12/adapter'" in shown["reveal"]
    assert str(tmp_path) not in shown["reveal"]
    assert name in list(shown["board"]["model"]) and not any(str(tmp_path) in m for m in shown["board"]["model"])
