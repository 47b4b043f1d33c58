"""Snippets for the Pipelines tab: plain transformers / diffusers code that reproduces a task's run (speech to
text: the speech engine's snippet, ``engines.snippets.speech``)."""

from __future__ import annotations

import json
from typing import Any

from engines.snippets.speech import transcribe_code

# Tasks whose snippet is a transformers pipeline() call (the others use the Auto classes or diffusers).
PIPELINE_SNIPPETS = frozenset({"sentiment-analysis", "zero-shot-classification", "ner", "text-generation",
                               "fill-mask", "text-to-speech", "text-to-audio"})


def _lit(value: Any) -> str:
    """A Python literal for a JSON-like value."""
    return json.dumps(value, ensure_ascii=False)


def code_snippet(task: str, model: str, inputs: dict, details: dict | None = None) -> str:
    """Plain transformers/diffusers code that reproduces a run.

    Args:
        task: a TASKS key.
        model: the model reference as given (Hub id or folder).
        inputs: the task's inputs.
        details: extra facts from the run (generation settings, seed, ...).

    Returns:
        Python source.
    """
    d = details or {}
    if task == "automatic-speech-recognition":
        return transcribe_code(model, d.get("backend") or "transformers", device=d.get("device") or "cpu",
                               dtype=d.get("dtype") or "float32", language=d.get("language"),
                               multilingual=d.get("multilingual", True), audio_file="audio.wav")
    text = _short(inputs.get("text", ""))
    m = _lit(model)
    if task in PIPELINE_SNIPPETS:
        return _pipeline_snippet(task, m, text, inputs, d)
    return _CODE[task](m, text, inputs, d)


def _short(text: Any, n: int = 400) -> str:
    text = str(text or "")
    return text if len(text) <= n else text[:n] + "…"


def _pipeline_snippet(task: str, m: str, text: str, inputs: dict, d: dict) -> str:
    name = "text-to-audio" if task == "text-to-speech" else task
    build = f"pipe = pipeline({_lit(name)}, model={m}" + (", aggregation_strategy=\"simple\"" if task == "ner" else "")
    call = {
        "sentiment-analysis": f"pipe({_lit(text)}, top_k=None, truncation=True)",
        "zero-shot-classification": f"pipe({_lit(text)}, candidate_labels={_lit(inputs.get('labels') or [])}, "
                                    f"multi_label={bool(d.get('multi_label'))})",
        "ner": f"pipe({_lit(text)})",
        "fill-mask": f"pipe({_lit(_short(d.get('text', text)))}, top_k={d.get('top_k', 5)})",
        "text-generation": f"pipe({_lit(text)}, max_new_tokens={d.get('max_new_tokens', 40)}, "
                           f"do_sample={bool(d.get('do_sample'))})",
        "text-to-speech": f"pipe({_lit(text)})",
        "text-to-audio": f"pipe({_lit(text)}, forward_params={{'max_new_tokens': {d.get('max_new_tokens', 256)}, "
                         "'do_sample': True})",
    }[task]
    lines = ["from transformers import pipeline", "", build + ")", f"result = {call}", "print(result)"]
    if task in ("text-to-speech", "text-to-audio"):
        lines = ["import scipy.io.wavfile"] + lines[:-1] + [
            "scipy.io.wavfile.write(\"out.wav\", result[\"sampling_rate\"], result[\"audio\"].squeeze())"]
    return "\n".join(lines) + "\n"


def _code_qa(m: str, text: str, inputs: dict, d: dict) -> str:
    return f"""import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForQuestionAnswering.from_pretrained({m})
question, context = {_lit(_short(inputs.get("question")))}, {_lit(_short(inputs.get("context")))}
enc = tok(question, context, return_tensors="pt", return_offsets_mapping=True, truncation="only_second")
offsets = enc.pop("offset_mapping")[0]
with torch.no_grad():
    out = model(**enc)
in_context = torch.tensor([s == 1 for s in enc.sequence_ids(0)])
p_start = out.start_logits[0].masked_fill(~in_context, -1e9).softmax(-1)
p_end = out.end_logits[0].masked_fill(~in_context, -1e9).softmax(-1)
scores = (p_start[:, None] * p_end[None, :]).triu().tril(29)  # end >= start, at most 30 tokens
s, e = divmod(int(scores.argmax()), scores.shape[1])
print(context[offsets[s][0]:offsets[e][1]], float(scores[s, e]))
"""


def _code_seq2seq(m: str, text: str, inputs: dict, d: dict) -> str:
    gen = ", ".join(f"{k}={v!r}" for k, v in d.items() if k in ("min_new_tokens", "max_new_tokens"))
    return f"""from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

# transformers 5 removed the summarization/translation pipelines: generate() does the same work
tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForSeq2SeqLM.from_pretrained({m})
enc = tok([{_lit(text)}], return_tensors="pt", truncation=True)
out = model.generate(**enc{", " + gen if gen else ""})
print(tok.batch_decode(out, skip_special_tokens=True)[0])
"""


def _code_embedding(m: str, text: str, inputs: dict, d: dict) -> str:
    pair = inputs.get("text_pair")
    texts = [text] + ([_short(pair)] if pair else [])
    return f"""import torch
from transformers import AutoModel, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModel.from_pretrained({m})
enc = tok({_lit(texts)}, padding=True, truncation=True, return_tensors="pt")
with torch.no_grad():
    hidden = model(**enc).last_hidden_state
mask = enc["attention_mask"].unsqueeze(-1).float()
vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)  # mean pooling
print(vectors.shape{", float(vectors[0] @ vectors[1]))  # cosine similarity" if pair else ")"}
"""


def _code_image(m: str, text: str, inputs: dict, d: dict) -> str:
    return f"""import torch
from diffusers import DiffusionPipeline

pipe = DiffusionPipeline.from_pretrained({m}, torch_dtype=torch.float32)
image = pipe({_lit(text)}, num_inference_steps={d.get("steps", 2)}, guidance_scale={d.get("guidance_scale", 0.0)},
             width={d.get("width", 512)}, height={d.get("height", 512)},
             generator=torch.Generator("cpu").manual_seed({d.get("seed", 0)})).images[0]
image.save("image.png")
"""


_CODE = {"question-answering": _code_qa, "summarization": _code_seq2seq, "translation": _code_seq2seq,
         "feature-extraction": _code_embedding, "text-to-image": _code_image}
