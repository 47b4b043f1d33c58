"""Per-token log-probabilities of a whole text, and the mean / standard deviation of the log-probabilities under the
model's own next-token distribution at each position (what Min-K%++ normalises by).

Local models: the text is tokenised as ``engines.evals.logprobs`` tokenises a continuation after an empty context
(no special tokens; one BOS — else EOS — token in front, so every token of the text is scored). Log-probabilities
alone go through the Evaluate tab's batched primitive ``logprobs.score_pairs``; this module adds only the pass that
also needs the full distribution (``distribution_scores``): right-padded batches, longest first, identical texts
scored once, the same memory bound per batch.

API models: only a server that echoes the prompt's own log-probabilities can score a given text: the completions
endpoint with ``echo=True`` and ``logprobs=N`` (vLLM, and other OpenAI-compatible servers). Chat completions return
log-probabilities of the tokens the model *generates*, never of a text it is given, so they cannot score an item;
without the echo this raises ``Unsupported`` saying so. With the echo, the first token has no log-probability (no
context) and μ, σ are estimated from the server's top-N alternatives only (marked ``approximate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.evals.logprobs import _chunks, _vocab, encode_pair, max_length, score_pairs
from engines.gpu import gpu
from engines.refs import ModelRef

DEFAULT_TOP = 5  # alternatives asked of an API server per token (OpenAI's legacy limit is 5; vLLM allows 20)
NO_PROMPT_LOGPROBS = ("Min-K% and Min-K%++ need the log-probability of every token of a given text. {why} Use a "
                      "local copy of the model (a Hub id or a folder), or a server whose completions endpoint echoes "
                      "prompt log-probabilities (echo=True with logprobs, e.g. vLLM). Guided completion, sampling "
                      "peakedness and n-gram overlap still run on this model.")


@dataclass
class TokenScores:
    """A text's tokens with their log-probabilities (natural log) and, where asked, the distribution's μ and σ."""

    logprobs: list[float]
    mu: list[float] | None = None
    sigma: list[float] | None = None
    pieces: list[str] = field(default_factory=list)  # each token's text (for showing the lowest ones)
    truncated: bool = False  # the text was longer than the model's window: only its start was scored
    approximate: bool = False  # μ, σ estimated from an API server's top-N alternatives

    def normalised(self) -> list[float]:
        """Min-K%++'s per-token score (log p(x_t) − μ_t) / σ_t (tokens whose σ is 0 are left out)."""
        if self.mu is None or self.sigma is None:
            raise errors.Unsupported("This scoring has no next-token distribution: Min-K%++ needs one.")
        return [(lp - m) / s for lp, m, s in zip(self.logprobs, self.mu, self.sigma, strict=True) if s > 0]


def _pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)


def encode_text(tokenizer, text: str, window: int) -> tuple[list[int], list[int], bool]:
    """(prefix ids, text ids, truncated): the text after an empty context, cut to fit the model's window."""
    if not isinstance(text, str) or not text.strip():
        raise errors.InvalidInput("An item's text is empty: there is nothing to score.")
    ctx, cont = encode_pair(tokenizer, "", text)
    room = window + 1 - len(ctx)
    return ctx, cont[:room], len(cont) > room


def local_token_scores(lm: Any, texts: list[str], *, batch_size: int = 16,
                       distribution: bool = True) -> list[TokenScores]:
    """Score texts on a loaded local model (``engines.loading.LoadedLM``).

    Args:
        lm: the loaded model and tokenizer.
        texts: the texts.
        batch_size: sequences per forward pass (1 = one at a time).
        distribution: also compute μ and σ of each position's next-token distribution (Min-K%++).

    Returns:
        One TokenScores per text, in order.
    """
    tok = lm.tokenizer
    window = max_length(lm.model)
    encoded = [encode_text(tok, t, window) for t in texts]
    pairs = [(ctx, cont) for ctx, cont, _ in encoded]
    if distribution:
        stats = distribution_scores(lm.model, pairs, batch_size=batch_size, pad_token_id=_pad_id(tok))
    else:
        stats = [(s.logprobs, None, None) for s in score_pairs(lm.model, pairs, batch_size=batch_size,
                                                                pad_token_id=_pad_id(tok))]
    return [TokenScores(lp, mu, sigma, [tok.decode([i]) for i in cont], truncated)
            for (lp, mu, sigma), (_, cont, truncated) in zip(stats, encoded, strict=True)]


