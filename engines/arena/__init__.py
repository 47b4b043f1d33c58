"""Compare models: side-by-side streaming with measured speed and memory, a memory-fit check before loading,
and a blind arena (votes in SQLite, one per match; a Bradley–Terry leaderboard with bootstrap 95 % intervals).

Modules:
    entries: the columns of a comparison (``parse_entries``) and the models it starts with.
    memory: the memory-fit check before anything loads (``check_fit``).
    stream: side-by-side streaming (``stream_compare``, ``merge_streams``, ``ColumnState``), results, show code.
    votes: arena matches and votes (``Vote``, ``ArenaStore``, ``pick_pair``).
    fit: the leaderboard (``leaderboard``: Bradley–Terry + bootstrap; ``elo_ratings``: online Elo, a labelled
        comparison view only).

Everything is re-exported here, so ``from engines import arena; arena.X`` keeps working. To replace a helper in a
test, patch it where it is used (e.g. ``engines.arena.memory.available_memory``).
"""

from __future__ import annotations

from engines.arena.entries import MAX_COLUMNS, Entry, available_locally, default_models, parse_entries
from engines.arena.fit import (
    ANCHOR,
    BASE,
    BOOTSTRAP_ROUNDS,
    BOTH_BAD_POLICIES,
    ELO_BASE,
    ELO_K,
    ELO_SCALE,
    METHOD,
    RIDGE,
    SCALE,
    LeaderRow,
    bootstrap_ratings,
    bradley_terry,
    elo_ratings,
    leaderboard,
)
from engines.arena.memory import (
    ZERO_GPU_BYTES,
    FitCheck,
    available_memory,
    check_fit,
    model_params,
    refusal_message,
    safetensors_params,
    what_would_fit,
)
from engines.arena.stream import (
    DONE,
    HEARTBEAT,
    ColumnState,
    code_snippet,
    merge_streams,
    preload_transformers,
    results_rows,
    stream_compare,
)
from engines.arena.votes import (
    MAX_MATCH_ID,
    OUTCOMES,
    AlreadyVoted,
    ArenaStore,
    Vote,
    default_db_path,
    new_match_id,
    pick_pair,
)

__all__ = [
    "ANCHOR", "BASE", "BOOTSTRAP_ROUNDS", "BOTH_BAD_POLICIES", "DONE", "ELO_BASE", "ELO_K", "ELO_SCALE", "HEARTBEAT",
    "MAX_COLUMNS", "MAX_MATCH_ID", "METHOD", "OUTCOMES", "RIDGE", "SCALE", "ZERO_GPU_BYTES",
    "AlreadyVoted", "ArenaStore", "ColumnState", "Entry", "FitCheck", "LeaderRow", "Vote",
    "available_locally", "available_memory", "bootstrap_ratings", "bradley_terry", "check_fit", "code_snippet",
    "default_db_path", "default_models", "elo_ratings", "leaderboard", "merge_streams", "model_params",
    "new_match_id", "parse_entries", "pick_pair", "preload_transformers", "refusal_message", "results_rows",
    "safetensors_params", "stream_compare", "what_would_fit",
]
