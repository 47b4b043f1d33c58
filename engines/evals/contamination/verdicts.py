"""From a method's numbers to the wording "no signal / weak signal / strong signal", and what each method means.

These are signals, never proof. The thresholds are ours (the papers report AUROCs and p-values, not verdicts),
chosen so that "strong" needs both a large effect and a small p-value:

* Min-K% / Min-K%++ (test set vs a reference set of certainly unseen items): AUROC = P(a test item scores higher
  than a reference item). strong: AUROC ≥ 0.75 and one-sided Mann–Whitney p < 0.01; weak: AUROC ≥ 0.60 and
  p < 0.05. Without a reference set there is no verdict (the raw scores mean little on their own).
* Guided vs general completion: mean ROUGE-L difference (guided − general) over items, paired bootstrap (two-sided
  p). strong: difference ≥ 0.10 and p < 0.01; weak: difference > 0 and p < 0.05.
* Sampling peakedness (CDD): share of items flagged (peakedness > ξ). strong: ≥ 50 % of items; weak: ≥ 20 %.
* N-gram overlap: share of items with at least one n-gram in the corpus (GPT-3's "dirty"). strong: ≥ 10 % of
  the items that have n-grams; weak: any item.

Every verdict needs at least ``MIN_ITEMS`` scored items on each side.
"""

from __future__ import annotations

NO, WEAK, STRONG = "no signal", "weak signal", "strong signal"
NOT_RATED = "no verdict"
MIN_ITEMS = 5
THRESHOLDS = {
    "min_k": {"strong": {"auroc": 0.75, "p": 0.01}, "weak": {"auroc": 0.60, "p": 0.05}},
    "guided": {"strong": {"difference": 0.10, "p": 0.01}, "weak": {"difference": 0.0, "p": 0.05}},
    "sampling": {"strong": {"flagged_share": 0.50}, "weak": {"flagged_share": 0.20}},
    "ngrams": {"strong": {"dirty_share": 0.10}, "weak": {"dirty_share": 0.0}},
}


def rank_verdict(auroc: float, p: float, n_test: int, n_reference: int) -> str:
    """Verdict of Min-K% / Min-K%++ from the AUROC against the reference set and its one-sided p-value."""
    if min(n_test, n_reference) < MIN_ITEMS or auroc != auroc:
        return NOT_RATED
    t = THRESHOLDS["min_k"]
    if auroc >= t["strong"]["auroc"] and p < t["strong"]["p"]:
        return STRONG
    if auroc >= t["weak"]["auroc"] and p < t["weak"]["p"]:
        return WEAK
    return NO


def guided_verdict(difference: float, p: float, n: int) -> str:
    """Verdict of guided vs general completion from the mean ROUGE-L difference and the paired bootstrap p."""
    if n < MIN_ITEMS or difference != difference:
        return NOT_RATED
    t = THRESHOLDS["guided"]
    if difference >= t["strong"]["difference"] and p < t["strong"]["p"]:
        return STRONG
    if difference > t["weak"]["difference"] and p < t["weak"]["p"]:
        return WEAK
    return NO


def share_verdict(method: str, share: float, n: int) -> str:
    """Verdict of sampling peakedness (share of items flagged) or n-gram overlap (share of items overlapping)."""
    if n < MIN_ITEMS and not (method == "ngrams" and share > 0):
        return NOT_RATED
    key = "flagged_share" if method == "sampling" else "dirty_share"
    t = THRESHOLDS[method]
    if share >= t["strong"][key]:
        return STRONG
    if (share > t["weak"][key]) if method == "ngrams" else (share >= t["weak"][key]):
        return WEAK
    return NO


# What each method measures, how to read it, and its known limits (shown beside the results).
INFO = {
    "min_k": {
        "label": "Min-K% Prob and Min-K%++",
        "measures": "How likely the model finds the least likely tokens of each item (Min-K%: the mean of the lowest "
                    "k fraction of token log-probabilities; Min-K%++: the same after normalising each token by the "
                    "mean and spread of the model's own next-token distribution at that position).",
        "read": "Higher = more familiar. Compared with a reference set of items the model cannot have seen: the AUROC "
                "is the chance that a test item scores above a reference item (0.5 = indistinguishable).",
        "limits": "Needs per-token log-probabilities: a local model, or a server that echoes prompt "
                  "log-probabilities. The reference set must differ from the test set only in having been unseen: "
                  "sets that differ by date, topic, length or style separate without any contamination (Duan et "
                  "al. 2024 found near-chance AUROCs once the distribution shift was removed); paraphrases by "
                  "another model differ in style too. Scores of different models are not comparable.",
    },
    "guided": {
        "label": "Guided vs general completion",
        "measures": "Whether naming the dataset and split helps the model reproduce the rest of an item: ROUGE-L "
                    "of the completion against the true second piece, with and without the dataset name.",
        "read": "A positive, significant difference (guided > general) suggests the model saw the items under that "
                "name; guided completions that match the truth nearly word for word are the strongest evidence.",
        "limits": "Instruction-following models only; the dataset name must be one the model could have seen. A "
                  "model that ignores the instruction, or refuses, shows no signal without being clean; items whose "
                  "second piece is predictable from the first score high under both.",
    },
    "sampling": {
        "label": "Sampling peakedness (CDD)",
        "measures": "How concentrated the model's answers are: N answers sampled at a temperature above 0 against "
                    "the greedy answer (share within a normalised edit distance α).",
        "read": "A memorised item gives near-identical samples (peakedness > ξ flags the item); the summary is the "
                "share of flagged items.",
        "limits": "Short or formulaic answers (a name, a number, a letter) are peaked without any contamination; "
                  "so is a model that is very confident for other reasons (heavily aligned chat models). Costs N + 1 "
                  "generations per item.",
    },
    "ngrams": {
        "label": "N-gram overlap with a corpus",
        "measures": "Literal overlap: which of each item's 13-word sequences (GPT-3's decontamination) occur in a "
                    "corpus you supply (e.g. a training set you have).",
        "read": "An item with any overlapping 13-gram is 'dirty'; the highlighted spans show where. This is direct "
                "evidence about that corpus, not about the model.",
        "limits": "Only finds verbatim copies (after lowercasing and removing punctuation): paraphrased or "
                  "translated leaks pass; items shorter than n words cannot be checked; only as good as the corpus "
                  "you have (the model's real training data is usually unknown).",
    },
}
