"""The OpenAI-compatible backend: ``openai:``, ``hf:``, ``ollama:`` and every named endpoint of
``WORKBENCH_ENDPOINTS`` (vLLM, TGI, llama.cpp server, ...), through the official ``openai`` client.

Streams chat with tools (``tool_calls`` deltas assembled by index), images as ``image_url`` parts, and scores given
text through the completions endpoint's ``echo`` + ``logprobs`` where the server returns prompt log-probabilities
(vLLM does). Every answer is held to what was asked: the whole call within ``remote_timeout_s``, a stream without a
finish reason is an error (the server dropped it), and an answer far past ``max_new_tokens`` is cut and says so.
"""

from __future__ import annotations

import base64
import mimetypes
import time
from collections.abc import Iterator
from pathlib import Path

from engines import errors, prompts
from engines.backends.base import Backend
from engines.backends.endpoints import endpoint
from engines.backends.registry import register, remote_prefixes
from engines.backends.types import Capabilities, ChatChunk, GenerationStats, Recipe, ToolCall
from engines.config import Settings
from engines.refs import ModelRef

MAX_IMAGE_BYTES = 20 * 2**20


class OpenAICompatBackend(Backend):
    """Any server that speaks the OpenAI chat API."""

    name = "openai-compatible"
    description = "OpenAI-compatible servers (openai:, hf:, ollama:, WORKBENCH_ENDPOINTS)"
    prefixes = ("openai", "hf", "ollama")

    def serves(self, ref: ModelRef, settings: Settings) -> bool:
        return ref.kind in remote_prefixes(settings)

    def capabilities(self, ref: ModelRef | None, settings: Settings) -> Capabilities:
        ep = endpoint(ref.kind, settings.endpoints) if ref is not None else None
        return Capabilities(stream=True, tools=True, logprobs=bool(ep is None or ep.prompt_logprobs), vision=True,
                            audio_input=False, tokenize=False, local=False,
                            # chat logprobs with top alternatives: OpenAI and vLLM-like servers
                            next_token=ref is None or ref.kind == "openai" or ep is not None and ep.prompt_logprobs,
                            transcription=ref is None or ref.kind == "openai" or ep is not None and ep.prompt_logprobs)

    def provider(self, ref: ModelRef, settings: Settings) -> str:
        from engines.remote import endpoint_for

        return endpoint_for(ref).provider

    def stream_chat(self, ref, messages, *, max_new_tokens, temperature, top_p, quantization, tools, settings):
        return stream_remote(ref, messages, max_new_tokens, temperature, settings, top_p=top_p, tools=tools)

    def loglikelihoods(self, ref, requests, *, quantization, settings):
        return [remote_loglikelihood(ref, context, continuation, settings) for context, continuation in requests]

    def next_tokens(self, ref, messages, *, steps, top_k, temperature, quantization, seed, prompt_format, settings):
        from engines.next_token import remote_rows

        return remote_rows(ref, messages, steps, top_k, temperature, prompt_format, settings)

    def chat_recipe(self, ref, messages, *, max_new_tokens, temperature, quantization):
        from engines.snippets.chat import chat_code

        code = chat_code(ref.raw, messages, max_new_tokens=max_new_tokens, temperature=temperature)
        return Recipe(title=f"Chat with {ref.raw}", code=code, packages=["openai"], gpu=False)


register(OpenAICompatBackend())


def limit_param(prefix: str) -> str:
    """The request field that bounds an answer's tokens on this prefix's server."""
    from engines.config import Settings

    ep = endpoint(prefix, Settings.current().endpoints)
    return ep.limit_param if ep is not None else "max_tokens"


