"""Log-likelihood of a continuation given a context, for a loaded causal LM, as lm-evaluation-harness computes it.

Natural-log probabilities throughout. Reused by the contamination checks (Min-K% Prob), so the primitive here is
per-token: ``score_requests`` returns each continuation token's log-probability; a sum of them is lm-eval's
``loglikelihood``.

Tokenisation follows lm-eval's ``HFLM._encode_pair`` exactly:

* trailing whitespace of the context moves to the front of the continuation (``"Answer: " + "Paris"`` is scored as
  ``"Answer:" + " Paris"``), because BPE tokenizers glue a space to the word that follows it;
* the context and the concatenation are encoded separately and the continuation's tokens are the tail of the whole
  encoding after ``len(encode(context))`` tokens (so a token that merges across the boundary counts for the
  continuation, as in lm-eval);
* no special tokens are added (lm-eval's default ``add_bos_token=False``; a chat template already renders its BOS);
* an empty context is replaced by one prefix token: BOS, else EOS.

Scoring follows ``HFLM._loglikelihood_tokens``: the input is ``(context + continuation)[-(max_length + 1):][:-1]``
(left-truncated to the window), sequences are sorted longest first and batched with right padding (a causal model's
earlier positions never see the padding), and requests whose inputs are identical share one forward pass (choices
of one token after the same context: one pass for the whole choice set).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from engines.gpu import gpu

DEFAULT_BATCH_SIZE = 16
# log-softmax is taken only over the positions a continuation needs; this bounds one batch's float32 scores
_SCORE_BYTES = 512 * 2**20


@dataclass
class ContinuationScore:
    """One scored continuation.

    Attributes:
        logprobs: log p(token | everything before it), one per continuation token (natural log).
        tokens: the continuation's token ids.
        greedy: every continuation token was the model's argmax (lm-eval's ``is_greedy``).
        truncated: the context was cut on the left to fit the model's window.
    """

    logprobs: list[float]
    tokens: list[int]
    greedy: bool
    truncated: bool = False

    @property
    def total(self) -> float:
        """Sum of the token log-probabilities: lm-eval's loglikelihood."""
        return float(sum(self.logprobs))


def prefix_token_id(tokenizer) -> int:
    """The token that stands in for an empty context: BOS, else EOS (lm-eval's ``prefix_token_id``)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    return bos if bos is not None else tokenizer.eos_token_id


def _encode(tokenizer, text: str, add_special_tokens: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])


def encode_pair(tokenizer, context: str, continuation: str, *,
                add_special_tokens: bool = False) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) exactly as lm-evaluation-harness splits them.

    Args:
        tokenizer: a Hugging Face tokenizer.
        context: the text the continuation follows (a rendered prompt).
        continuation: the text to score.
        add_special_tokens: add the tokenizer's special tokens (lm-eval: only with ``add_bos_token``).

    Returns:
        (context ids, continuation ids); an empty context becomes ``[prefix_token_id]``.
    """
    if context == "":
        return [prefix_token_id(tokenizer)], _encode(tokenizer, continuation, add_special_tokens)
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = _encode(tokenizer, context + continuation, add_special_tokens)
    context_ids = _encode(tokenizer, context, add_special_tokens)
    return context_ids, whole[len(context_ids):]


def max_length(model: Any) -> int:
    """The model's window in tokens (config max positions; 2048 when the config says nothing, as lm-eval)."""
    cfg = getattr(model, "config", None)
    cfg = getattr(cfg, "text_config", None) or cfg
    for attr in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


@dataclass
class _Row:
    inp: list[int]
    truncated: bool


def _inputs(pairs: list[tuple[list[int], list[int]]], window: int) -> list[_Row]:
    rows = []
    for ctx, cont in pairs:
        if not cont:
            raise ValueError("a continuation must have at least one token")
        whole = ctx + cont
        rows.append(_Row(inp=whole[-(window + 1):][:-1], truncated=len(whole) > window + 1))
    return rows


def score_pairs(model: Any, pairs: list[tuple[list[int], list[int]]], *, batch_size: int = DEFAULT_BATCH_SIZE,
                pad_token_id: int = 0) -> list[ContinuationScore]:
    """Per-token log-probabilities of tokenised continuations, batched.

    Args:
        model: a loaded causal LM (transformers).
        pairs: (context ids, continuation ids) per request, e.g. from ``encode_pair``.
        batch_size: distinct input sequences per forward pass (1 = one at a time).
        pad_token_id: id written into the right padding (never attended to by the real tokens).

    Returns:
        One ContinuationScore per pair, in the order given.
    """
    rows = _inputs(pairs, max_length(model))
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row.inp), []).append(i)
    unique = sorted(groups, key=lambda key: (-len(key), key))  # longest first, as lm-eval: an OOM shows at once
    need = {key: max(len(pairs[i][1]) for i in groups[key]) for key in unique}
    out: list[ContinuationScore | None] = [None] * len(pairs)
    for chunk in _chunks(unique, need, max(1, int(batch_size)), _vocab(model)):
        targets = [[pairs[i][1] for i in groups[key]] for key in chunk]
        scored = _forward(model, [list(k) for k in chunk], targets, pad_token_id)
        for key, results in zip(chunk, scored, strict=True):
            for i, (logprobs, greedy) in zip(groups[key], results, strict=True):
                out[i] = ContinuationScore(logprobs=logprobs, tokens=list(pairs[i][1]), greedy=greedy,
                                           truncated=rows[i].truncated)
    return out  # type: ignore[return-value]


def _vocab(model: Any) -> int:
    cfg = getattr(model, "config", None)
    cfg = getattr(cfg, "text_config", None) or cfg
    return int(getattr(cfg, "vocab_size", 0) or 32_000)


