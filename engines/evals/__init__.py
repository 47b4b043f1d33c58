"""The Evaluate tab's engine: private test sets, several models side by side, scored, stored and compared.

Modules: ``testsets`` (items, mapping, validation, hash), ``sources`` (files, examples, datasets, synthetic rows),
``scoring`` (rule-based scores, letters, judge parsing), ``logprobs`` (lm-eval log-likelihoods; reused by the
contamination checks), ``stats`` (pass@k, bootstrap, McNemar), ``judge`` (LLM-as-judge), ``items`` (one model on one
item), ``runner`` (runs, Stop, resume), ``store`` (SQLite), ``report`` (summaries, comparisons, downloads).
"""

from __future__ import annotations

from engines.evals.contamination import min_k_plus_plus, min_k_prob  # contamination checks (issue 18)
from engines.evals.items import RunConfig
from engines.evals.logprobs import ContinuationScore, choice_logprobs, encode_pair, score_pairs, score_requests
from engines.evals.report import compare, flips, markdown_report, summarize, to_csv, to_jsonl
from engines.evals.runner import RunEvent, resume_run, start_run
from engines.evals.sources import read_dataset, read_example, read_file, read_synthetic, testset_from_synthetic
from engines.evals.stats import bootstrap_ci, mcnemar_p, paired_bootstrap, pass_at_k
from engines.evals.store import Result, RunInfo, RunStore
from engines.evals.testsets import Item, RawTable, TestSet, build_testset, guess_mapping

__all__ = [
    "ContinuationScore", "Item", "RawTable", "Result", "RunConfig", "RunEvent", "RunInfo", "RunStore", "TestSet",
    "bootstrap_ci", "build_testset", "choice_logprobs", "compare", "encode_pair", "flips", "guess_mapping",
    "markdown_report", "mcnemar_p", "paired_bootstrap", "pass_at_k", "read_dataset", "read_example", "read_file",
    "read_synthetic", "resume_run", "score_pairs", "score_requests", "start_run", "summarize",
    "testset_from_synthetic", "to_csv", "to_jsonl",
]
__all__ += ["min_k_plus_plus", "min_k_prob"]