def client_setup_code(prefix: str) -> str:
    """Source lines that import ``os`` and ``OpenAI`` and build ``client`` for a prefix (keys and URLs read from the
    environment when the code runs, never written into it)."""
    from engines.backends.endpoints import HF_ROUTER, OLLAMA_DEFAULT, key_var_for

    if prefix == "openai":
        make = "client = OpenAI()  # reads OPENAI_API_KEY (and OPENAI_BASE_URL, if set) from the environment"
    elif prefix == "hf":
        make = (f"client = OpenAI(base_url=os.environ.get('HF_API_BASE_URL', {HF_ROUTER!r}),\n"
                "                api_key=os.environ['HF_TOKEN'])  # HF Inference Providers")
    elif prefix == "ollama":
        make = (f"client = OpenAI(base_url=os.environ.get('OLLAMA_HOST', {OLLAMA_DEFAULT!r}).rstrip('/') + '/v1',\n"
                "                api_key='ollama')  # a local Ollama server")
    else:  # a named endpoint: its URL is the deployment's, so the code reads it too
        var = key_var_for(prefix).removesuffix("_API_KEY")
        make = (f"client = OpenAI(base_url=os.environ['{var}_BASE_URL'],  # the '{prefix}' server's .../v1 URL\n"
                f"                api_key=os.environ.get('{var}_API_KEY', 'none'))")
    return f"import os\n\nfrom openai import OpenAI\n\n{make}\n"


def api_messages(messages: list[dict], ref: ModelRef) -> list[dict]:
    """Messages in the chat API's form: system folded where the model has no system role, image parts as
    ``image_url`` data URLs.

    Raises:
        InvalidInput: an image that can't be read or is too large.
    """
    if ref.spec is not None and ref.spec.no_system_role:
        messages = prompts.fold_system(messages)
    out = []
    for m in messages:
        if isinstance(m.get("content"), list):
            m = dict(m, content=[_api_part(p) for p in m["content"]])
        out.append(m)
    return out


def _api_part(part: dict) -> dict:
    if part["type"] != "image":
        return part
    path = Path(part["path"])
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise errors.InvalidInput(f"The image is {size / 2**20:.1f} MB; send one under "
                                      f"{MAX_IMAGE_BYTES // 2**20} MB.")
        data = path.read_bytes()
    except OSError:
        raise errors.InvalidInput("The attached image could not be read: attach it again.") from None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}


class _Calls:
    """Streamed ``tool_calls`` deltas assembled by their index (id and name come first, arguments in pieces)."""

    def __init__(self) -> None:
        self.parts: dict[int, dict] = {}

    def add(self, deltas) -> None:
        for d in deltas or ():
            slot = self.parts.setdefault(getattr(d, "index", None) or 0, {"id": "", "name": "", "arguments": ""})
            fn = getattr(d, "function", None)
            slot["id"] = getattr(d, "id", None) or slot["id"]
            if fn is not None:
                slot["name"] = getattr(fn, "name", None) or slot["name"]
                slot["arguments"] += getattr(fn, "arguments", None) or ""

    def calls(self) -> list[ToolCall]:
        return [ToolCall(id=p["id"] or f"call_{i}", name=p["name"], arguments=p["arguments"] or "{}")
                for i, p in sorted(self.parts.items()) if p["name"]]


