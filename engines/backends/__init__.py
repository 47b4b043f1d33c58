"""Model backends: one protocol (streamed chat with tools, log-probabilities, tokenize, next token, the show-code
recipe) with capability flags, one module per backend, and the one registry that maps a model reference to its
backend. See ARCHITECTURE.md, "Backends"."""

from __future__ import annotations

from engines.backends.registry import (  # noqa: F401,E402
    backend_for,
    capabilities,
    describe,
    is_local,
    register,
    remote_prefixes,
    require,
    resolve,
    runs_locally,
    split_prefix,
    which_can,
)
from engines.backends.types import (  # noqa: F401  (the package's contract)
    CAPABILITY_LABELS,
    CAPABILITY_NAMES,
    Capabilities,
    ChatChunk,
    GenerationStats,
    Recipe,
    ToolCall,
)