def _chunks(keys: list[tuple[int, ...]], need: dict, batch_size: int, vocab: int):
    """Batches of distinct inputs: at most ``batch_size``, and few enough that their scores fit ``_SCORE_BYTES``."""
    chunk: list[tuple[int, ...]] = []
    width = 0
    for key in keys:
        wider = max(width, need[key])
        if chunk and (len(chunk) >= batch_size or (len(chunk) + 1) * wider * vocab * 4 > _SCORE_BYTES):
            yield chunk
            chunk, wider = [], need[key]
        chunk.append(key)
        width = wider
    if chunk:
        yield chunk


def _supports_logits_to_keep(model: Any) -> bool:
    try:
        return "logits_to_keep" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _gpu_seconds(model, inputs, *args) -> int:
    return int(min(120, 10 + sum(len(x) for x in inputs) / 2000))


@gpu(duration=_gpu_seconds)
def _forward(model: Any, inputs: list[list[int]], targets: list[list[list[int]]],
             pad_token_id: int) -> list[list[tuple[list[float], bool]]]:
    """One right-padded forward pass over ``inputs``; for each input and each of its target continuations, the
    target tokens' log-probabilities and whether each was the argmax. Only python values leave this function (it may
    run in a ZeroGPU worker)."""
    import torch

    device = getattr(model, "device", "cpu")
    width = max(len(x) for x in inputs)
    keep = [max(len(t) for t in ts) for ts in targets]
    k = max(keep)
    batch = torch.full((len(inputs), width), int(pad_token_id), dtype=torch.long)
    for r, ids in enumerate(inputs):
        batch[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    lengths = torch.tensor([len(x) for x in inputs])
    positions = (lengths[:, None] - k + torch.arange(k)[None, :]).clamp(min=0)  # each row's last k real positions
    batch, positions = batch.to(device), positions.to(device)
    with torch.inference_mode():
        logits = None
        if _supports_logits_to_keep(model):  # project only the positions we read onto the vocabulary
            logits = model(input_ids=batch, logits_to_keep=positions).logits
            if tuple(logits.shape[:2]) != (len(inputs), k):  # a model that reads logits_to_keep another way
                logits = None
        if logits is None:
            full = model(input_ids=batch).logits
            logits = torch.take_along_dim(full, positions[..., None].to(full.device), dim=1)
        logp = torch.log_softmax(logits.float(), dim=-1)
        argmax = logp.argmax(dim=-1)
        out = []
        for r, ts in enumerate(targets):
            results = []
            for t in ts:
                ids = torch.tensor(t, dtype=torch.long, device=logp.device)
                rows = logp[r, k - len(t):]
                picked = rows.gather(-1, ids[:, None]).squeeze(-1)
                results.append((picked.cpu().tolist(), bool((argmax[r, k - len(t):] == ids).all())))
            out.append(results)
    return out


def score_requests(lm: Any, requests: list[tuple[str, str]], *, batch_size: int = DEFAULT_BATCH_SIZE,
                   add_special_tokens: bool = False) -> list[ContinuationScore]:
    """Score (context, continuation) strings with a loaded LM (``engines.loading.LoadedLM``).

    Args:
        lm: the loaded model and tokenizer (``load_causal_lm(...)[0]``).
        requests: (context, continuation) text pairs.
        batch_size: sequences per forward pass.
        add_special_tokens: passed to the tokenizer (lm-eval's default: False).

    Returns:
        One ContinuationScore per request, in order.
    """
    tok = lm.tokenizer
    pairs = [encode_pair(tok, c, x, add_special_tokens=add_special_tokens) for c, x in requests]
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    return score_pairs(lm.model, pairs, batch_size=batch_size, pad_token_id=pad)


def load_local_lm(model: str, quantization: str = "auto"):
    """The LoadedLM of a model that runs in this process (a Hub id or folder, cached).

    Raises:
        Unsupported: a model served elsewhere (its backend scores text itself, if it can: ``choice_logprobs``).
    """
    from engines.backends.registry import require
    from engines.loading import load_causal_lm

    found = require(model, "local", feature="Scoring with the model's own weights")
    return load_causal_lm(found.ref, quantization)[0]


def choice_logprobs(model: str, prompt: str, choices: list[str], *, batch_size: int = DEFAULT_BATCH_SIZE,
                    quantization: str = "auto") -> list[float]:
    """Per choice, the sum of log p(choice tokens | prompt) (natural log), as lm-evaluation-harness's
    ``loglikelihood(prompt, choice)``: the prompt and choices are used as given (add a leading space to a choice
    yourself where the format needs one).

    Args:
        model: a local model reference, or a server that echoes prompt log-probabilities (vLLM: a custom
            OPENAI_BASE_URL or a WORKBENCH_ENDPOINTS name).
        prompt: the context.
        choices: the continuations to score.
        batch_size: sequences per forward pass.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32.

    Returns:
        One log-likelihood per choice.

    Raises:
        InvalidInput: no choices, or an empty choice.
        Unsupported: a backend without log-probabilities (api.openai.com, the HF router, Ollama), or a server that
            refuses the completions echo.
    """
    from engines.backends.registry import require
    from engines.errors import InvalidInput

    if not choices or any(not isinstance(c, str) or c == "" for c in choices):
        raise InvalidInput("Give at least one non-empty choice to score.")
    found = require(model, "logprobs", feature="Log-likelihood scoring")
    if found.capabilities.local:
        lm = load_local_lm(model, quantization)
        return [s.total for s in score_requests(lm, [(prompt, c) for c in choices], batch_size=batch_size)]
    return found.backend.loglikelihoods(found.ref, [(prompt, c) for c in choices], quantization=quantization,
                                        settings=found.settings)
