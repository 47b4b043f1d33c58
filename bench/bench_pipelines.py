"""run_task on a warm model vs calling the same model directly with transformers (target: ratio ≤ 1.1).

Both sides run the same model object on the same input, interleaved round by round; the medians are compared.
Encoder tasks use random BERTs sized like the catalog defaults' class (MiniLM-L6: 384 hidden, 6 layers, built here
offline from a config); summarization uses the tiny test BART. One torch thread on each side, for steady numbers.

Prints one line per task: ``<task>_warm_latency: ratio (ours … vs baseline …)``.
"""

from __future__ import annotations

import time

from common import median, report

ROUNDS = 60
TEXT = "John Smith works at Acme Corp in London and loves this wonderful movie."
CONTEXT = "Paris is the capital of France. Berlin is the capital of Germany. Madrid is the capital of Spain."


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _qa_direct(lt, question: str, context: str):
    import torch

    from engines.pipelines.text import best_span

    enc = lt.tokenizer(question, context, truncation="only_second", max_length=lt.max_len, stride=32,
                       return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                       return_tensors="pt")
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping", None)
    with torch.inference_mode():
        out = lt.model(**enc)
    return best_span(enc, offsets, out.start_logits, out.end_logits)


def _embed_direct(lt, text: str):
    import torch

    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        hidden = lt.model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def _seq2seq_direct(lt, text: str, gen: dict):
    import torch

    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        out = lt.model.generate(**enc, **gen)
    return lt.tokenizer.batch_decode(out, skip_special_tokens=True)


BENCH_HEADS = {"sentiment": ("BertForSequenceClassification", ["NEGATIVE", "POSITIVE"]),
               "ner": ("BertForTokenClassification", ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]),
               "qa": ("BertForQuestionAnswering", None), "fill-mask": ("BertForMaskedLM", None),
               "feature-extraction": ("BertModel", None),
               "zeroshot": ("BertForSequenceClassification", ["contradiction", "neutral", "entailment"])}


def bench_models() -> dict:
    """MiniLM-sized random BERTs for each encoder task (cached next to the test models) + the tiny BART."""
    import tiny_models
    import tiny_pipelines

    root = tiny_models.cache_root().parent / "bench-pipelines-minilm"
    paths = {"summarization": tiny_pipelines.build_all()["summarization"]}
    for name, (cls, labels) in BENCH_HEADS.items():
        paths[name] = tiny_models._build_once(root, name, lambda out, c=cls, lab=labels: _build_bert(out, c, lab))
    return paths


def _build_bert(out, cls_name: str, labels: list[str] | None) -> None:
    import tiny_models
    import torch
    import transformers

    torch.manual_seed(0)
    tok = tiny_models.build_bert_tokenizer(out)
    extra = {"id2label": dict(enumerate(labels)), "label2id": {v: i for i, v in enumerate(labels)}} if labels else {}
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                                  intermediate_size=1536, max_position_embeddings=512,
                                  pad_token_id=tok.pad_token_id, **extra)
    getattr(transformers, cls_name)(cfg).save_pretrained(out)


def cases(paths: dict) -> list[tuple[str, str, dict, object]]:
    """(task, model folder, run_task inputs, direct call on the loaded object)."""
    summ = {"min_new_tokens": 8, "max_new_tokens": 8}
    return [
        ("sentiment-analysis", paths["sentiment"], {"text": TEXT},
         lambda lt: lt.pipe(TEXT, top_k=None, truncation=True, max_length=lt.max_len)),
        ("ner", paths["ner"], {"text": TEXT}, lambda lt: lt.pipe(TEXT)),
        ("fill-mask", paths["fill-mask"], {"text": "Paris is the [MASK] of France.", "top_k": 5},
         lambda lt: lt.pipe("Paris is the [MASK] of France.", top_k=5)),
        ("zero-shot-classification", paths["zeroshot"], {"text": TEXT, "labels": ["work", "film", "travel"]},
         lambda lt: lt.pipe(TEXT, candidate_labels=["work", "film", "travel"], multi_label=False)),
        ("question-answering", paths["qa"], {"question": "What is the capital of France?", "context": CONTEXT},
         lambda lt: _qa_direct(lt, "What is the capital of France?", CONTEXT)),
        ("feature-extraction", paths["feature-extraction"], {"text": TEXT}, lambda lt: _embed_direct(lt, TEXT)),
        ("summarization", paths["summarization"], {"text": CONTEXT, "min_length": 8, "max_length": 8},
         lambda lt: _seq2seq_direct(lt, CONTEXT, summ)),
    ]


def main() -> None:
    import torch

    from engines.pipelines import load_model, run_task
    from engines.refs import parse_ref

    torch.manual_seed(0)
    torch.set_num_threads(1)  # one thread each: steadier timings on a shared machine
    paths = bench_models()
    for task, folder, inputs, direct in cases(paths):
        run_task(task, inputs, model=str(folder))  # load + warm up
        lt, _, _ = load_model(task, parse_ref(str(folder)), lambda *a, **k: None)
        for _ in range(3):
            direct(lt)
        ours, base = [], []
        for n in range(ROUNDS):  # alternate who goes first, so neither side profits from the other's warm caches
            pair = [(ours, lambda t=task, i=inputs, f=folder: run_task(t, i, model=str(f))),
                    (base, lambda lt=lt, d=direct: d(lt))]
            for store, fn in pair if n % 2 == 0 else pair[::-1]:
                store.append(_timed(fn))
        report(f"{task}_warm_latency", median(ours) * 1000, median(base) * 1000, unit="ms")


if __name__ == "__main__":
    main()
