"""The catalog's shape and sanity: ids, sources, prices, numeric ranges, defaults and the derived helpers."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from engines import registry

TASK_KEYS = (
    "sentiment-analysis",
    "zero-shot-classification",
    "ner",
    "question-answering",
    "summarization",
    "translation",
    "text-generation",
    "fill-mask",
    "feature-extraction",
    "automatic-speech-recognition",
    "text-to-speech",
    "text-to-audio",
    "text-to-image",
)

CHAT_MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "microsoft/Phi-3-mini-4k-instruct",
    "google/gemma-2-2b-it",
    "Qwen/Qwen2-7B-Instruct",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "meta-llama/Llama-3.2-1B-Instruct",
    "Qwen/Qwen2.5-0.5B-Instruct",
    "Qwen/Qwen2.5-1.5B-Instruct",
    "HuggingFaceTB/SmolLM2-135M-Instruct",
    "HuggingFaceTB/SmolLM2-360M-Instruct",
    "HuggingFaceTB/SmolLM2-1.7B-Instruct",
)

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SPECS = registry.all_specs()


def _ids(specs) -> list[str]:
    return [s.id for s in specs]


def test_catalog_is_filled_and_indexed():
    assert len(SPECS) >= 40
    for spec in SPECS:
        assert registry.get(spec.id) is spec
    assert registry.get("no/such-model") is None


def test_ids_are_unique():
    ids = _ids(SPECS)
    assert len(ids) == len(set(ids))


def test_duplicate_ids_are_refused():
    spec = SPECS[0]
    with pytest.raises(ValueError):
        registry._index((spec, spec))


@pytest.mark.parametrize("spec", SPECS, ids=_ids(SPECS))
def test_entry_basics(spec):
    assert spec.kind in registry.KINDS
    assert spec.label and spec.family
    assert spec.source.startswith("https://")
    if spec.local:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", spec.id), spec.id
        assert spec.source == f"https://huggingface.co/{spec.id}"
    if spec.id.startswith("hf:"):
        assert spec.source == f"https://huggingface.co/{spec.id[3:]}"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.id.startswith("openai:")], ids=lambda s: s.id)
def test_openai_entries_are_priced(spec):
    # Token-billed APIs carry price_in/price_out; duration-billed ones (whisper-1) carry price_per_min.
    token_priced = spec.price_in is not None and spec.price_out is not None
    assert token_priced or spec.price_per_min is not None
    assert spec.price_source and spec.price_source.startswith("https://")
    assert spec.open_weights is False
    assert spec.license == "proprietary"
    assert spec.params_b is None


@pytest.mark.parametrize("spec", SPECS, ids=_ids(SPECS))
def test_numeric_facts_in_sane_ranges(spec):
    if spec.params_b is not None:
        assert 0 < spec.params_b < 2000
    if spec.active_params_b is not None:
        assert spec.params_b is not None and 0 < spec.active_params_b <= spec.params_b
    if spec.context is not None:
        assert isinstance(spec.context, int) and 512 <= spec.context <= 10_000_000
    if spec.training_tokens_t is not None:
        assert 0 < spec.training_tokens_t < 100
    for price in (spec.price_in, spec.price_out, spec.price_per_min):
        if price is not None:
            assert 0 < price < 1000
    if spec.price_in is not None or spec.price_out is not None or spec.price_per_min is not None:
        assert spec.price_source and spec.price_source.startswith("https://")


@pytest.mark.parametrize("spec", SPECS, ids=_ids(SPECS))
def test_dates_parse(spec):
    for value in (spec.release, spec.knowledge_cutoff):
        if value is None:
            continue
        fmt = "%Y-%m-%d" if len(value) == 10 else "%Y-%m"
        parsed = datetime.strptime(value, fmt)
        assert 2015 <= parsed.year <= 2030


def test_cutoff_not_after_release():
    for spec in SPECS:
        if spec.release and spec.knowledge_cutoff:
            assert spec.knowledge_cutoff[:7] <= spec.release[:7], spec.id


def test_tasks_are_known_keys():
    for spec in SPECS:
        for task in spec.tasks:
            assert task in TASK_KEYS, (spec.id, task)


def test_tokenizer_presets_in_catalog():
    assert [label for label, _ in registry.TOKENIZER_PRESETS] == [
        "Llama 3.1", "Phi 3", "Qwen2", "StarCoder2", "Gemma", "Mistral", "GPT-2",
    ]
    for _, model_id in registry.TOKENIZER_PRESETS:
        spec = registry.get(model_id)
        assert spec is not None and spec.local


def test_defaults_in_catalog():
    expected = {
        "chat_gpu", "chat_cpu", "code_local_gpu", "code_local_cpu", "code_frontier", "code_open",
        "asr_gpu", "asr_cpu", "image", "image_cpu", "minutes_gpu", "minutes_cpu", "chat_alt_gpu", "chat_alt_cpu",
    }
    assert set(registry.DEFAULTS) == expected
    for role, model_id in registry.DEFAULTS.items():
        spec = registry.get(model_id)
        assert spec is not None, role
        if role.endswith("_cpu"):
            assert spec.cpu_friendly, role


def test_default_for_is_one_policy_per_device():
    for role in ("chat", "chat_alt", "code_local", "asr", "image", "minutes"):
        gpu, cpu, mps = (registry.default_for(role, d) for d in ("cuda", "cpu", "mps"))
        assert cpu == mps  # an Apple laptop gets the small models, like a CPU box
        assert registry.get(cpu).cpu_friendly, role
    assert registry.default_for("chat", "cuda") == registry.DEFAULTS["chat_gpu"]
    assert registry.default_for("image", "cpu") == registry.DEFAULTS["image_cpu"]
    assert registry.default_for("code_frontier", "cpu") == registry.default_for("code_frontier", "cuda")
    with pytest.raises(KeyError):
        registry.default_for("no-such-role", "cpu")


@pytest.mark.parametrize("task", TASK_KEYS)
def test_task_default_in_catalog(task):
    model_id = registry.task_default(task)
    assert model_id is not None
    spec = registry.get(model_id)
    assert spec is not None and task in spec.tasks
    assert spec.local and spec.cpu_friendly


def test_task_defaults_named_in_brief():
    assert registry.task_default("automatic-speech-recognition") == "openai/whisper-tiny"
    assert registry.task_default("text-to-image") == registry.DEFAULTS["image_cpu"]
    assert registry.task_default("text-generation") == "openai-community/gpt2"
    assert registry.task_default("no-such-task") is None
    assert len(registry.task_models("translation")) == 3


def test_estimate_memory_ordering():
    spec = registry.get(LLAMA)
    sizes = [registry.estimate_memory_bytes(spec, q) for q in ("4bit", "8bit", "bf16", "fp32")]
    assert all(isinstance(s, int) for s in sizes)
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert registry.estimate_memory_bytes(spec, "fp16") == registry.estimate_memory_bytes(spec, "bf16")
    # 8B in bf16 is 16 GB of weights; with overhead it lands between 16 and 20 GB.
    assert 16e9 < sizes[2] < 20e9
    assert registry.estimate_memory_bytes(LLAMA, "bf16") == sizes[2]
    assert registry.estimate_memory_bytes(8.0, "bf16") == sizes[2]


def test_estimate_memory_unknown():
    assert registry.estimate_memory_bytes(registry.get("openai:gpt-4o-mini"), "4bit") is None
    assert registry.estimate_memory_bytes(registry.get("hf:Qwen/Qwen2.5-Coder-32B-Instruct"), "bf16") is None
    assert registry.estimate_memory_bytes(None, "bf16") is None
    with pytest.raises(ValueError):
        registry.estimate_memory_bytes(8.0, "auto")


def test_chinchilla_ratio():
    assert registry.chinchilla_ratio(registry.get(LLAMA)) == pytest.approx(1875, rel=0.01)
    assert registry.chinchilla_ratio(registry.get("openai:gpt-4o")) is None
    assert registry.chinchilla_ratio(registry.get("mistralai/Mistral-7B-Instruct-v0.3")) is None


def test_chat_kind_holds_the_chat_models():
    chat_ids = set(_ids(registry.by_kind("chat")))
    assert set(CHAT_MODELS) <= chat_ids
    for spec in registry.by_kind("chat"):
        assert spec.kind == "chat"


def test_template_and_access_facts():
    assert registry.get("google/gemma-2-2b-it").no_system_role
    assert not registry.get("mistralai/Mistral-7B-Instruct-v0.3").no_system_role
    assert registry.get("black-forest-labs/FLUX.1-schnell").gated is False
    for spec in SPECS:
        org = spec.id.removeprefix("hf:").split("/", 1)[0]
        if org in ("meta-llama", "mistralai") or spec.id.startswith("google/gemma"):
            assert spec.gated, spec.id
    mixtral = registry.get("mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert mixtral.active_params_b is not None and mixtral.active_params_b < mixtral.params_b
    assert registry.get("Systran/faster-whisper-small").extra.get("ctranslate2") is True


def test_module_is_import_light():
    import ast
    from pathlib import Path

    files = sorted(Path(registry.__file__).parent.glob("*.py"))  # the package: every module of it
    assert len(files) > 1
    imported = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    heavy = {"torch", "transformers", "diffusers", "gradio", "openai", "huggingface_hub", "numpy", "pandas"}
    assert not {m.split(".")[0] for m in imported} & heavy
    assert all(m == "engines.registry" or m.startswith("engines.registry.") for m in imported if "engines" in m), (
        "the registry imports no other engine (refs, loading … import it)")


def test_package_reexports_what_callers_use():
    # engines.registry.X for every X used in the code base (the package's __init__ re-exports its modules)
    for name in ("CATALOG", "TOKENIZER_PRESETS", "DEFAULTS", "BYTES_PER_PARAM", "KINDS", "ModelSpec", "get",
                 "by_kind", "all_specs", "task_models", "task_default", "default_for", "estimate_memory_bytes",
                 "facts_row", "chinchilla", "chinchilla_ratio", "chinchilla_optimal", "chinchilla_loss",
                 "ChinchillaResult", "CHINCHILLA_TABLE3", "CHINCHILLA_TOKENS_PER_PARAM", "CHINCHILLA_SOURCE",
                 "CHINCHILLA_A", "CHINCHILLA_G", "CHINCHILLA_LOSS", "_index"):
        assert hasattr(registry, name), name
    assert callable(registry.chinchilla)  # the function, not a submodule of the same name
    assert registry.CATALOG == registry.CHAT_MODELS + registry.PIPELINE_MODELS
    assert {s.kind for s in registry.CHAT_MODELS} == {"chat", "code"}


@pytest.mark.parametrize("params, flops, tokens", registry.CHINCHILLA_TABLE3)
def test_chinchilla_estimate_reproduces_the_papers_table3(params, flops, tokens):
    n, d = registry.chinchilla_optimal(flops)
    assert n == pytest.approx(params, rel=0.02)
    assert d == pytest.approx(flops / (6 * params), rel=0.02)  # the row's own tokens, unrounded
    assert d == pytest.approx(tokens, rel=0.06)  # as printed (the 67B row prints 1.5T for 1.43T)
    # the rule of thumb is a constant ratio; the paper's estimate grows slowly with compute
    r = registry.chinchilla(flops=flops)
    assert r.paper_params_for_flops == pytest.approx(n)
    assert r.optimal_tokens_for_flops / r.optimal_params_for_flops == pytest.approx(20)


def test_chinchilla_table3_values_are_the_papers():
    # Hoffmann et al. 2022, Table 3: the Gopher-sized row and the 1B row, as printed
    assert (67e9, 5.76e23, 1.5e12) in registry.CHINCHILLA_TABLE3
    assert (1e9, 1.21e20, 20.2e9) in registry.CHINCHILLA_TABLE3
    assert registry.chinchilla_loss(70e9, 1.4e12) == pytest.approx(1.94, abs=0.02)  # Chinchilla's own fit


def test_every_row_describes_one_named_version():
    phi = registry.get("microsoft/Phi-3-mini-4k-instruct")
    assert "June 2024" in phi.label and phi.release == "2024-06" and phi.training_tokens_t == 4.9
    for spec in registry.by_kind("chat"):
        if spec.local:
            assert spec.context, f"{spec.id} has no context length"
    assert registry.get("HuggingFaceTB/SmolLM2-135M-Instruct").context == 8192
