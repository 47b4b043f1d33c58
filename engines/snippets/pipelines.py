"""Snippets for the Pipelines tab: plain transformers / diffusers code that reproduces a task's run (speech to
text: the speech engine's snippet, ``engines.snippets.speech``).

Each snippet runs the task as ``engines.pipelines`` runs it (same call, same truncation, same generation settings)
and ends with ``result`` holding the value in the shape the app shows (``TaskResult.value``): a list of
``{label, score}``, of entities, an answer dict, a text, an embedding dict, the PIL ``image``, or the audio dict.
"""

from __future__ import annotations

import json
from typing import Any

from engines.snippets.speech import transcribe_code

# Tasks whose snippet is a transformers pipeline() call (the others use the Auto classes or diffusers).
PIPELINE_SNIPPETS = frozenset({"sentiment-analysis", "zero-shot-classification", "ner", "text-generation",
                               "fill-mask", "text-to-speech", "text-to-audio"})
SHOWN_CHARS = 400  # inputs longer than this are cut (with "…") in the snippet the tab shows; notebooks pass None
# The longest input the model reads, as engines.pipelines.load.model_max_length computes it.
_MAX_LEN = ("limit = tok.model_max_length\n"
            "max_len = limit if isinstance(limit, int) and 0 < limit < 100_000 else \\\n"
            "    getattr(model.config, 'max_position_embeddings', None) or 512\n")


def _lit(value: Any) -> str:
    """A Python literal for a JSON-like value."""
    return json.dumps(value, ensure_ascii=False)


def code_snippet(task: str, model: str, inputs: dict, details: dict | None = None, *,
                 max_chars: int | None = SHOWN_CHARS) -> str:
    """Plain transformers/diffusers code that reproduces a run.

    Args:
        task: a TASKS key.
        model: the model reference as given (Hub id or folder).
        inputs: the task's inputs.
        details: extra facts from the run (``TaskResult.details``: generation settings, seed, ...).
        max_chars: inputs longer than this are cut with "…" (for display); None = the exact inputs (notebooks).

    Returns:
        Python source that leaves the app's value in ``result``.
    """
    d = details or {}
    if task == "automatic-speech-recognition":
        return transcribe_code(model, d.get("backend") or "transformers", device=d.get("device") or "cpu",
                               dtype=d.get("dtype") or "float32",
                               language=d.get("decode_language", d.get("language")),
                               multilingual=d.get("multilingual", True), audio_file="audio.wav",
                               max_new_tokens=d.get("max_new_tokens"))
    short = (lambda v: _short(v, max_chars)) if max_chars else (lambda v: str(v or ""))
    m = _lit(model)
    if task in PIPELINE_SNIPPETS:
        return _pipeline_snippet(task, m, short(inputs.get("text", "")), inputs, d, short)
    return _CODE[task](m, inputs, d, short)


def _short(text: Any, n: int = SHOWN_CHARS) -> str:
    text = str(text or "")
    return text if len(text) <= n else text[:n] + "…"


_RESULTS = {
    "sentiment-analysis": "result = [{'label': r['label'], 'score': float(r['score'])} for r in out]",
    "zero-shot-classification": "result = [{'label': lab, 'score': float(s)} for lab, s in zip(out['labels'], "
                                "out['scores'])]",
    "ner": "result = [{'entity': e['entity_group'], 'word': e['word'], 'start': e['start'], 'end': e['end'],\n"
           "           'score': float(e['score'])} for e in out if e.get('start') is not None]",
    "fill-mask": "result = [{'label': r['token_str'].strip() or repr(r['token_str']), 'score': float(r['score'])} "
                 "for r in out]",
    "text-generation": "result = out[0]['generated_text']",
    "text-to-speech": "result = {'sampling_rate': out['sampling_rate'], 'audio': out['audio'].squeeze()}",
    "text-to-audio": "result = {'sampling_rate': out['sampling_rate'], 'audio': out['audio'].squeeze()}",
}


def _pipeline_snippet(task: str, m: str, text: str, inputs: dict, d: dict, short) -> str:
    name = "text-to-audio" if task == "text-to-speech" else task
    build = f"pipe = pipeline({_lit(name)}, model={m}" + (", aggregation_strategy=\"simple\"" if task == "ner" else "")
    gen = f"max_new_tokens={d.get('max_new_tokens', 40)}, do_sample={bool(d.get('do_sample'))}"
    if d.get("temperature"):
        gen += f", temperature={d['temperature']}"
    call = {
        "sentiment-analysis": f"pipe({_lit(text)}, top_k=None, truncation=True)",
        "zero-shot-classification": f"pipe({_lit(text)}, candidate_labels={_lit(inputs.get('labels') or [])}, "
                                    f"multi_label={bool(d.get('multi_label'))})",
        "ner": f"pipe({_lit(text)})",
        "fill-mask": f"pipe({_lit(short(d.get('text', text)))}, top_k={d.get('top_k', 5)})",
        "text-generation": f"pipe({_lit(text)}, return_full_text=True, pad_token_id=pad, {gen})",
        "text-to-speech": f"pipe({_lit(text)})",
        "text-to-audio": f"pipe({_lit(text)}, forward_params={{'max_new_tokens': {d.get('max_new_tokens', 256)}, "
                         "'do_sample': True})",
    }[task]
    lines = ["from transformers import pipeline", "", build + ")"]
    if task == "text-generation":
        lines.append("pad = pipe.tokenizer.pad_token_id if pipe.tokenizer.pad_token_id is not None "
                     "else pipe.tokenizer.eos_token_id")
    if task == "text-to-audio" and d.get("seed") is not None:
        lines = ["import torch", *lines, f"torch.manual_seed({d['seed']})  # the run's seed: the same sound again"]
    lines += [f"out = {call}", _RESULTS[task], "print(result)"]
    if task in ("text-to-speech", "text-to-audio"):
        lines = ["import scipy.io.wavfile", *lines[:-1],
                 "scipy.io.wavfile.write(\"out.wav\", result[\"sampling_rate\"], result[\"audio\"])"]
    return "\n".join(lines) + "\n"


