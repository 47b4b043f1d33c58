"""The task table: every Pipelines task (its key, label, default model, inputs, example, output kind) and what
``run_task`` returns, plus the catalog look-ups the tab offers (task models, translation pairs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engines import errors, registry

INPUT_KEYS = ("text", "text_pair", "labels", "question", "context", "src_lang", "tgt_lang", "audio")
MAX_LABELS = 50
MAX_AUDIO_TEXT_CHARS = 2_000
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "ro": "Romanian", "ru": "Russian", "zh": "Chinese", "ja": "Japanese"}
ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class TaskSpec:
    """One task: its key, a label, the default model, the input keys it reads, an example, and its output kind.

    ``options`` maps optional input keys (lengths, seeds, sizes, ...) to their defaults.
    """

    name: str
    label: str
    default_model: str
    inputs: tuple[str, ...]
    example: dict
    kind: str
    family: str
    description: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class TaskResult:
    """What ``run_task`` returns.

    ``kind`` → ``value``: "labels" → [{label, score}]; "entities" → [{entity, word, start, end, score}];
    "answer" → {answer, score, start, end}; "text" → str; "audio" → (sampling_rate, numpy array);
    "image" → PIL.Image; "embedding" → {vector: list[float], similarity: float | None}.
    ``seconds`` is the run time (model load excluded: see ``load_s``).
    """

    kind: str
    value: Any
    seconds: float
    task: str = ""
    model: str = ""
    device: str = ""
    load_s: float = 0.0
    cache_hit: bool = False
    notice: str | None = None
    code: str = ""
    details: dict = field(default_factory=dict)

    @property
    def cached(self) -> bool:
        """The earlier name of ``cache_hit`` (kept for callers of the engine API)."""
        return self.cache_hit


def _task(name, label, kind, family, inputs, example, description, **options) -> TaskSpec:
    return TaskSpec(name=name, label=label, default_model=registry.task_default(name) or "", inputs=inputs,
                    example=example, kind=kind, family=family, description=description, options=options)


_STORY = ("The new library opened on Saturday in the old railway station. Hundreds of families came to see the "
          "reading rooms, the children's corner and the café on the former platform. The mayor said the building "
          "had been empty for twenty years and now belongs to the whole town again.")
TASKS: dict[str, TaskSpec] = {t.name: t for t in (
    _task("sentiment-analysis", "Sentiment analysis", "labels", "classify", ("text",),
          {"text": "The ending surprised me: clever, warm and never slow. I'd watch it again tomorrow."},
          "Positive or negative, with a score per label."),
    _task("zero-shot-classification", "Zero-shot classification", "labels", "classify", ("text", "labels"),
          {"text": "The striker scored twice in the last ten minutes and the crowd went wild.",
           "labels": ["sports", "politics", "cooking", "technology"]},
          "Scores for labels you choose, with no training (an NLI model).", multi_label=False),
    _task("ner", "Named entity recognition", "entities", "classify", ("text",),
          {"text": "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine."},
          "People, organisations, places and more, found in the text (grouped entities)."),
    _task("question-answering", "Question answering", "answer", "answer", ("question", "context"),
          {"question": "Where did the new library open?", "context": _STORY},
          "Finds the answer span inside a context (extractive QA)."),
    _task("summarization", "Summarization", "text", "text", ("text",), {"text": _STORY},
          "A short summary from an encoder-decoder model.", min_length=10, max_length=60),
    _task("translation", "Translation", "text", "text", ("text", "src_lang", "tgt_lang"),
          {"text": "The library opens at nine and closes at six.", "src_lang": "en", "tgt_lang": "fr"},
          "Translate between a language pair (OPUS-MT models, one per pair)."),
    _task("text-generation", "Text generation", "text", "text", ("text",),
          {"text": "Once upon a time, in a library inside an old railway station,"},
          "Continue a prompt with a causal language model.", max_new_tokens=40, temperature=0.0),
    _task("fill-mask", "Fill-mask", "labels", "classify", ("text",),
          {"text": "Paris is the <mask> of France."}, "The most likely words for the mask.", top_k=5),
    _task("feature-extraction", "Sentence embeddings", "embedding", "embed", ("text", "text_pair"),
          {"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."},
          "A sentence vector (mean pooled) and the cosine similarity of two texts."),
    _task("automatic-speech-recognition", "Speech to text", "text", "audio_in", ("audio",), {},
          "Transcribe a recording or the microphone (Whisper, through the Minutes tab's engine).", language=None,
          max_new_tokens=None),
    _task("text-to-speech", "Text to speech", "audio", "audio_out", ("text",),
          {"text": "Hello! This sentence was spoken by a small open model."}, "Read a text aloud."),
    _task("text-to-audio", "Text to audio (music)", "audio", "audio_out", ("text",),
          {"text": "a calm lo-fi beat with soft piano and rain"}, "Sound or music from a description (MusicGen).",
          duration_s=5.0, seed=None),
    _task("text-to-image", "Text to image", "image", "image", ("text",),
          {"text": "a watercolor painting of a lighthouse at dawn"}, "An image from a prompt (diffusers).",
          seed=None, steps=2, width=512, height=512),
)}

# Model heads that fit each task (names of transformers' auto-mapping tables) and how to say what is missing.
# Speech to text is not here: engines.speech loads and checks its models.
HEADS = {
    "sentiment-analysis": (("SEQUENCE_CLASSIFICATION",), "text-classification head"),
    "zero-shot-classification": (("SEQUENCE_CLASSIFICATION",), "NLI (entailment) classification head"),
    "ner": (("TOKEN_CLASSIFICATION",), "token-classification head"),
    "question-answering": (("QUESTION_ANSWERING",), "extractive question-answering head"),
    "summarization": (("SEQ_TO_SEQ_CAUSAL_LM",), "encoder-decoder (seq2seq) generation head"),
    "translation": (("SEQ_TO_SEQ_CAUSAL_LM",), "encoder-decoder (seq2seq) generation head"),
    "text-generation": (("CAUSAL_LM",), "causal language-model head"),
    "fill-mask": (("MASKED_LM",), "masked-language-model head"),
    "text-to-speech": (("TEXT_TO_WAVEFORM", "TEXT_TO_SPECTROGRAM"), "speech-synthesis head"),
    "text-to-audio": (("TEXT_TO_WAVEFORM", "TEXT_TO_SPECTROGRAM"), "audio-generation head"),
}
# Tasks that run through transformers' pipeline(); the others run on the Auto classes (or another engine).
PIPELINE_TASKS = frozenset({"sentiment-analysis", "zero-shot-classification", "ner", "text-generation", "fill-mask",
                            "text-to-speech", "text-to-audio"})


def task_names() -> list[str]:
    """Task keys in display order."""
    return list(TASKS)


def translation_pairs() -> list[tuple[str, str, str]]:
    """(src, tgt, catalog model id) for every catalog translation model."""
    return [(s.extra["src_lang"], s.extra["tgt_lang"], s.id) for s in registry.task_models("translation")
            if "src_lang" in s.extra and "tgt_lang" in s.extra]


def task_models(task: str) -> list[str]:
    """Catalog model ids offered for ``task`` (the default first)."""
    if task == "text-to-image":
        ids = [s.id for s in registry.by_kind("image")]
        default = TASKS[task].default_model
        return [default] + [i for i in ids if i != default] if default else ids
    return [s.id for s in registry.task_models(get_spec(task).name)]


def get_spec(task: str) -> TaskSpec:
    """The TaskSpec for a task key or a common alias (asr, tts, qa, embeddings, ...).

    Raises:
        InvalidInput: an unknown task.
    """
    key = (task or "").strip().lower().replace("_", "-")
    key = {"sentiment": "sentiment-analysis", "text-classification": "sentiment-analysis",
           "token-classification": "ner", "asr": "automatic-speech-recognition", "tts": "text-to-speech",
           "qa": "question-answering", "embeddings": "feature-extraction"}.get(key, key)
    if key not in TASKS:
        raise errors.InvalidInput(f"Unknown task '{task}'. Choose one of: {', '.join(TASKS)}.")
    return TASKS[key]

