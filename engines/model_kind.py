"""Which models can chat: a causal language-model (or image-text-to-text) head, read from the saved config.

``AutoModelForCausalLM`` happily builds a *random* LM head on a sentence embedder (``BertModel`` →
``BertLMHeadModel``) or takes Whisper's decoder alone (``WhisperForCausalLM``): the result streams word salad, or
fails past Whisper's 448 positions with a raw ``IndexError``. So every local chat path (``load_causal_lm``: chat,
Compare, arena, Minutes, Evaluate, Synthetic, next-token) asks ``require_chat_model`` first, as the Pipelines tab
checks a model's head for its task (``engines.pipelines.load.check_architecture``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engines import errors
from engines.refs import ModelRef, display_name

# (auto-mapping table, how to name a model whose saved head is in it, where it is useful instead)
_KINDS = (
    ("SPEECH_SEQ_2_SEQ", "a speech-recognition model", "Use it as the speech model (Minutes tab, speech to text)."),
    ("CTC", "a speech-recognition model", "Use it as the speech model (Minutes tab, speech to text)."),
    ("TEXT_TO_WAVEFORM", "a speech-synthesis model", "Use it in the Pipelines tab (text to speech)."),
    ("TEXT_TO_SPECTROGRAM", "a speech-synthesis model", "Use it in the Pipelines tab (text to speech)."),
    ("SEQ_TO_SEQ_CAUSAL_LM", "an encoder-decoder (seq2seq) model",
     "Use it in the Pipelines tab (summarization, translation)."),
    ("SEQUENCE_CLASSIFICATION", "a text classifier", "Use it in the Pipelines tab (classification)."),
    ("TOKEN_CLASSIFICATION", "a token classifier (NER)", "Use it in the Pipelines tab (named entities)."),
    ("QUESTION_ANSWERING", "an extractive question-answering model",
     "Use it in the Pipelines tab (question answering)."),
    ("MASKED_LM", "a masked-language (fill-mask) model", "Use it in the Pipelines tab (fill mask)."),
)
_HEAD_ONLY = {"SEQUENCE_CLASSIFICATION", "TOKEN_CLASSIFICATION", "QUESTION_ANSWERING"}
_ENCODER = ("an encoder without a language-model head (e.g. a sentence embedder)",
            "Use it in the Pipelines tab (feature extraction / sentence similarity).")


@dataclass(frozen=True)
class ChatKind:
    """What a saved config says about generating chat text.

    Attributes:
        can_chat: a causal LM or image-text-to-text head (or nothing saved that says otherwise).
        architecture: the saved architecture (``config.architectures[0]``), or the model type.
        kind: how to name the model for a user ("a speech-recognition model", ...), "" when it can chat.
        hint: where the model is useful instead ("" when it can chat).
    """

    can_chat: bool
    architecture: str
    kind: str = ""
    hint: str = ""


def _names(table: str) -> set[str]:
    from transformers.models.auto import modeling_auto

    names: set[str] = set()
    for value in getattr(modeling_auto, f"MODEL_FOR_{table}_MAPPING_NAMES", {}).values():
        names.update(value if isinstance(value, (tuple, list)) else [value])
    return names


def _keys(table: str) -> set[str]:
    from transformers.models.auto import modeling_auto

    return set(getattr(modeling_auto, f"MODEL_FOR_{table}_MAPPING_NAMES", {}))


def classify(config: Any) -> ChatKind:
    """Whether a transformers config (or a ``config.json`` dict) describes a model that can chat.

    Args:
        config: a ``PretrainedConfig`` or the parsed ``config.json``.

    Returns:
        A ChatKind. A config that names no architecture is judged by its model type: a decoder-only type that
        ``AutoModelForCausalLM`` knows and that is no masked-LM encoder.
    """
    get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
    archs = [str(a) for a in (get("architectures") or [])]
    model_type = str(get("model_type") or "")
    chat_heads = _names("CAUSAL_LM") | _names("IMAGE_TEXT_TO_TEXT") | _names("MULTIMODAL_LM")
    encoder_decoder = bool(get("is_encoder_decoder", False))
    if archs:
        if set(archs) & chat_heads and not encoder_decoder:
            return ChatKind(True, archs[0])
        return _refusal(archs[0], set(archs))
    if model_type in _keys("CAUSAL_LM") and not encoder_decoder and model_type not in _keys("MASKED_LM"):
        return ChatKind(True, model_type)
    if not model_type:
        return ChatKind(True, "")  # nothing saved to judge by: loading will tell
    return _refusal(model_type, {model_type}, by_type=True)


def _refusal(arch: str, names: set[str], by_type: bool = False) -> ChatKind:
    # by model type alone many heads fit (bert has them all): say only what every checkpoint of the type is
    kinds = [k for k in _KINDS if k[0] not in _HEAD_ONLY] if by_type else _KINDS
    for table, kind, hint in kinds:
        if names & (_keys(table) if by_type else _names(table)):
            return ChatKind(False, arch, kind, hint)
    if not by_type and arch.endswith("Model"):
        return ChatKind(False, arch, *_ENCODER)
    return ChatKind(False, arch, "a model without a causal language-model head", "")


def _config_dict(ref: ModelRef) -> dict | None:
    """``config.json`` of a local folder (an adapter folder's base when it has none), None when there is none."""
    if ref.path is None:
        return None
    path = ref.path / "config.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    adapter = ref.path / "adapter_config.json"
    if adapter.is_file():
        base = json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path") or ""
        if base and (base_cfg := _base_config(base)) is not None:
            return base_cfg
    return None


def _base_config(base: str) -> dict | None:
    from pathlib import Path

    path = Path(base) / "config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def chat_kind(ref: ModelRef) -> ChatKind:
    """What ``ref``'s saved config says (only ``config.json`` is read; nothing for a remote model).

    Raises:
        GatedModel / ModelNotFound / HubUnreachable / ModelLoadError: the config could not be read.
    """
    from engines.backends.registry import is_local

    if not is_local(ref):
        return ChatKind(True, "")
    try:
        local = _config_dict(ref)
    except (OSError, ValueError):
        local = None
    if local is not None:
        return classify(local)
    if ref.path is not None:
        return ChatKind(True, "")  # an adapter whose base is a Hub id, or no config: loading will tell
    from engines.loading import load_config

    return classify(load_config(ref))


def require_chat_model(ref: ModelRef, *, role: str = "", purpose: str = "chat or generate text") -> None:
    """Refuse a model without a causal-LM / chat head, saying what it is and where it is useful instead.

    Args:
        ref: the model reference.
        role: how the caller names the model ("the minutes model"); empty for none.
        purpose: what it can't do ("write minutes"), finishing "so it cannot ...".

    Raises:
        NotAChatModel: a speech, embedding, classifier, seq2seq ... model.
    """
    kind = chat_kind(ref)
    if kind.can_chat:
        return
    who = f"{role} '{display_name(ref)}'" if role else f"'{display_name(ref)}'"
    raise errors.NotAChatModel(
        f"{who[0].upper()}{who[1:]} is {kind.kind} ({kind.architecture}): it has no causal language-model head, "
        f"so it cannot {purpose}. Choose a chat (instruct) model such as Qwen/Qwen2.5-0.5B-Instruct. "
        f"{kind.hint}".strip())


_vision: dict[tuple[str, float], bool] = {}


def is_vision_config(config: Any) -> bool:
    """Whether a config (or a ``config.json`` dict) describes an image-text-to-text chat model: its saved
    architecture is one ``AutoModelForImageTextToText`` maps to, or (none saved) its model type is, with a
    ``vision_config``."""
    get = config.get if isinstance(config, dict) else (lambda k, d=None: getattr(config, k, d))
    if not classify(config).can_chat:
        return False
    archs = {str(a) for a in (get("architectures") or [])}
    if archs:
        return bool(archs & _names("IMAGE_TEXT_TO_TEXT"))
    return str(get("model_type") or "") in _keys("IMAGE_TEXT_TO_TEXT") and get("vision_config") is not None


def is_vision_model(ref: ModelRef) -> bool:
    """Whether a local model (Hub id or folder) takes images, from its ``config.json`` alone (no weights); cached
    per path (and the file's modification time). False for remote models and configs that can't be read."""
    if ref.kind not in ("hub", "local"):  # not registry.is_local: that asks the backend, which asks this
        return False
    stamp = 0.0
    if ref.path is not None:
        try:
            stamp = (ref.path / "config.json").stat().st_mtime
        except OSError:
            stamp = -1.0
    key = (str(ref.target), stamp)
    if key not in _vision:
        try:
            config = _config_dict(ref)
            if config is None and ref.path is None:
                from engines.loading import load_config

                config = load_config(ref)
        except (errors.WorkbenchError, OSError, ValueError):
            return False  # not cached: the next call tries again
        _vision[key] = config is not None and is_vision_config(config)
    return _vision[key]
