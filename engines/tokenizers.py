"""Tokenizer inspection: encode with offsets, decode, special tokens, chat templates, comparisons."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engines import errors, prompts
from engines.config import Settings
from engines.refs import ModelRef

_HUGE = 10**12  # transformers uses int(1e30) for "no limit"


@dataclass
class Tokenization:
    """Tokens of a text. ``pieces`` is the text each token covers (for display); ``count`` = len(ids)."""

    tokens: list[str]
    ids: list[int]
    offsets: list[tuple[int, int]]
    count: int
    is_special: list[bool]
    pieces: list[str] = field(default_factory=list)
    chars: int = 0
    words: int = 0
    tokenizer: str = ""

    @property
    def chars_per_token(self) -> float:
        """Characters of input per token (higher = more compact)."""
        return self.chars / self.count if self.count else 0.0

    @property
    def text_ids(self) -> list[int]:
        """The ids of the text itself: without the special tokens the tokenizer added (BOS, EOS, ...)."""
        return [i for i, s, (a, b) in zip(self.ids, self.is_special, self.offsets, strict=True) if not (s and b <= a)]

    @property
    def words_per_token(self) -> float:
        """Whitespace-separated words per token."""
        return self.words / self.count if self.count else 0.0


@dataclass
class TokenizerInfo:
    """Facts about a tokenizer."""

    name: str
    class_name: str
    vocab_size: int
    base_vocab_size: int
    model_max_length: int | None
    special_tokens: list[tuple[str, str, int]]
    has_chat_template: bool
    is_fast: bool


@dataclass
class ChatRender:
    """A chat rendered through a tokenizer's template."""

    text: str
    ids: list[int]
    is_special: list[bool]
    pieces: list[str]
    content_tokens: int
    overhead_tokens: int
    notice: str | None = None


@dataclass
class CompareRow:
    """One tokenizer's numbers for a text in the side-by-side comparison."""

    tokenizer: str
    count: int = 0
    chars_per_token: float = 0.0
    words_per_token: float = 0.0
    round_trip: bool | None = None
    vocab_size: int = 0
    error: str | None = None


def _resolved(tokenizer: str, settings: Settings | None = None):
    from engines.backends.registry import require

    try:
        return require(tokenizer, "tokenize", feature="Tokenizing", settings=settings or Settings.current())
    except errors.Unsupported:
        raise errors.Unsupported(f"'{tokenizer.strip()}' is an API model: its tokenizer is not available locally. "
                                 "Give a Hub id or a local folder.") from None


def _ref(tokenizer: str, settings: Settings | None = None) -> ModelRef:
    return _resolved(tokenizer, settings).ref


def get_tokenizer(tokenizer: str, *, settings: Settings | None = None):
    """Load (cached) the tokenizer behind a reference, through its backend (``settings``: the deployment's; read
    now when None)."""
    found = _resolved(tokenizer, settings)
    return found.backend.tokenizer(found.ref, found.settings)


def check_text(text: str, *, allow_empty: bool = False, settings: Settings | None = None) -> str:
    """Validate input text length. Raises InvalidInput when empty or over the configured limit."""
    if not isinstance(text, str):
        raise errors.InvalidInput("Text must be a string.")
    if not allow_empty and not text:
        raise errors.InvalidInput("The text is empty: type or paste something to tokenize.")
    limit = (settings or Settings.current()).max_input_chars
    if len(text) > limit:
        raise errors.InvalidInput(f"The text has {len(text):,} characters; the limit is {limit:,} "
                                  "(WORKBENCH_MAX_INPUT_CHARS).")
    return text


def special_ids(tok) -> set[int]:
    """Ids of every special token, added special tokens included."""
    ids = set(getattr(tok, "all_special_ids", []) or [])
    for idx, added in (getattr(tok, "added_tokens_decoder", None) or {}).items():
        if getattr(added, "special", False):
            ids.add(int(idx))
    return ids


