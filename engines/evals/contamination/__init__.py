"""Contamination checks — has this model seen my test set? (the Evaluate tab's Contamination panel, issue 18).

Signals, never proof. Modules: ``mink`` (Min-K% Prob, Min-K%++), ``tokens`` (per-token log-probabilities and the
next-token distribution's μ, σ; local models and API servers that echo prompt log-probabilities), ``guided``
(guided vs general completion), ``sampling`` (CDD peakedness), ``ngrams`` (13-gram overlap with a corpus),
``measures`` (AUROC by Mann–Whitney, ROUGE-L, edit distance), ``reference`` (the unseen reference set, paraphrases),
``texts`` (what text of an item is scored), ``verdicts`` (thresholds and what each method means), ``checks`` (a run),
``report`` (rows, summaries, storage, CSV).
"""

from __future__ import annotations

from engines.evals.contamination.checks import METHODS, CheckEvent, CheckOptions, run_checks
from engines.evals.contamination.guided import general_messages, guided_messages
from engines.evals.contamination.measures import RankTest, edit_distance, mann_whitney, normalised_distance, rouge_l
from engines.evals.contamination.mink import MinKScore, lowest_mean, min_k_plus_plus, min_k_prob, min_k_scores
from engines.evals.contamination.ngrams import Corpus, Overlap, overlap, words
from engines.evals.contamination.reference import paraphrase
from engines.evals.contamination.report import Report, Row, Summary, load, to_csv
from engines.evals.contamination.sampling import Peakedness, peakedness
from engines.evals.contamination.texts import item_text, split_text

__all__ = [
    "METHODS", "CheckEvent", "CheckOptions", "Corpus", "MinKScore", "Overlap", "Peakedness", "RankTest", "Report",
    "Row", "Summary", "edit_distance", "general_messages", "guided_messages", "item_text", "load", "lowest_mean",
    "mann_whitney", "min_k_plus_plus", "min_k_prob", "min_k_scores", "normalised_distance", "overlap",
    "paraphrase", "peakedness", "rouge_l", "run_checks", "split_text", "to_csv", "words",
]
