"""Input validation for every task, before any model loads: texts (one limit from Settings), labels, language
pairs, audio references, whole-number options and seeds; and which model a run uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines import errors, registry
from engines.config import Settings
from engines.pipelines.tasks import MAX_AUDIO_TEXT_CHARS, MAX_LABELS, TaskSpec, translation_pairs
from engines.refs import ModelRef, parse_ref

ASR_MAX_NEW_TOKENS = 440  # Whisper writes at most 448 tokens per 30 s window, its prompt included


def clean_text(value: Any, settings: Settings, what: str = "text") -> str:
    """A non-empty text within ``Settings.max_input_chars``.

    Raises:
        InvalidInput: empty or too long.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if not text.strip():
        raise errors.InvalidInput(f"The {what} is empty: type or paste some text first.")
    limit = settings.max_input_chars
    if len(text) > limit:
        raise errors.InvalidInput(f"The {what} has {len(text):,} characters; this app accepts at most {limit:,} "
                                  "(WORKBENCH_MAX_INPUT_CHARS).")
    return text


def need_text(inputs: dict, settings: Settings) -> None:
    """The ``text`` input, cleaned in place."""
    inputs["text"] = clean_text(inputs.get("text"), settings)


def parse_labels(labels: Any) -> list[str]:
    """Candidate labels from a list or a comma/newline-separated string, de-duplicated, order kept.

    Raises:
        InvalidInput: no label, or more than MAX_LABELS.
    """
    if isinstance(labels, str):
        labels = labels.replace("\n", ",").split(",")
    items = [str(x).strip() for x in (labels or []) if str(x).strip()]
    items = list(dict.fromkeys(items))
    if not items:
        raise errors.InvalidInput("Zero-shot classification needs candidate labels: type a few, separated by commas "
                                  "(e.g. sports, politics, cooking).")
    if len(items) > MAX_LABELS:
        raise errors.InvalidInput(f"{len(items)} candidate labels is too many: each label is a separate pass of the "
                                  f"model. Use at most {MAX_LABELS}.")
    return items


def _validate_zero_shot(inputs: dict, settings: Settings) -> None:
    need_text(inputs, settings)
    inputs["labels"] = parse_labels(inputs.get("labels"))


def _validate_qa(inputs: dict, settings: Settings) -> None:
    inputs["question"] = clean_text(inputs.get("question"), settings, "question")
    inputs["context"] = clean_text(inputs.get("context"), settings, "context")


def _validate_translation(inputs: dict, settings: Settings) -> None:
    need_text(inputs, settings)
    src = (inputs.get("src_lang") or "en").strip().lower()
    tgt = (inputs.get("tgt_lang") or "").strip().lower()
    if not tgt:
        raise errors.InvalidInput("Choose the language to translate into (tgt_lang, e.g. 'fr').")
    if src == tgt:
        raise errors.InvalidInput(f"Source and target are both '{src}': pick two different languages.")
    inputs["src_lang"], inputs["tgt_lang"] = src, tgt


def _validate_embedding(inputs: dict, settings: Settings) -> None:
    need_text(inputs, settings)
    pair = inputs.get("text_pair")
    inputs["text_pair"] = clean_text(pair, settings, "second text") if pair and str(pair).strip() else None


def _validate_audio(inputs: dict, settings: Settings) -> None:
    # the file itself (size, format, duration) is checked by engines.audio, the one reader of audio
    audio = inputs.get("audio")
    if isinstance(audio, dict):  # gradio FileData-like
        audio = audio.get("path")
    if not audio or not str(audio).strip():
        raise errors.InvalidInput("No audio: upload a file or record with the microphone.")
    inputs["audio"] = str(audio)
    inputs["language"] = str(inputs.get("language") or "").strip() or None
    value = inputs.get("max_new_tokens")
    inputs["max_new_tokens"] = None if value in (None, "") else max(1, min(int_opt(inputs, "max_new_tokens", 1),
                                                                              ASR_MAX_NEW_TOKENS))