def tokenize(tokenizer: str, text: str, *, add_special_tokens: bool = True,
             settings: Settings | None = None) -> Tokenization:
    """Encode ``text`` and return tokens, ids, character offsets and which tokens are special.

    Args:
        tokenizer: Hub id or local folder of a tokenizer (or model).
        text: the text (empty is an error; the length is capped by WORKBENCH_MAX_INPUT_CHARS).
        add_special_tokens: add BOS/EOS etc. the way the model sees a plain prompt.
        settings: the deployment's settings (read from the environment when None).
    """
    settings = settings or Settings.current()
    check_text(text, settings=settings)
    tok = get_tokenizer(tokenizer, settings=settings)
    specials = special_ids(tok)
    if getattr(tok, "is_fast", False):
        enc = tok(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True, verbose=False)
        ids = list(enc["input_ids"])
        offsets = [tuple(o) for o in enc["offset_mapping"]]
    else:
        ids = list(tok(text, add_special_tokens=add_special_tokens, verbose=False)["input_ids"])
        offsets = [(0, 0)] * len(ids)
    tokens = tok.convert_ids_to_tokens(ids)
    is_special = [i in specials for i in ids]
    pieces = _pieces(tok, text, ids, tokens, offsets, is_special)
    return Tokenization(tokens=tokens, ids=ids, offsets=offsets, count=len(ids), is_special=is_special,
                        pieces=pieces, chars=len(text), words=len(text.split()), tokenizer=tokenizer)


def _pieces(tok, text, ids, tokens, offsets, is_special) -> list[str]:
    """The text each token covers. Byte-level tokens that share one character's span with the token before
    them (pieces of a multi-byte character) get "" so the character is shown once."""
    out: list[str] = []
    previous = None
    for i, (start, end) in enumerate(offsets):
        if is_special[i]:
            out.append(tokens[i])
        elif end <= start:
            out.append(tok.decode([ids[i]]))
        elif (start, end) == previous or (previous and start < previous[1]):
            out.append("")
        else:
            out.append(text[start:end])
        if not is_special[i] and end > start:
            previous = (start, end)
    return out


_ID_SPLIT = re.compile(r"[,\s]+")


def parse_ids(text: str) -> list[int]:
    """Parse a list of token ids typed by a user: ``1, 2, 3``, ``[1 2 3]`` or one per line.

    Raises:
        InvalidInput: naming the first item that is not a non-negative integer.
    """
    body = (text or "").strip().strip("[]()").strip()
    if not body:
        raise errors.InvalidInput("No token ids given: type ids separated by commas or spaces, e.g. 9906, 1917.")
    ids = []
    for n, item in enumerate(p for p in _ID_SPLIT.split(body) if p):
        try:
            value = int(item)
        except ValueError:
            raise errors.InvalidInput(f"'{item[:40]}' (item {n + 1}) is not an integer token id.") from None
        if value < 0:
            raise errors.InvalidInput(f"{value} (item {n + 1}) is negative: token ids start at 0.")
        ids.append(value)
    return ids


def decode(tokenizer: str, ids: list[int], *, settings: Settings | None = None) -> str:
    """Decode ids back to text, special tokens kept.

    Raises:
        InvalidInput: an id that is not an int, is negative, or is not below the vocabulary size.
    """
    if not isinstance(ids, list) or not ids:
        raise errors.InvalidInput("Give at least one token id.")
    tok = get_tokenizer(tokenizer, settings=settings)
    size = len(tok)
    for n, value in enumerate(ids):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.InvalidInput(f"Item {n + 1} ({value!r}) is not an integer token id.")
        if value < 0 or value >= size:
            raise errors.InvalidInput(f"Token id {value} (item {n + 1}) is out of range: this tokenizer's ids go "
                                      f"from 0 to {size - 1} (vocabulary of {size:,}).")
    return tok.decode(ids, skip_special_tokens=False)


def tokenizer_info(tokenizer: str, *, settings: Settings | None = None) -> TokenizerInfo:
    """Vocabulary size, model max length, special tokens and template presence."""
    tok = get_tokenizer(tokenizer, settings=settings)
    rows: list[tuple[str, str, int]] = []
    seen = set()
    for role, value in (getattr(tok, "special_tokens_map", None) or {}).items():
        for token in value if isinstance(value, list) else [value]:
            token = str(token)
            rows.append((role, token, tok.convert_tokens_to_ids(token)))
            seen.add(token)
    for idx, added in sorted((getattr(tok, "added_tokens_decoder", None) or {}).items()):
        if getattr(added, "special", False) and str(added) not in seen:
            rows.append(("added special", str(added), int(idx)))
            seen.add(str(added))
    max_len = getattr(tok, "model_max_length", None)
    return TokenizerInfo(name=tokenizer, class_name=type(tok).__name__, vocab_size=len(tok),
                         base_vocab_size=int(getattr(tok, "vocab_size", len(tok))),
                         model_max_length=max_len if isinstance(max_len, int) and max_len < _HUGE else None,
                         special_tokens=rows, has_chat_template=bool(getattr(tok, "chat_template", None)),
                         is_fast=bool(getattr(tok, "is_fast", False)))


