"""Running an evaluation: 1–6 models over a test set with the same settings, every result stored the moment it is
scored, progress per model and item, Stop, and resuming a run that was stopped or killed.

Models run one after another. A local model scores its multiple-choice items in log-likelihood batches, then
answers the rest one by one; an API model keeps a few requests in flight (``RunConfig.parallel``). An error that
concerns the model (it can't load, the key is missing, the server is down) ends that model's part with the reason
and leaves its items pending, so the run can be resumed once it is fixed; nothing is ever guessed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace

from engines import errors
from engines.backends.registry import is_local
from engines.config import Settings, in_this_call
from engines.evals import items as evaluate
from engines.evals import scoring
from engines.evals.items import RunConfig
from engines.evals.store import Result, RunInfo, RunStore
from engines.evals.testsets import TestSet
from engines.refs import ModelRef, parse_ref

log = logging.getLogger(__name__)
MAX_MODELS = 6
LL_ITEMS_PER_STEP = 8  # multiple-choice items scored per log-likelihood step (progress shows after each)


@dataclass
class ModelProgress:
    """How far one model is: ``status`` waiting | running | done | failed | stopped. ``done`` counts finished
    items; ``redo`` the items whose answer the server cut off (stored as errors that resuming evaluates again)."""

    model: str
    total: int
    done: int = 0
    status: str = "waiting"
    methods: list[str] = field(default_factory=list)
    error: str = ""
    redo: int = 0


@dataclass
class RunEvent:
    """What a run reports as it goes: new results since the last event, each model's progress, the run status."""

    run: RunInfo
    progress: list[ModelProgress]
    new: list[Result] = field(default_factory=list)
    current: str = ""
    status: str = "running"  # running | complete | stopped | incomplete

    @property
    def done(self) -> int:
        """Results stored so far, all models together."""
        return sum(p.done for p in self.progress)


def _int(value, name: str, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"{name} must be a whole number.") from None
    if not number.is_integer():
        raise errors.InvalidInput(f"{name} must be a whole number (got {value}).")
    if not low <= number <= high:
        raise errors.InvalidInput(f"{name} must be between {low} and {high:,} (got {int(number)}).")
    return int(number)


def clean_models(models: list[str] | str) -> list[str]:
    """The model list: strings, stripped, blanks dropped, duplicates refused, 1 to 6 of them."""
    if isinstance(models, str):
        models = [m for m in models.replace("\n", ",").split(",")]
    cleaned = [str(m).strip() for m in (models or []) if str(m or "").strip()]
    if not cleaned:
        raise errors.InvalidInput("Pick at least one model to evaluate.")
    if len(cleaned) > MAX_MODELS:
        raise errors.InvalidInput(f"Evaluate at most {MAX_MODELS} models at once (got {len(cleaned)}).")
    dupes = sorted({m for m in cleaned if cleaned.count(m) > 1})
    if dupes:
        raise errors.InvalidInput(f"The model {dupes[0]} is listed twice.")
    return cleaned


def validate(testset: TestSet, models: list[str], config: RunConfig, settings: Settings | None = None) -> list[str]:
    """Check a run before anything is loaded or called.

    Args:
        testset: the items.
        models: model references.
        config: the run's settings.
        settings: deployment settings.

    Returns:
        The cleaned model list.

    Raises:
        InvalidInput, ModelNotAllowed, Unsupported: with the reason (a missing judge, a numeric reference without a
            number, an invalid regex, pass@k with k > n, code items where no sandbox works, ...).
    """
    settings = settings or Settings.current()
    models = clean_models(models)
    refs = [parse_ref(m, settings) for m in models]
    if testset.size == 0:
        raise errors.InvalidInput("The test set is empty.")
    if config.method not in scoring.METHODS:
        raise errors.InvalidInput(f"Unknown scoring method '{config.method}': use {', '.join(scoring.METHODS)}.")
    if config.choice_method not in ("auto", "letter"):
        raise errors.InvalidInput("The multiple-choice method must be auto (log-likelihood where possible) or letter.")
    config.max_new_tokens = _int(config.max_new_tokens, "Max new tokens", 1, settings.max_new_tokens)
    config.samples = _int(config.samples, "Samples per code item", 1, 20)
    config.k = _int(config.k, "k of pass@k", 1, config.samples)
    config.batch_size = _int(config.batch_size, "Batch size", 1, 256)
    config.parallel = _int(config.parallel, "Parallel requests", 1, 16)
    if not 0.0 <= float(config.temperature) <= 2.0:
        raise errors.InvalidInput("Temperature must be between 0 and 2.")
    kinds = testset.kinds()
    if kinds.get("code") and config.samples > 1 and float(config.temperature) == 0:
        raise errors.InvalidInput("With temperature 0 every code sample is the same answer: raise the temperature "
                                  "to draw several samples for pass@k, or use 1 sample.")
    needs_judge = kinds.get("rubric") or (kinds.get("freeform") and config.method == "judge")
    if needs_judge and not (config.judge or "").strip():
        raise errors.InvalidInput("This set needs a judge model (open-ended items, or the 'judge' scoring method): "
                                  "pick one in Judge model.")
    if (config.judge or "").strip():
        config.judge = parse_ref(config.judge.strip(), settings).raw
    _check_items(testset, config)
    if kinds.get("code"):
        from engines.sandbox import check_allowed

        check_allowed(settings)
        check_sandbox_time(kinds["code"], config.samples, len(refs), settings)
    return [r.raw for r in refs]


