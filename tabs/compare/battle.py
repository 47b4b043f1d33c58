"""Compare → Blind arena: two anonymous models answer, the user may send follow-ups (each model continues its own
conversation, names still hidden), then votes; the vote reveals the names and feeds the leaderboard."""

from __future__ import annotations

import functools

import gradio as gr
import pandas as pd

from engines import arena, prompts
from engines.arena.votes import MAX_TURNS
from engines.config import Settings
from engines.errors import InvalidInput
from tabs.common import GPU_EVENT, esc, expensive, on, status_html, ui_errors, user_of, with_settings
from tabs.compare import turns, view
from tabs.compare.side import EXAMPLE_PROMPT, _messages
from tabs.kit.pickers import model_picker

# ---------------------------------------------------------------------------------------------------- arena

VOTE_LABELS = {"A is better": "a", "B is better": "b", "Tie": "tie", "Both bad": "both_bad"}


def _vote_buttons(enabled: bool) -> dict:
    return {f"vote{i}": gr.Button(interactive=enabled) for i in range(len(VOTE_LABELS))}


def _arena_text(col: arena.ColumnState) -> str:
    if col.error:
        return f"⚠ {col.error_title or 'Error'}: {col.error}"
    return col.text


def _layout(conversation: bool, followup: bool) -> dict:
    """A and B show their single answer (the first turn) or their conversation (after a follow-up)."""
    return {"followup_row": gr.Row(visible=followup), "convbox_a": gr.Column(visible=conversation),
            "convbox_b": gr.Column(visible=conversation), "textbox_a": gr.Column(visible=not conversation),
            "textbox_b": gr.Column(visible=not conversation)}


@expensive
@ui_errors
def arena_battle(pool: list[str], prompt: str | None = None, max_new_tokens: int = 128,
                 request: gr.Request | None = None, *, settings: Settings | None = None):
    """Blind arena: two models drawn from the pool answer the same prompt anonymously, streaming side by side.

    Args:
        pool: the models the pair is drawn from (at least two model references).
        prompt: the user prompt both models answer.
        max_new_tokens: upper bound on generated tokens per model.

    Returns:
        The status line, answer A, answer B, the vote reveal (cleared), the four vote buttons and the match id to
        vote with (arena_vote) or to send a follow-up with (arena_followup); the names stay on the server until
        the vote.
    """
    a, b = arena.pick_pair(pool or [])
    messages = _messages(prompts.DEFAULT_SYSTEM, prompt)
    cols: list[arena.ColumnState] = []
    waiting = status_html("running", "Two anonymous models are answering… vote when both are done.")
    for cols in arena.stream_compare([arena.Entry(a), arena.Entry(b)], messages, max_new_tokens=int(max_new_tokens),
                                     settings=settings):
        yield {"status": waiting, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(False),
               "match_id": "", **_layout(False, False)}  # a new battle ends the old match
    ok = all(c.status == "done" for c in cols)
    histories = tuple([*messages, {"role": "assistant", "content": c.text}] for c in cols)
    rows = [arena.results_rows([c])[0] for c in cols]
    match_id = (arena.ArenaStore(settings=settings).open_match(a, b, rows, owner=user_of(request), histories=histories)
                if ok else "")
    status = (status_html("done", "Both answered. Which is better? Vote to reveal the names, or send a follow-up "
                                  "first.") if ok else
              status_html("failed", "A model failed, so this match can't be voted on (names stay hidden). Start a "
                                    "new one."))
    yield {"status": status, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(ok),
           "match_id": match_id, **_layout(False, ok)}


def _owned_match(store: arena.ArenaStore, match_id: str | None, request: gr.Request | None, doing: str) -> dict:
    """The match with this id, if the caller asked for it (with logins on, another user can't vote on it or continue
    it even with its id)."""
    match = store.get_match((match_id or "").strip()) if isinstance(match_id, str) and match_id else None
    if match is None or match.get("owner") != user_of(request):
        raise InvalidInput(f"There is no match to {doing} with this match id: ask two anonymous models first "
                           "(arena_battle returns the match id), and vote within a day.")
    return match


def _side_chat(history: list[dict], pending: str | None = None, col: arena.ColumnState | None = None) -> list[dict]:
    return turns.chat_messages(history, None, pending, _arena_text(col) if col else None)


def _chats(histories: list[list[dict]], prompt: str | None = None,
           cols: list[arena.ColumnState] | None = None) -> dict:
    return {f"conv_{side}": _side_chat(histories[i], prompt, cols[i] if cols else None)
            for i, side in enumerate(("a", "b"))}


