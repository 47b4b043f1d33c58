"""One notebook per tab run: ``build_notebook`` of the run's recipe (``engines.notebooks.recipes``), kept under the
names the tabs and tests used before recipes existed."""

from __future__ import annotations

from typing import Any

from engines.notebooks import recipes
from engines.notebooks.build import build_notebook


def tokenizers_notebook(*args, **kwargs) -> Any:
    """``build_notebook(tokenizers_recipe(...))``."""
    return build_notebook(recipes.tokenizers_recipe(*args, **kwargs))


def pipeline_notebook(*args, **kwargs) -> Any:
    """``build_notebook(pipeline_recipe(...))``."""
    return build_notebook(recipes.pipeline_recipe(*args, **kwargs))


def chat_notebook(*args, **kwargs) -> Any:
    """``build_notebook(chat_recipe(...))``."""
    return build_notebook(recipes.chat_recipe(*args, **kwargs))


def next_token_notebook(*args, **kwargs) -> Any:
    """``build_notebook(next_token_recipe(...))``."""
    return build_notebook(recipes.next_token_recipe(*args, **kwargs))


def transcription_notebook(*args, **kwargs) -> Any:
    """``build_notebook(transcription_recipe(...))``."""
    return build_notebook(recipes.transcription_recipe(*args, **kwargs))


def minutes_notebook(*args, **kwargs) -> Any:
    """``build_notebook(minutes_recipe(...))``."""
    return build_notebook(recipes.minutes_recipe(*args, **kwargs))


def image_notebook(*args, **kwargs) -> Any:
    """``build_notebook(image_recipe(...))``."""
    return build_notebook(recipes.image_recipe(*args, **kwargs))


def code_notebook(*args, **kwargs) -> Any:
    """``build_notebook(code_recipe(...))``."""
    return build_notebook(recipes.code_recipe(*args, **kwargs))


def synthetic_notebook(*args, **kwargs) -> Any:
    """``build_notebook(synthetic_recipe(...))``."""
    return build_notebook(recipes.synthetic_recipe(*args, **kwargs))


def finetune_notebook(*args, **kwargs) -> Any:
    """``build_notebook(finetune_recipe(...))``."""
    return build_notebook(recipes.finetune_recipe(*args, **kwargs))