def _validate_audio_text(inputs: dict, settings: Settings) -> None:
    need_text(inputs, settings)
    if len(inputs["text"]) > MAX_AUDIO_TEXT_CHARS:
        raise errors.InvalidInput(f"The text has {len(inputs['text']):,} characters; audio generation here reads at "
                                  f"most {MAX_AUDIO_TEXT_CHARS:,}. Split it into shorter parts.")


_VALIDATORS: dict[str, Callable[[dict, Settings], None]] = {
    "zero-shot-classification": _validate_zero_shot, "question-answering": _validate_qa,
    "translation": _validate_translation, "feature-extraction": _validate_embedding,
    "automatic-speech-recognition": _validate_audio, "text-to-speech": _validate_audio_text,
    "text-to-audio": _validate_audio_text,
}


def validate(spec: TaskSpec, inputs: dict, settings: Settings) -> None:
    """Check and normalise a task's inputs in place (text by default).

    Raises:
        InvalidInput: the first problem found, with what to do about it.
    """
    _VALIDATORS.get(spec.name, need_text)(inputs, settings)


def model_ref(spec: TaskSpec, inputs: dict, model: str | None, settings: Settings) -> ModelRef:
    """The model a run uses: the one given, else the translation pair's catalog model, else the task's default.

    Raises:
        InvalidModelRef, ModelNotAllowed: a bad reference. Unsupported: a remote model, or a wrong language pair.
    """
    chosen = (model or "").strip()
    if spec.name == "translation":
        chosen = _translation_model(inputs["src_lang"], inputs["tgt_lang"], chosen)
    from engines.backends.registry import is_local

    ref = parse_ref(chosen or spec.default_model, settings)
    if not is_local(ref, settings):
        raise errors.Unsupported(f"'{ref.raw}' is a remote API model; the Pipelines tab runs models in this process. "
                                 "Give a Hub id (org/name) or a local folder.")
    return ref


def _translation_model(src: str, tgt: str, chosen: str) -> str:
    pairs = translation_pairs()
    spec = registry.get(chosen) if chosen else None
    if spec is not None and "tgt_lang" in spec.extra:
        if (spec.extra["src_lang"], spec.extra["tgt_lang"]) != (src, tgt):
            raise errors.Unsupported(f"'{chosen}' translates {spec.extra['src_lang']}→{spec.extra['tgt_lang']}, not "
                                     f"{src}→{tgt}. {_pair_hint(pairs)}")
        return chosen
    if chosen:
        return chosen  # any other model: the user knows its pair (T5 prefixes and M2M100 codes are handled)
    match = [m for s, t, m in pairs if (s, t) == (src, tgt)]
    if not match:
        raise errors.Unsupported(f"No catalog model translates {src}→{tgt}. {_pair_hint(pairs)} Or type the Hub id "
                                 "of a model for that pair (e.g. Helsinki-NLP/opus-mt-<src>-<tgt>).")
    return match[0]


def _pair_hint(pairs) -> str:
    return "Supported pairs: " + ", ".join(f"{s}→{t}" for s, t, _ in pairs) + "."


def int_opt(inputs: dict, key: str, default: int) -> int:
    """A whole-number option (``default`` when unset).

    Raises:
        InvalidInput: not a whole number.
    """
    value = inputs.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"{key} must be a whole number, not '{value}'.") from None




def parse_seed(value: Any) -> int:
    """A seed in [0, 2**32 - 1]; None, "" or a negative number = a random one.

    Raises:
        InvalidInput: not a whole number, or out of range.
    """
    import random

    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (int, float))
                                                                           and value < 0):
        return random.randint(0, 2**32 - 1)
    try:
        seed = int(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"Seed '{value}' is not a whole number.") from None
    if not 0 <= seed <= 2**32 - 1:
        raise errors.InvalidInput("Seed must be between 0 and 4294967295.")
    return seed