@expensive
@ui_errors
def arena_followup(prompt: str | None = None, match_id: str | None = None, max_new_tokens: int = 128,
                   request: gr.Request | None = None, *, settings: Settings | None = None):
    """Blind arena: send a follow-up before voting; the same two anonymous models each continue their own
    conversation (names still hidden). At most MAX_TURNS (10) turns a match; refused once the match has its vote.

    Args:
        prompt: the follow-up user message.
        match_id: the match id arena_battle returned.
        max_new_tokens: upper bound on generated tokens per model.

    Returns:
        The status line (which turn this is), A's new answer, B's new answer, and A's and B's conversations so far
        (chat messages); vote with arena_vote and the same match id.
    """
    store = arena.ArenaStore(settings=settings)
    match = _owned_match(store, match_id, request, "continue")
    if store.voted(match["id"]):
        raise arena.AlreadyVoted("This match already has its vote, so it takes no more turns: start a new one.")
    if match["turns"] >= MAX_TURNS:
        raise InvalidInput(f"This match has had its {MAX_TURNS} turns: vote now, or start a new one.")
    if not match["histories"]:
        raise InvalidInput("This match was stored without its conversation, so it can't be continued: vote, or start "
                           "a new one.")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("Write a follow-up message first.")
    histories = [list(h) for h in match["histories"]]
    turn, n = [{"role": "user", "content": prompt}], match["turns"] + 1
    waiting = status_html("running", f"Turn {n}: the same two anonymous models are answering…")
    cols: list[arena.ColumnState] = []
    for cols in arena.stream_compare([arena.Entry(match["a"]), arena.Entry(match["b"])], turn,
                                     max_new_tokens=int(max_new_tokens), histories=histories, settings=settings):
        yield {"status": waiting, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(False),
               **_chats(histories, prompt, cols), **_layout(True, True)}
    if all(c.status == "done" for c in cols):
        after = tuple([*h, *turn, {"role": "assistant", "content": c.text}]
                      for h, c in zip(histories, cols, strict=True))
        n = store.continue_match(match["id"], [arena.results_rows([c])[0] for c in cols], after,
                                 expected_turns=match["turns"])
        status = status_html("done", f"Turn {n} (at most {MAX_TURNS}): both answered. Vote to reveal the names, or "
                                     "send another follow-up.")
        chats = _chats(list(after))
    else:
        status = status_html("failed", "A model failed on this follow-up, so this turn is not part of the match "
                                       "(names stay hidden): vote on the turns before it, or send a follow-up again.")
        chats = _chats(histories, prompt, cols)
    yield {"status": status, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(True), **chats,
           **_layout(True, True)}


@ui_errors
def arena_vote(choice: str | None = None, match_id: str | None = None, request: gr.Request | None = None, *,
               settings: Settings | None = None):
    """Vote on an arena match, then reveal which model was A and which was B (and after how many turns).

    Args:
        choice: "a", "b", "tie" or "both_bad" (or a vote button's label).
        match_id: the match id arena_battle returned (one vote per match, within a day).

    Returns:
        The reveal text, the updated leaderboard, its caption and the four vote buttons.
    """
    outcome = VOTE_LABELS.get(choice, (choice or "").strip().lower())
    if outcome not in VOTE_LABELS.values():
        raise InvalidInput(f"Vote with one of: {', '.join(VOTE_LABELS.values())}.")
    store = arena.ArenaStore(settings=settings)
    match = _owned_match(store, match_id, request, "vote on")
    # one vote per match is enforced by the database (two simultaneous clicks both pass the check above)
    vote_id = store.record_vote(match["a"], match["b"], outcome, match_id=match["id"], turns=match["turns"])
    said = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}[outcome]
    n = match["turns"]
    lines = [f"**Vote #{vote_id} saved** ({said}, after {n} turn{'s' if n != 1 else ''})."]
    for side, stats in zip(("A", "B"), match["stats"], strict=True):
        model = match[side.lower()]
        lines.append(f"- **{side}** was <b title='{esc(view.name_title(model))}'>{esc(view.short_name(model))}</b> "
                     f"(`{esc(view.model_names(model)[0])}`){' (last turn)' if n > 1 else ''}: "
                     f"{stats['tokens']} tokens, {stats['tokens_per_s']} tokens/s, TTFT {stats['ttft_s']} s, "
                     f"{stats['device']} {stats['quantization']}")
    return {"reveal": "\n".join(lines), **arena_leaderboard(settings=settings), **_vote_buttons(False),
            "followup_row": gr.Row(visible=False)}


@ui_errors
def arena_leaderboard(*, settings: Settings | None = None):
    """The arena leaderboard from every stored vote: Bradley–Terry ratings with bootstrap 95% confidence intervals.

    Returns:
        The leaderboard table (rank, model, rating, 95% CI, votes, wins, losses, ties, both bad, note) and a
        caption (how many votes, how the ratings are computed).
    """
    store = arena.ArenaStore(settings=settings)
    votes = store.votes()
    rows = [view.arena_row(i + 1, r) for i, r in enumerate(arena.leaderboard(votes))]
    return {"board": pd.DataFrame(rows, columns=view.LEADER_COLUMNS),
            "caption": view.arena_caption(store.describe(len(votes)))}