def stream_remote(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float, settings: Settings,
                  *, top_p: float | None = None, tools: list[dict] | None = None) -> Iterator[ChatChunk]:
    """Stream a chat answer (and tool calls) from an OpenAI-compatible server."""
    from engines.remote import (
        answer_char_cap,
        endpoint_for,
        map_remote_error,
        openai_client,
        read_within,
        timeout_error,
    )

    client = openai_client(ref, settings)
    ep = endpoint_for(ref, settings)
    messages = api_messages(messages, ref)
    extra: dict = {ep.limit_param: max_new_tokens}
    if top_p is not None and temperature > 0:
        extra["top_p"] = top_p
    if tools:
        extra["tools"] = tools
    start = time.perf_counter()
    stats = GenerationStats(load_s=0.0, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0, model=ref.raw,
                            backend=ep.provider, device="remote", quantization="n/a",
                            context_window=ref.spec.context if ref.spec is not None else None)
    chunks, chars, cap = 0, 0, answer_char_cap(max_new_tokens)
    capped = False
    calls = _Calls()

    def open_stream():
        return client.chat.completions.create(model=ref.name, messages=messages, stream=True, temperature=temperature,
                                              stream_options={"include_usage": True}, **extra)

    events = read_within(open_stream, settings.remote_timeout_s,
                         lambda: timeout_error(ref, settings.remote_timeout_s, chunks))
    try:
        for event in events:
            if event.usage is not None:
                stats.tokens = event.usage.completion_tokens or stats.tokens
                stats.prompt_tokens = event.usage.prompt_tokens
            for choice in event.choices or ():
                if choice.finish_reason:
                    stats.finish_reason = choice.finish_reason
                delta = choice.delta
                if delta is not None and getattr(delta, "tool_calls", None):
                    calls.add(delta.tool_calls)
                    chunks += 1
                    chars += sum(len(getattr(getattr(d, "function", None), "arguments", None) or "")
                                 for d in delta.tool_calls)
                    capped = chars > cap
                text = delta.content if delta else None
                if text:
                    if chunks == 0:
                        stats.ttft_s = time.perf_counter() - start
                    chunks += 1
                    capped = chars + len(text) > cap
                    text = text[:cap - chars]
                    chars += len(text)
                    yield ChatChunk(text=text)
                if capped:
                    break
            if capped:
                break
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_remote_error(exc, ref, chunks) from None
    finally:
        events.close()  # ends the request if the caller stopped early (or the answer was cut)
    if capped:
        stats.finish_reason = "length"
        yield ChatChunk(text="", notice=f"{stats.backend} kept sending past max new tokens ({max_new_tokens}): the "
                                        f"answer was cut at {cap:,} characters.")
    elif not stats.finish_reason:
        raise errors.StreamTruncated(f"{stats.backend} closed the stream before the answer finished (after {chunks} "
                                     f"chunk(s), with no finish reason): the answer is incomplete. Try again.")
    found = calls.calls()
    if found and not capped:
        stats.finish_reason = "tool_calls"
        yield ChatChunk(text="", tool_calls=found)
    stats.total_s = time.perf_counter() - start
    stats.tokens = stats.tokens or chunks
    stats.tokens_per_s = stats.tokens / stats.total_s if stats.total_s > 0 else 0.0
    yield ChatChunk(text="", stats=stats)


def remote_loglikelihood(ref: ModelRef, context: str, continuation: str, settings: Settings) -> float:
    """log p(continuation | context) on a server that echoes prompt log-probabilities (vLLM's completions with
    ``echo`` + ``logprobs``), as lm-evaluation-harness's OpenAI-completions loglikelihood: the whole text is sent
    once and the continuation's tokens are those ending after the boundary (the context's trailing whitespace moved
    to the continuation, as lm-eval does; a token straddling the boundary counts for the continuation).

    Raises:
        Unsupported: the server has no completions endpoint or returns no prompt log-probabilities.
        InvalidInput: an empty continuation.
    """
    from engines.evals.contamination.tokens import prompt_logprobs

    if not continuation:
        raise errors.InvalidInput("Give a non-empty continuation to score.")
    stripped = context.rstrip()
    continuation = context[len(stripped):] + continuation
    text, boundary = stripped + continuation, len(stripped)
    lp = prompt_logprobs(ref, text, 1, settings)
    offsets = list(lp.text_offset) + [len(text)]
    total, counted = 0.0, 0
    for i, value in enumerate(lp.token_logprobs):
        start, end = offsets[i], offsets[i + 1]
        if start >= len(text):
            break  # the generated token after the echo
        if end > boundary:
            if value is None:  # the very first token has no context: lm-eval needs one, so does this
                raise errors.InvalidInput("The context is empty: give some text before the continuation.")
            total += float(value)
            counted += 1
    if not counted:
        raise errors.InvalidInput("The continuation scored no tokens on this server.")
    return total