def _code_qa(m: str, inputs: dict, d: dict, short) -> str:
    return f"""import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForQuestionAnswering.from_pretrained({m}, dtype=torch.float32).eval()
{_MAX_LEN}question, context = {_lit(short(inputs.get("question")))}, {_lit(short(inputs.get("context")))}
# a long context is read in overlapping windows; the best span over all of them wins
enc = tok(question, context, truncation="only_second", max_length=max_len, stride=min(128, max_len // 4),
          return_overflowing_tokens=True, return_offsets_mapping=True, padding=True, return_tensors="pt")
offsets = enc.pop("offset_mapping")
enc.pop("overflow_to_sample_mapping", None)
with torch.inference_mode():
    out = model(**enc)
best = None
for w in range(out.start_logits.shape[0]):
    in_context = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
    p_start = out.start_logits[w].masked_fill(~in_context, -1e9).softmax(-1)
    p_end = out.end_logits[w].masked_fill(~in_context, -1e9).softmax(-1)
    scores = (p_start[:, None] * p_end[None, :]).triu().tril(29)  # end >= start, at most 30 tokens
    s, e = divmod(int(scores.argmax()), scores.shape[1])
    if best is None or float(scores[s, e]) > best[0]:
        best = (float(scores[s, e]), int(offsets[w][s][0]), int(offsets[w][e][1]))
score, start, end = best
result = {{"answer": context[start:end], "score": score, "start": start, "end": end}}
print(result)
"""


def _code_seq2seq(m: str, inputs: dict, d: dict, short) -> str:
    text = short(inputs.get("text", ""))
    if "src_lang" in d:  # translation: the prompt prefix (T5) or target-language token (M2M100), as the app does
        src, tgt = _lit(d["src_lang"]), _lit(d["tgt_lang"])
        prep = (f"n_src = len(tok(text, truncation=True, max_length=max_len)['input_ids'])\n"
                "gen = {'max_new_tokens': min(max_len, 512, int(n_src * 1.5) + 10)}  # rarely longer\n"
                "if hasattr(tok, 'get_lang_id'):  # M2M100-style multilingual models\n"
                f"    tok.src_lang = {src}\n    gen['forced_bos_token_id'] = tok.get_lang_id({tgt})\n"
                "else:\n"
                "    params = getattr(model.config, 'task_specific_params', None) or {}\n"
                f"    text = (params.get('translation_' + {src} + '_to_' + {tgt}) or {{}}).get('prefix', '') + text\n")
    else:
        gen = {k: d[k] for k in ("min_new_tokens", "max_new_tokens") if k in d}
        prep = (f"gen = {gen!r}\n"
                "task = (getattr(model.config, 'task_specific_params', None) or {}).get('summarization') or {}\n"
                "text = task.get('prefix', '') + text  # e.g. T5's 'summarize: '\n")
    return f"""import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

# transformers 5 removed the summarization/translation pipelines: generate() does the same work
tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForSeq2SeqLM.from_pretrained({m}, dtype=torch.float32).eval()
{_MAX_LEN}text = {_lit(text)}
{prep}enc = tok([text], return_tensors="pt", truncation=True, max_length=max_len)
with torch.inference_mode():
    out = model.generate(**enc, **gen)
result = tok.batch_decode(out, skip_special_tokens=True)[0].strip()
print(result)
"""


def _code_embedding(m: str, inputs: dict, d: dict, short) -> str:
    pair = inputs.get("text_pair")
    pair_line = (f"similarity = float(vector @ embed({_lit(short(pair))}))  # cosine: the vectors are unit length\n"
                 if pair else "similarity = None\n")
    return f"""import torch
from transformers import AutoModel, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModel.from_pretrained({m}, dtype=torch.float32).eval()
{_MAX_LEN}

def embed(text):
    enc = tok([text], return_tensors="pt", truncation=True, max_length=max_len)
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # mean pooling
    return torch.nn.functional.normalize(vec.float(), dim=-1)[0]


vector = embed({_lit(short(inputs.get("text", "")))})
{pair_line}result = {{"vector": vector.tolist(), "similarity": similarity}}
print(len(result["vector"]), "dimensions; similarity:", similarity)
"""


def _code_image(m: str, inputs: dict, d: dict, short) -> str:
    flux = "Flux" in str(d.get("pipeline", ""))
    extra = ", max_sequence_length=256" if flux else ""  # the app's FLUX prompt length (T5 tokens)
    return f"""import torch
from diffusers import DiffusionPipeline

pipe = DiffusionPipeline.from_pretrained({m}, dtype=torch.float32)
image = pipe({_lit(short(inputs.get("text", "")))}, num_inference_steps={d.get("steps", 2)},
             guidance_scale={d.get("guidance_scale", 0.0)}, width={d.get("width", 512)},
             height={d.get("height", 512)}{extra},
             generator=torch.Generator("cpu").manual_seed({d.get("seed", 0)})).images[0]
image.save("image.png")
result = image
"""


_CODE = {"question-answering": _code_qa, "summarization": _code_seq2seq, "translation": _code_seq2seq,
         "feature-extraction": _code_embedding, "text-to-image": _code_image}