def _arena(defaults: list[str], settings: Settings | None = None) -> None:
    bind = functools.partial(with_settings, ctx=settings)  # each handler reads the app's settings
    with gr.Tab("Blind arena", id="compare-arena") as tab:
        gr.Markdown("Two models drawn from the pool answer the same prompt **anonymously**. Vote for the better "
                    "answer; the names are revealed after the vote. Votes are kept (one per match) and feed the "
                    f"leaderboard ({arena.METHOD}).")
        with gr.Row():
            pool = model_picker("chat", defaults, multiselect=True, label="Pool (at least two models)",
                            elem_id="arena-pool", scale=3)
            max_tokens = gr.Slider(1, 1024, value=128, step=1, label="Max new tokens", scale=1)
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=2, max_length=200_000, elem_id="arena-prompt")
        go = gr.Button("Ask two anonymous models", variant="primary", elem_id="arena-go")
        # the match waiting for its vote: only its id reaches the browser; the names stay on the server
        match = gr.Textbox(visible=False, elem_id="arena-match")
        battle = {"status": gr.HTML(elem_id="arena-status")}
        layout, chats = {}, {}  # A and B: the single answer (first turn) or the conversation (after a follow-up)
        with gr.Row(equal_height=False):
            for side in ("a", "b"):
                with gr.Column(min_width=220):
                    with gr.Column(visible=False, min_width=0) as layout[f"convbox_{side}"]:
                        chats[f"conv_{side}"] = gr.Chatbot(label=f"Model {side.upper()}", height=360,
                                                           elem_id=f"arena-conv-{side}", buttons=["copy", "copy_all"])
                    with gr.Column(min_width=0) as layout[f"textbox_{side}"]:
                        battle[side] = gr.Textbox(label=f"Model {side.upper()}", lines=8, max_lines=20,
                                                  interactive=False, elem_id=f"arena-{side}")
        with gr.Row(visible=False, equal_height=True, elem_id="arena-followup-row") as layout["followup_row"]:
            followup = gr.Textbox(label=f"Follow-up before voting (the same two models; at most {MAX_TURNS} turns)",
                                  lines=2, max_length=200_000, scale=4, min_width=220, elem_id="arena-followup",
                                  placeholder="Ask both models a follow-up…")
            send = gr.Button("Send follow-up", variant="primary", scale=1, min_width=160,
                             elem_id="arena-followup-send")
        with gr.Row():
            buttons = [gr.Button(label, interactive=False, elem_id=f"arena-vote-{key}")
                       for label, key in VOTE_LABELS.items()]
        voted = {f"vote{i}": b for i, b in enumerate(buttons)}
        voted["reveal"] = battle["reveal"] = gr.Markdown(elem_id="arena-reveal")
        battle.update({k: v for k, v in voted.items() if k.startswith("vote")})
        battle["match_id"] = match  # last: the API's outputs keep their order (status, A, B, reveal, match id)
        voted["followup_row"] = layout["followup_row"]
        gr.Markdown("### Leaderboard")
        board = {"board": gr.Dataframe(pd.DataFrame(columns=view.LEADER_COLUMNS), interactive=False, wrap=False,
                                       label=f"Leaderboard ({arena.METHOD})", elem_id="arena-board"),
                 "caption": gr.Markdown()}
        refresh = gr.Button("Refresh leaderboard", size="sm")
        on(go.click, bind(arena_battle), [pool, prompt, max_tokens], {**battle, **layout}, api_name="arena_battle",
           status="status", clear=("a", "b", "reveal"), running="Drawing two models…", **GPU_EVENT)
        turn = {"status": battle["status"], "a": battle["a"], "b": battle["b"], **chats, **layout,
                **{k: v for k, v in voted.items() if k.startswith("vote")}}
        for event in (send.click, followup.submit):  # the API / MCP tool takes (prompt, match_id[, max_new_tokens])
            on(event, bind(arena_followup), [followup, match, max_tokens], turn, api_name="arena_followup" if event ==
               send.click else False, status="status", running="Sending the follow-up…", **GPU_EVENT)
        for button in buttons:
            on(button.click, bind(arena_vote), [button, match], {**voted, **board}, api_name=False)
        # the API / MCP tool: explicit inputs (a button's label is no API parameter)
        choice = gr.Radio(list(VOTE_LABELS.values()), visible=False, label="Vote")
        on(gr.Button(visible=False).click, bind(arena_vote), [choice, match], {**voted, **board},
           api_name="arena_vote")
        on(refresh.click, bind(arena_leaderboard), None, board, api_name="arena_leaderboard")
        on(tab.select, bind(arena_leaderboard), None, board, api_name=False)

