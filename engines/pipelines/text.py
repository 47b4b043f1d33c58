"""Runners for the text tasks: classification (sentiment, zero-shot, NER, fill-mask), extractive QA, seq2seq
(summarization, translation), text generation and sentence embeddings.

Each runner takes the loaded task, the validated inputs and a progress callback, and returns
``(value, notice, details)``.
"""

from __future__ import annotations

from typing import Any

from engines import errors
from engines.config import Settings
from engines.gpu import gpu
from engines.pipelines.load import LoadedTask
from engines.pipelines.tasks import ProgressFn
from engines.pipelines.validate import int_opt


def _token_count(tokenizer: Any, text: str, max_len: int) -> int | None:
    """Tokens in ``text`` when it might exceed ``max_len``; None when it cannot (cheap: no tokenization)."""
    if len(text.encode("utf-8")) + 8 <= max_len:
        return None
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def _truncation_notice(n: int | None, max_len: int, what: str = "text") -> str | None:
    if n is None or n <= max_len:
        return None
    return (f"The {what} is {n:,} tokens; this model reads at most {max_len:,}, so only the first {max_len:,} "
            "tokens were used.")


def _scores(rows: list[dict]) -> list[dict]:
    return [{"label": str(r["label"]), "score": float(r["score"])} for r in rows]


