"""Shared pieces of "show code" snippets: how to reach a remote model, how to load a local one.

Snippets read keys and base URLs from the environment when they run (never baked in), so a snippet is safe to
share and runs against the same server the app used when the same variables are set.
"""

from __future__ import annotations

from engines import quant
from engines.refs import REMOTE_PREFIXES
from engines.remote import HF_ROUTER, OLLAMA_DEFAULT


def remote_kind(model: str) -> tuple[str | None, str]:
    """(kind, name) of a model reference: kind is "openai" | "hf" | "ollama" for remote ones, else None."""
    prefix, sep, name = (model or "").partition(":")
    if sep and prefix.lower() in REMOTE_PREFIXES:
        return prefix.lower(), name.strip()
    return None, model


def client_setup(kind: str) -> str:
    """Source lines that import ``os`` and ``OpenAI`` and build ``client`` for a remote kind."""
    if kind == "openai":
        make = "client = OpenAI()  # reads OPENAI_API_KEY (and OPENAI_BASE_URL, if set) from the environment"
    elif kind == "hf":
        make = (f"client = OpenAI(base_url=os.environ.get('HF_API_BASE_URL', {HF_ROUTER!r}),\n"
                "                api_key=os.environ['HF_TOKEN'])  # HF Inference Providers")
    else:
        make = (f"client = OpenAI(base_url=os.environ.get('OLLAMA_HOST', {OLLAMA_DEFAULT!r}).rstrip('/') + '/v1',\n"
                "                api_key='ollama')  # a local Ollama server")
    return f"import os\n\nfrom openai import OpenAI\n\n{make}\n"


def causal_lm_load(model: str, quantization: str = "fp32", *, var: str = "model_id") -> tuple[str, str]:
    """(import line, load lines) for a causal LM and its tokenizer at ``quantization`` (4bit, 8bit, bf16, ...).

    The load lines define ``tokenizer`` and ``model``; ``var`` names the variable holding the model id.
    """
    extra, kwargs = quant.snippet(quantization)
    names = ", ".join(n for n in ("AutoModelForCausalLM", "AutoTokenizer", extra) if n)
    device = "" if quantization in quant.BNB else ", device_map='auto'"
    imports = f"import torch\nfrom transformers import {names}\n"
    load = (f"{var} = {model!r}\ntokenizer = AutoTokenizer.from_pretrained({var})\n"
            f"model = AutoModelForCausalLM.from_pretrained({var}, {kwargs}{device}).eval()\n")
    return imports, load
