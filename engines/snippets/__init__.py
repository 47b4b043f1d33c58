"""The "show code" builders: plain transformers / diffusers / openai code that reproduces a run of the app.

One module per capability, on shared pieces in ``common`` (client set-up per remote kind, model loading lines for a
quantization). ``engines.notebooks`` turns these snippets into notebooks.
"""

from engines.snippets.chat import chat_code, next_token_code
from engines.snippets.common import causal_lm_load, client_setup, remote_kind

__all__ = ["causal_lm_load", "chat_code", "client_setup", "next_token_code", "remote_kind"]
