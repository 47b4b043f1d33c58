"""Keep secrets out of messages and logs: the values of secret variables are replaced by their names."""

from __future__ import annotations

import logging
import os
import re

SECRET_VARS = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN", "ANTHROPIC_API_KEY",
               "GOOGLE_API_KEY", "WORKBENCH_AUTH")
_TOKEN_SHAPES = re.compile(r"\b(?:sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,})")


def redact(text: str) -> str:
    """``text`` with every secret value (read from the environment now) and key-shaped token masked."""
    if not text:
        return text
    for var in SECRET_VARS:
        value = os.environ.get(var, "")
        if len(value) >= 4:
            text = text.replace(value, f"<{var}>")
    return _TOKEN_SHAPES.sub("<redacted>", text)


_PATH_PART = r"[^\s'\"`,;:()<>\[\]{}|/]+"
_ABS_PATH = re.compile(rf"(?<![\w.:/~-])~?/(?:{_PATH_PART}/)+{_PATH_PART}")  # two parts at least; not in a URL


def hide_paths(text: str, known: dict[str, str] | None = None) -> str:
    """``text`` without the server's paths: each ``known`` path (→ its name for the user) replaced, longest first,
    then any other absolute path shortened to ``…/`` and its last part (a URL is left as it is).

    Args:
        text: a message (a library's exception text, say).
        known: path → what the user calls it (a model folder → its folder name).

    Returns:
        The message, e.g. "the config file at 'my-model/config.json'" for "/srv/models/my-model/config.json".
    """
    for path, name in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        if len(path) > 1:
            text = text.replace(path, name)
    return _ABS_PATH.sub(lambda m: "…/" + m.group(0).rsplit("/", 1)[1], text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the message, its arguments and any attached traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not drop the record
            message = str(record.msg)
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = redact(message), None
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler of the root logger (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