def render_chat_detail(tokenizer: str, messages: list[dict], add_generation_prompt: bool = True, *,
                       tools: list[dict] | None = None, settings: Settings | None = None) -> ChatRender:
    """Render ``messages`` through the tokenizer's chat template, with its tokens and the template overhead.

    A template without a system role gets the system text folded into the first user turn, with a notice.
    ``tools`` (OpenAI function schemas) are rendered by the template as it renders them for the model (its own tool
    instructions; they count as overhead), and tool calls in the history are shaped as the local backend sends them
    (``engines.chat.template_messages``), so the text is exactly the prompt a local model reads.
    """
    from engines.chat import check_tools, template_messages, validate_messages

    messages = validate_messages(messages)
    tools = check_tools(tools)
    tok = get_tokenizer(tokenizer, settings=settings)
    if not getattr(tok, "chat_template", None):
        raise errors.Unsupported(f"'{tokenizer}' has no chat template (it is a base model or a bare tokenizer). "
                                 "Pick an instruct/chat version of the model.")
    if tools:
        from engines.backends.toolparse import detect_style

        if detect_style(tok.chat_template) is None:
            raise errors.Unsupported(f"The chat template of '{tokenizer}' takes no tools, so the model can't be "
                                     "offered any. Pick a model whose template does (Qwen2.5-Instruct, Llama "
                                     "3.1/3.2-Instruct, Mistral-Instruct v0.3, Hermes) or an API model.")
    text, messages, notice = prompts.apply_template(tok, template_messages(messages, tok.chat_template),
                                                    add_generation_prompt=add_generation_prompt, tools=tools)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    specials = special_ids(tok)
    content = sum(len(tok(m["content"], add_special_tokens=False)["input_ids"]) for m in messages)
    tokens = tok.convert_ids_to_tokens(ids)
    is_special = [i in specials for i in ids]
    pieces = [tokens[k] if is_special[k] else tok.decode([i]) for k, i in enumerate(ids)]
    return ChatRender(text=text, ids=ids, is_special=is_special, pieces=pieces, content_tokens=content,
                      overhead_tokens=len(ids) - content, notice=notice)


def render_chat(tokenizer: str, messages: list[dict], add_generation_prompt: bool = True, *,
                tools: list[dict] | None = None, settings: Settings | None = None) -> str:
    """The prompt string a chat model sees for ``messages`` (its chat template applied, with ``tools``' schemas
    when given)."""
    return render_chat_detail(tokenizer, messages, add_generation_prompt, tools=tools, settings=settings).text


def round_trip(tokenizer: str, text: str, ids: list[int] | None = None, *,
               settings: Settings | None = None) -> tuple[bool, int | None]:
    """Whether decode(encode(text)) == text, and the first differing character index when not.

    Args:
        tokenizer: tokenizer reference.
        text: the text.
        ids: ``text`` already encoded without added special tokens (saves encoding it again).
        settings: the deployment's settings (read from the environment when None).
    """
    settings = settings or Settings.current()
    check_text(text, settings=settings)
    tok = get_tokenizer(tokenizer, settings=settings)
    if ids is None:
        ids = tok(text, add_special_tokens=False, verbose=False)["input_ids"]
    back = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    if back == text:
        return True, None
    first = next((i for i, (a, b) in enumerate(zip(text, back, strict=False)) if a != b), None)
    return False, first if first is not None else min(len(text), len(back))


def compare(tokenizers: list[str], text: str, *, settings: Settings | None = None) -> list[CompareRow]:
    """Token counts of one text under several tokenizers; a tokenizer that fails gets its error in its row."""
    settings = settings or Settings.current()
    check_text(text, settings=settings)
    if not tokenizers:
        raise errors.InvalidInput("Choose at least one tokenizer.")
    rows = []
    for name in tokenizers:
        try:
            t = tokenize(name, text, add_special_tokens=False, settings=settings)
            ok, _ = round_trip(name, text, t.ids, settings=settings)
            rows.append(CompareRow(tokenizer=name, count=t.count, chars_per_token=t.chars_per_token,
                                   words_per_token=t.words_per_token, round_trip=ok,
                                   vocab_size=len(get_tokenizer(name, settings=settings))))
        except errors.WorkbenchError as exc:
            rows.append(CompareRow(tokenizer=name, error=str(exc)))
    return rows