def distribution_scores(model: Any, pairs: list[tuple[list[int], list[int]]], *, batch_size: int = 16,
                        pad_token_id: int = 0) -> list[tuple[list[float], list[float], list[float]]]:
    """Per continuation token: log p, and μ, σ of log p under the model's distribution at that position.

    Args:
        model: a loaded causal LM.
        pairs: (context ids, continuation ids); context + continuation must fit the model's window + 1.
        batch_size: distinct sequences per forward pass.
        pad_token_id: id written into the right padding.

    Returns:
        (log-probs, μ, σ) per pair, in order.
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, cont) in enumerate(pairs):
        if not cont:
            raise ValueError("a continuation must have at least one token")
        groups.setdefault(tuple(ctx + cont), []).append(i)
    unique = sorted(groups, key=lambda key: (-len(key), key))
    need = {key: len(key) for key in unique}
    out: list[Any] = [None] * len(pairs)
    for chunk in _chunks(unique, need, max(1, int(batch_size)), _vocab(model)):
        starts = [len(pairs[groups[key][0]][0]) for key in chunk]
        for key, result in zip(chunk, _forward(model, [list(k) for k in chunk], starts, pad_token_id), strict=True):
            for i in groups[key]:
                out[i] = result
    return out


def _gpu_seconds(model, sequences, *args) -> int:
    return int(min(120, 10 + sum(len(x) for x in sequences) / 1000))


@gpu(duration=_gpu_seconds)
def _forward(model: Any, sequences: list[list[int]], starts: list[int],
             pad_token_id: int) -> list[tuple[list[float], list[float], list[float]]]:
    """One right-padded forward pass; for each sequence, its tokens from ``start`` on: log p, μ and σ. Only python
    values leave this function (it may run in a ZeroGPU worker)."""
    import torch

    device = getattr(model, "device", "cpu")
    width = max(len(s) for s in sequences) - 1
    batch = torch.full((len(sequences), width), int(pad_token_id), dtype=torch.long)
    for r, seq in enumerate(sequences):
        batch[r, : len(seq) - 1] = torch.tensor(seq[:-1], dtype=torch.long)
    out = []
    with torch.inference_mode():
        logits = model(input_ids=batch.to(device)).logits
        for r, (seq, start) in enumerate(zip(sequences, starts, strict=True)):
            logp = torch.log_softmax(logits[r, start - 1: len(seq) - 1].float(), dim=-1)
            p = logp.exp()
            mu = (p * logp).sum(-1)
            # Σ p (log p − μ)² equals Σ p (log p)² − μ², without the cancellation of two ~equal float32 sums
            var = (p * (logp - mu[:, None]) ** 2).sum(-1)
            target = torch.tensor(seq[start:], dtype=torch.long, device=logp.device)
            picked = logp.gather(-1, target[:, None]).squeeze(-1)
            out.append((picked.cpu().tolist(), mu.cpu().tolist(), var.sqrt().cpu().tolist()))
    return out


# ----------------------------------------------------------------------------------------------- API models


def prompt_logprobs(ref: ModelRef, text: str, top: int, settings=None):
    """The completions endpoint's echo of ``text`` with its token log-probabilities (``top`` alternatives each).

    Raises:
        Unsupported: the server has no completions endpoint or returns no prompt log-probabilities.
    """
    from engines.config import Settings
    from engines.remote import call_within, map_remote_error, openai_client, timeout_error

    settings = settings or Settings.current()
    seconds = settings.remote_timeout_s
    client = openai_client(ref, settings)
    try:
        response = call_within(lambda: client.completions.create(model=ref.name, prompt=text, max_tokens=1, echo=True,
                                                                 logprobs=top, temperature=0),
                               seconds, lambda: timeout_error(ref, seconds))
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        if status in (400, 404, 405, 422, 501):
            why = f"The server refused the completions request with echo and logprobs ({status})."
            raise errors.Unsupported(NO_PROMPT_LOGPROBS.format(why=why)) from None
        raise map_remote_error(exc, ref) from None
    choice = response.choices[0] if response.choices else None
    lp = getattr(choice, "logprobs", None)
    if lp is None or not getattr(lp, "token_logprobs", None) or getattr(lp, "text_offset", None) is None:
        why = ("This server returned no log-probabilities for the prompt (its chat completions give them only for "
               "generated tokens).")
        raise errors.Unsupported(NO_PROMPT_LOGPROBS.format(why=why))
    return lp


def remote_token_scores(ref: ModelRef, text: str, *, top: int = DEFAULT_TOP, settings=None) -> TokenScores:
    """Score a text on an API model through the completions endpoint's echo of prompt log-probabilities.

    Args:
        ref: an API model reference.
        text: the text.
        top: alternatives per token to ask for (μ and σ are estimated from them).
        settings: the deployment's ``Settings`` (read from the environment when None).

    Returns:
        TokenScores of the text's tokens after the first; ``approximate`` μ, σ.

    Raises:
        Unsupported: the server has no completions endpoint or returns no prompt log-probabilities.
    """
    if not isinstance(text, str) or not text.strip():
        raise errors.InvalidInput("An item's text is empty: there is nothing to score.")
    lp = prompt_logprobs(ref, text, top, settings)
    scores = TokenScores([], [], [], [], approximate=True)
    tops = lp.top_logprobs or [None] * len(lp.token_logprobs)
    for piece, value, offset, alts in zip(lp.tokens, lp.token_logprobs, lp.text_offset, tops, strict=False):
        if offset >= len(text) or value is None:
            continue  # the generated token after the echo; the first token (no context)
        values = [v for v in (alts or {}).values() if v is not None]
        weights = [math.exp(v) for v in values]
        total = sum(weights)
        mu = sum(w * v for w, v in zip(weights, values, strict=True)) / total if total else float(value)
        m2 = sum(w * v * v for w, v in zip(weights, values, strict=True)) / total if total else mu * mu
        scores.logprobs.append(float(value))
        scores.mu.append(mu)
        scores.sigma.append(math.sqrt(max(0.0, m2 - mu * mu)))
        scores.pieces.append(piece)
    if not scores.logprobs:
        raise errors.InvalidInput("The text is a single token for this server: it has nothing to score.")
    return scores