def check_sandbox_time(items: int, samples: int, models: int, settings: Settings) -> None:
    """Refuse a run whose code items could take more sandbox time than the deployment allows, before it starts.

    Args:
        items: code items in the set.
        samples: programs per item and model.
        models: models in the run.
        settings: ``max_eval_sandbox_s`` is the bound (0 = none).

    Raises:
        InvalidInput: items × samples × models × the wall limit of one program is over the bound.
    """
    bound, wall = settings.max_eval_sandbox_s, evaluate.SANDBOX_LIMITS["wall_s"]
    estimate = items * samples * models * wall
    if bound and estimate > bound:
        raise errors.InvalidInput(
            f"This run could take up to {estimate:,.0f} s of sandbox time ({items:,} code item{'s' * (items != 1)} "
            f"× {samples} sample{'s' * (samples != 1)} × {models} model{'s' * (models != 1)} × {wall:g} s per "
            f"program), over this deployment's bound of {bound:,.0f} s (WORKBENCH_MAX_EVAL_SANDBOX_S). Use fewer "
            "code items, samples or models.")


def _check_items(testset: TestSet, config: RunConfig) -> None:
    for item in testset.items:
        if item.kind != "freeform":
            continue
        if config.method == "numeric":
            scoring.check_numeric_references(item.references, f"Item {item.id}")
        elif config.method == "regex":
            for pattern in item.references:
                scoring.compile_pattern(pattern)


def start_run(testset: TestSet, models: list[str], config: RunConfig | None = None, *, name: str = "",
              store: RunStore | None = None, stop: threading.Event | None = None,
              settings: Settings | None = None) -> Iterator[RunEvent]:
    """Evaluate models on a test set; a generator of RunEvents (close it, or set ``stop``, to stop).

    Args:
        testset: the items.
        models: 1–6 model references.
        config: decoding and scoring settings (the same for every model).
        name: a name for the run.
        store: the runs database (default: the app's data directory).
        stop: set it to stop after the results in flight.
        settings: the deployment's settings (read from the environment when None).

    Yields:
        RunEvent after each stored result (or log-likelihood batch); the last one has the final status.
    """
    config = config or RunConfig()
    models = validate(testset, models, config, settings)
    store = store or RunStore.default(settings)
    run = store.create_run(testset, models, asdict(config), name)
    yield from _execute(store, run, testset, config, stop)


def resume_run(run_id: str, *, store: RunStore | None = None, stop: threading.Event | None = None,
               settings: Settings | None = None) -> Iterator[RunEvent]:
    """Continue a stored run: only the (model, item) pairs without a stored result, or whose answer the server cut
    off, are evaluated.

    Args:
        run_id: the run's id.
        store: the runs database (default: the app's data directory).
        stop: set it to stop.
        settings: the deployment's settings (read from the environment when None).

    Yields:
        RunEvents as ``start_run``.
    """
    store = store or RunStore.default(settings)
    run = store.get_run(run_id)
    testset = store.load_testset(run.set_hash)
    if testset is None:
        raise errors.InvalidInput(f"The test set of run {run_id} is missing from the database.")
    known = set(RunConfig.__dataclass_fields__)
    config = RunConfig(**{k: v for k, v in run.config.items() if k in known})
    validate(testset, run.models, config, settings)
    store.set_status(run.id, "running")
    yield from _execute(store, run, testset, config, stop)