@gpu(duration=30)
def _run_sentiment(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    text = inputs["text"]
    n = _token_count(lt.tokenizer, text, lt.max_len)
    rows = lt.pipe(text, top_k=None, truncation=True, max_length=lt.max_len)
    return _scores(rows), _truncation_notice(n, lt.max_len), {"tokens": n}


@gpu(duration=60)
def _run_zero_shot(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    text, labels = inputs["text"], inputs["labels"]
    multi = bool(inputs.get("multi_label", False))
    n = _token_count(lt.tokenizer, text, lt.max_len)
    out = lt.pipe(text, candidate_labels=labels, multi_label=multi)
    rows = [{"label": lab, "score": float(s)} for lab, s in zip(out["labels"], out["scores"], strict=True)]
    return rows, _truncation_notice(n, lt.max_len), {"multi_label": multi, "labels": labels}


@gpu(duration=30)
def _run_ner(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    text = inputs["text"]
    n = _token_count(lt.tokenizer, text, lt.max_len)
    notice, kwargs = None, {}
    if n is not None and n > lt.max_len and getattr(lt.tokenizer, "is_fast", False):
        kwargs["stride"] = max(8, lt.max_len // 4)
        notice = (f"The text is {n:,} tokens (the model reads {lt.max_len:,} at a time): it was read in overlapping "
                  "windows.")
    elif n is not None and n > lt.max_len:
        raise errors.InvalidInput(f"The text is {n:,} tokens; this model reads at most {lt.max_len:,}. Shorten it.")
    ents = lt.pipe(text, **kwargs)
    rows = [{"entity": str(e.get("entity_group", e.get("entity"))), "word": str(e["word"]), "start": int(e["start"]),
             "end": int(e["end"]), "score": float(e["score"])} for e in ents if e.get("start") is not None]
    return rows, notice, {"aggregation_strategy": "simple", "tokens": n}


@gpu(duration=30)
def _run_fill_mask(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    mask = getattr(lt.tokenizer, "mask_token", None)
    if not mask:
        raise errors.Unsupported("This model's tokenizer has no mask token, so it cannot fill a mask.")
    text = inputs["text"]
    for alias in ("<mask>", "[MASK]", "[mask]", "<MASK>"):
        text = text.replace(alias, mask)
    count = text.count(mask)
    if count != 1:
        raise errors.InvalidInput(f"Put exactly one {mask} in the text (found {count}), e.g. 'Paris is the {mask} "
                                  "of France.'")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    if n is not None and n > lt.max_len:
        raise errors.InvalidInput(f"The text is {n:,} tokens; this model reads at most {lt.max_len:,}. Shorten it "
                                  f"around the {mask}.")
    top_k = max(1, min(int_opt(inputs, "top_k", 5), 50))
    rows = lt.pipe(text, top_k=top_k)
    out = [{"label": str(r["token_str"]).strip() or repr(r["token_str"]), "score": float(r["score"])} for r in rows]
    return out, None, {"mask_token": mask, "text": text, "top_k": top_k,
                       "sequences": [r["sequence"] for r in rows]}


@gpu(duration=60)
def _run_qa(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    import torch

    question, context = inputs["question"], inputs["context"]
    q_tokens = len(lt.tokenizer(question, add_special_tokens=False)["input_ids"])
    if q_tokens > lt.max_len // 2:
        raise errors.InvalidInput(f"The question is {q_tokens:,} tokens; keep it under {lt.max_len // 2:,} "
                                  "(the context may be long).")
    stride = min(128, lt.max_len // 4)
    enc = lt.tokenizer(question, context, truncation="only_second", max_length=lt.max_len, stride=stride,
                       return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                       return_tensors="pt")
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping", None)
    with torch.inference_mode():
        out = lt.model(**{k: v.to(lt.device) for k, v in enc.items()})
    best = best_span(enc, offsets, out.start_logits.float().cpu(), out.end_logits.float().cpu())
    if best is None:
        raise errors.InvalidInput("No answer span fits in the context; give a longer context.")
    score, start, end = best
    windows = int(offsets.shape[0])
    notice = f"The context was read in {windows} overlapping windows." if windows > 1 else None
    return ({"answer": context[start:end], "score": score, "start": start, "end": end}, notice,
            {"windows": windows})


def best_span(enc, offsets, start_logits, end_logits, max_answer: int = 30):
    """The most likely answer span over all context windows: (score, start char, end char), or None.

    The score is p(start) * p(end) over context tokens, with end >= start and at most ``max_answer`` tokens.
    """
    import torch

    best = None
    for w in range(start_logits.shape[0]):
        ctx = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
        if not ctx.any():
            continue
        ps = torch.softmax(start_logits[w].masked_fill(~ctx, -1e9), -1)
        pe = torch.softmax(end_logits[w].masked_fill(~ctx, -1e9), -1)
        scores = ps[:, None] * pe[None, :]
        ones = torch.ones_like(scores, dtype=torch.bool)
        scores = scores.masked_fill(~(ones.triu() & ~ones.triu(max_answer)), 0.0)
        s, e = divmod(int(scores.argmax()), scores.shape[1])
        score = float(scores[s, e])
        if best is None or score > best[0]:
            best = (score, int(offsets[w][s][0]), int(offsets[w][e][1]))
    return best


def _seq2seq_prefix(lt: LoadedTask, task: str, src: str | None = None, tgt: str | None = None) -> str:
    params = getattr(lt.model.config, "task_specific_params", None) or {}
    if task == "summarization":
        return (params.get("summarization") or {}).get("prefix", "")
    entry = params.get(f"translation_{src}_to_{tgt}")
    if entry is None and getattr(lt.model.config, "model_type", "") == "t5":
        pairs = sorted(k.removeprefix("translation_") for k in params if k.startswith("translation_"))
        raise errors.Unsupported(f"This T5 model has no {src}→{tgt} translation prompt. It knows: "
                                 f"{', '.join(pairs) or 'none'}.")
    return (entry or {}).get("prefix", "")


def _generate_text(lt: LoadedTask, text: str, gen: dict) -> tuple[str, int | None]:
    import torch

    n = _token_count(lt.tokenizer, text, lt.max_len)
    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        out = lt.model.generate(**{k: v.to(lt.device) for k, v in enc.items()}, **gen)
    return lt.tokenizer.batch_decode(out, skip_special_tokens=True)[0].strip(), n


@gpu(duration=90)
def _run_summarization(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    lo, hi = int_opt(inputs, "min_length", 10), int_opt(inputs, "max_length", 60)
    if lo < 0 or hi < 1 or lo > hi:
        raise errors.InvalidInput(f"min_length ({lo}) must be between 0 and max_length ({hi}).")
    hi = min(hi, (settings or Settings.current()).max_new_tokens)
    gen = {"min_new_tokens": lo, "max_new_tokens": hi}
    summary, n = _generate_text(lt, _seq2seq_prefix(lt, "summarization") + inputs["text"], gen)
    return summary, _truncation_notice(n, lt.max_len), {**gen, "tokens": n}


@gpu(duration=90)
def _run_translation(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    src, tgt = inputs["src_lang"], inputs["tgt_lang"]
    text = inputs["text"]
    tok = lt.tokenizer
    # a translation is rarely longer than 1.5x its source: bound generation so a model that never stops can't hang
    n_src = len(tok(text, truncation=True, max_length=lt.max_len)["input_ids"])
    gen: dict[str, Any] = {"max_new_tokens": min(lt.max_len, 512, int(n_src * 1.5) + 10)}
    if hasattr(tok, "get_lang_id"):  # M2M100-style multilingual models
        tok.src_lang = src
        gen["forced_bos_token_id"] = tok.get_lang_id(tgt)
    else:
        text = _seq2seq_prefix(lt, "translation", src, tgt) + text
    out, n = _generate_text(lt, text, gen)
    return out, _truncation_notice(n, lt.max_len), {"src_lang": src, "tgt_lang": tgt, "tokens": n}


@gpu(duration=90)
def _run_generation(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    text = inputs["text"]
    max_new = int_opt(inputs, "max_new_tokens", 40)
    cap = (settings or Settings.current()).max_new_tokens
    if not 1 <= max_new <= cap:
        raise errors.InvalidInput(f"max_new_tokens must be between 1 and {cap}.")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    if n is not None and n + max_new > lt.max_len:
        raise errors.ContextTooLong(f"The prompt is {n:,} tokens and {max_new} new tokens are asked for; this model's "
                                    f"context is {lt.max_len:,} tokens. Shorten the prompt or ask for fewer tokens.")
    temperature = float(inputs.get("temperature") or 0.0)
    gen: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": temperature > 0}
    if temperature > 0:
        gen["temperature"] = temperature
    pad = getattr(lt.tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(lt.tokenizer, "eos_token_id", None)
    out = lt.pipe(text, return_full_text=True, pad_token_id=pad, **gen)
    return str(out[0]["generated_text"]), None, {**gen, "prompt": text}


def _embed(lt: LoadedTask, text: str):
    import torch

    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        hidden = lt.model(**{k: v.to(lt.device) for k, v in enc.items()}).last_hidden_state
    mask = enc["attention_mask"].to(hidden.device).unsqueeze(-1).to(hidden.dtype)
    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(vec.float(), dim=-1)[0].cpu()


@gpu(duration=30)
def _run_embedding(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings: Settings | None = None):
    text, pair = inputs["text"], inputs.get("text_pair")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    vec = _embed(lt, text)
    similarity = None
    if pair:
        similarity = float((vec * _embed(lt, pair)).sum())
    notice = _truncation_notice(n, lt.max_len)
    return ({"vector": vec.tolist(), "similarity": similarity}, notice,
            {"dimensions": int(vec.shape[0]), "pooling": "mean", "normalized": True})


RUNNERS = {
    "sentiment-analysis": _run_sentiment, "zero-shot-classification": _run_zero_shot, "ner": _run_ner,
    "question-answering": _run_qa, "summarization": _run_summarization, "translation": _run_translation,
    "text-generation": _run_generation, "fill-mask": _run_fill_mask, "feature-extraction": _run_embedding,
}
