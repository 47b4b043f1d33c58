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