def _execute(store: RunStore, run: RunInfo, testset: TestSet, config: RunConfig,
             stop: threading.Event | None) -> Iterator[RunEvent]:
    stop = stop or threading.Event()
    done = store.done_keys(run.id)
    progress = [ModelProgress(m, testset.size, sum(1 for i in testset.items if (m, i.id) in done))
                for m in run.models]
    status = "stopped"
    try:
        yield RunEvent(run, _snapshot(progress))
        for prog in progress:
            if stop.is_set():
                break
            pending = [i for i in testset.items if (prog.model, i.id) not in done]
            prog.status = "running" if pending else "done"
            for batch in _model_results(prog, pending, config, stop):
                new = [r for r in batch if store.add_result(run.id, r)]
                prog.redo += sum(1 for r in new if r.retry)
                prog.done += sum(1 for r in new if not r.retry)
                yield RunEvent(run, _snapshot(progress), new, f"{prog.model}: {prog.done}/{prog.total}")
            if prog.status == "running":
                prog.status = "stopped" if stop.is_set() else "done"
        if not stop.is_set():
            status = "complete" if all(p.done >= p.total for p in progress) else "incomplete"
    finally:
        stop.set()  # a closed generator (the user pressed Stop) ends the requests in flight, too
        store.set_status(run.id, status)
    yield RunEvent(run, _snapshot(progress), status=status)


def _snapshot(progress: list[ModelProgress]) -> list[ModelProgress]:
    return [replace(p, methods=list(p.methods)) for p in progress]


def _model_results(prog: ModelProgress, pending: list, config: RunConfig,
                   stop: threading.Event) -> Iterator[list[Result]]:
    """Results of one model on its pending items, in batches; a model-level error ends them with the reason."""
    try:
        ref = parse_ref(prog.model)
        method = evaluate.choice_method(ref, config)
        ll = [i for i in pending if i.kind == "choice" and method == "loglikelihood"]
        rest = [i for i in pending if i not in ll]
        prog.methods = sorted({method if i.kind == "choice" else _label(i, config) for i in pending})
        if ll:
            yield from _loglikelihood(ref, ll, config, stop)
        if rest:
            yield from (_local(ref, rest, config, stop) if is_local(ref) else _remote(ref, rest, config, stop))
    except errors.WorkbenchError as exc:
        prog.status, prog.error = "failed", str(exc)
    except Exception as exc:  # a bug or a library failure: this model stops, the others still run
        log.error("evaluation of %s failed", prog.model, exc_info=exc)
        prog.status, prog.error = "failed", f"Unexpected error ({type(exc).__name__}); details in the server log."


def _label(item, config: RunConfig) -> str:
    return {"code": "pass@k", "rubric": "rubric"}.get(item.kind, config.method)


def _loglikelihood(ref: ModelRef, items: list, config: RunConfig, stop: threading.Event) -> Iterator[list[Result]]:
    from engines.loading import load_causal_lm

    if not is_local(ref):  # a server that echoes prompt log-probabilities (vLLM): one request per choice
        for start in range(0, len(items), LL_ITEMS_PER_STEP):
            if stop.is_set():
                return
            yield evaluate.evaluate_choices_ll_served(ref, items[start:start + LL_ITEMS_PER_STEP], config)
        return
    lm = load_causal_lm(ref, config.quantization)[0]
    for start in range(0, len(items), LL_ITEMS_PER_STEP):
        if stop.is_set():
            return
        yield evaluate.evaluate_choices_ll(ref, lm, items[start:start + LL_ITEMS_PER_STEP], config)


def _local(ref: ModelRef, items: list, config: RunConfig, stop: threading.Event) -> Iterator[list[Result]]:
    for item in items:
        if stop.is_set():
            return
        yield [evaluate.evaluate_generated(ref, item, config)]


def _remote(ref: ModelRef, items: list, config: RunConfig, stop: threading.Event) -> Iterator[list[Result]]:
    """A few requests in flight at once; results in the order they finish. On stop, requests in flight are
    abandoned (their items stay pending)."""
    pool = ThreadPoolExecutor(max_workers=config.parallel, thread_name_prefix="eval-remote")
    queue = list(reversed(items))
    running: set[Future] = set()
    try:
        while queue or running:
            while queue and len(running) < config.parallel and not stop.is_set():
                running.add(pool.submit(in_this_call(evaluate.evaluate_generated), ref, queue.pop(), config))
            if stop.is_set() or not running:
                return
            finished, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                yield [future.result()]  # a model-level error surfaces here and ends this model
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
