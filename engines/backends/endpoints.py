"""Where OpenAI-compatible references are served: the built-in prefixes (``openai:``, ``hf:``, ``ollama:``) and
the named endpoints of ``WORKBENCH_ENDPOINTS`` (``vllm=http://gpu-box:8000/v1``: references ``vllm:<model>``).

URLs and keys are read when a call needs them (a key set later works); a key is never stored or shown.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

HF_ROUTER = "https://router.huggingface.co/v1"
OLLAMA_DEFAULT = "http://localhost:11434"
BUILTIN = ("openai", "hf", "ollama")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Endpoint:
    """Where a remote reference is served and which variable holds its key.

    Attributes:
        provider: the name shown to users ("OpenAI-compatible server", "HF Inference Providers", "Ollama", "vllm").
        base_url: the OpenAI-compatible base URL (None: the openai client's default, api.openai.com).
        key_var: the environment variable holding the key (None: no key needed).
        limit_param: the request field that bounds the answer's tokens.
        prompt_logprobs: the server is expected to return prompt log-probabilities through the completions endpoint
            with ``echo`` (vLLM does; api.openai.com, the HF router and Ollama don't): the named endpoints of
            WORKBENCH_ENDPOINTS (a server that refuses gets a clear error).
        key_required: a missing key is an error before any request.
    """

    provider: str
    base_url: str | None
    key_var: str | None
    limit_param: str = "max_tokens"
    prompt_logprobs: bool = False
    key_required: bool = True


def parse_named(spec: str) -> tuple[tuple[str, str], ...]:
    """``WORKBENCH_ENDPOINTS`` → ((name, base URL), ...): comma- or semicolon-separated ``name=url`` pairs; a name is
    lower-case letters, digits, ``-`` or ``_``, not one of the built-in prefixes; the URL http(s). Bad pairs are
    skipped (``named_problems`` says which)."""
    pairs = []
    for name, url in _pairs(spec):
        if _NAME.match(name) and name not in BUILTIN and url.startswith(("http://", "https://")):
            pairs.append((name, url.rstrip("/")))
    return tuple(pairs)


def named_problems(spec: str) -> list[str]:
    """What is wrong with each skipped pair of ``WORKBENCH_ENDPOINTS`` (for the start-up log)."""
    out = []
    for name, url in _pairs(spec):
        if not _NAME.match(name):
            out.append(f"'{name}': a name is lower-case letters, digits, '-' or '_'")
        elif name in BUILTIN:
            out.append(f"'{name}': that prefix is built in")
        elif not url.startswith(("http://", "https://")):
            out.append(f"'{name}': the URL must start with http:// or https://")
    return out


def _pairs(spec: str) -> list[tuple[str, str]]:
    out = []
    for part in re.split(r"[,;]", spec or ""):
        name, sep, url = part.strip().partition("=")
        if sep:
            out.append((name.strip().lower(), url.strip()))
    return out


def key_var_for(name: str) -> str:
    """The key variable of a named endpoint: ``<NAME>_API_KEY`` (``vllm`` → ``VLLM_API_KEY``)."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


def endpoint(prefix: str, named: tuple[tuple[str, str], ...] = ()) -> Endpoint | None:
    """The endpoint of a prefix, read from the environment now; None for a prefix no backend serves."""
    if prefix == "openai":
        # OPENAI_BASE_URL may point anywhere (Groq, Together, vLLM...): prompt log-probs are not assumed; a server
        # known to echo them is named in WORKBENCH_ENDPOINTS
        return Endpoint("OpenAI-compatible server", os.environ.get("OPENAI_BASE_URL") or None, "OPENAI_API_KEY",
                        limit_param="max_completion_tokens")
    if prefix == "hf":
        return Endpoint("HF Inference Providers", os.environ.get("HF_API_BASE_URL") or HF_ROUTER, "HF_TOKEN")
    if prefix == "ollama":
        host = (os.environ.get("OLLAMA_HOST") or OLLAMA_DEFAULT).strip().rstrip("/")
        if "://" not in host:
            host = "http://" + host
        return Endpoint("Ollama", host + "/v1", None, key_required=False)
    for name, url in named:
        if name == prefix:
            return Endpoint(name, url, key_var_for(name), prompt_logprobs=True, key_required=False)
    return None
