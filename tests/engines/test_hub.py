"""The Hub engine against the fake Hub (tests/support/fake_hub.py), driven by the real huggingface_hub client."""

from __future__ import annotations

import time

import pytest
from app_helpers import SECRET_MARKER
from fake_hub import FakeHub, default_models, use_fake_hub

from engines import errors, hub, registry


@pytest.fixture(scope="module")
def fake():
    with FakeHub(token=SECRET_MARKER, slow_s=10.0) as server:
        yield server


@pytest.fixture()
def env(monkeypatch, fake, tmp_path):
    """The engine pointed at the fake Hub, with the suite's HF_TOKEN (which the fake accepts)."""
    use_fake_hub(monkeypatch, fake, tmp_path / "hf-cache")
    monkeypatch.setenv("HF_TOKEN", SECRET_MARKER)
    fake.clear()
    yield fake
    hub.clear_cache()


def _queries(fake: FakeHub, path: str) -> list[dict]:
    return [r["query"] for r in fake.requests if r["path"] == path]


def _params_of(repo_id: str) -> int:
    return default_models()[repo_id]["safetensors"]["total"]


# ------------------------------------------------------------------------------------------------ search


def test_search_models_sends_the_current_api_and_reads_the_facts(env):
    result = hub.search_models("", task="text-generation", gated="any", min_params_b=1, max_params_b=10,
                               sort="trending")
    query = _queries(env, "/api/models")[0]
    assert query["sort"] == ["trendingScore"] and query["pipeline_tag"] == ["text-generation"]
    assert query["num_parameters"] == ["min:1B,max:10B"] and query["limit"] == ["30"]
    assert {"safetensors", "gated", "downloads", "likes", "lastModified", "tags"} <= set(query["expand"])
    assert [r.id for r in result.rows] == ["acme/gated-8b", "acme/chat-1b"]  # 70B out of range; by trending
    gated, chat = result.rows
    assert gated.gated == "manual" and gated.license == "llama3.1"
    assert chat.params == _params_of("acme/chat-1b") and chat.downloads == 120_000 and chat.likes == 420
    assert chat.license == "apache-2.0" and chat.gated == "no" and chat.updated == "2025-06-01"
    assert chat.task == "text-generation" and chat.library == "transformers"


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"library": "diffusers"}, ["acme/tiny-diffusion"]),
    ({"text": "WHISPER"}, ["acme/whisper-small"]),
    ({"gated": "gated"}, ["acme/gated-8b"]),
    ({"task": "text-generation", "gated": "not gated", "sort": "likes"}, ["acme/chat-1b", "acme/big-70b"]),
    ({"max_params_b": 0.5}, ["acme/sentiment-bert", "acme/whisper-small"]),
    ({"author": "nobody"}, []),
])
def test_search_model_filters(env, kwargs, expected):
    assert [r.id for r in hub.search_models(**kwargs).rows] == expected


def test_search_gated_and_sort_parameters(env):
    hub.search_models(gated="not gated", sort="created")
    query = _queries(env, "/api/models")[0]
    assert query["gated"] == ["false"] and query["sort"] == ["createdAt"]


def test_search_datasets_by_task_and_size(env):
    result = hub.search_datasets(task="question-answering", sort="likes")
    assert _queries(env, "/api/datasets")[0]["filter"] == ["task_categories:question-answering"]
    assert [(r.id, r.tasks, r.size, r.license) for r in result.rows] == [
        ("acme/qa-pairs", ("question-answering",), "1K<n<10K", "cc-by-4.0")]
    assert [r.id for r in hub.search_datasets(size="n<1K").rows] == ["acme/reviews", "acme/no-viewer"]


def test_search_spaces_by_sdk(env):
    rows = hub.search_spaces(sdk="docker").rows
    assert [(r.id, r.sdk, r.hardware, r.stage) for r in rows] == [("acme/docker-api", "docker", "t4-small",
                                                                    "SLEEPING")]
    assert [r.id for r in hub.search_spaces(sort="likes").rows] == ["acme/chat-demo", "acme/docker-api"]
    with pytest.raises(errors.InvalidInput, match="Unknown sort 'downloads'"):
        hub.search_spaces(sort="downloads")  # Spaces have no download count


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sort": "best"}, "Unknown sort"),
    ({"min_params_b": 9, "max_params_b": 2}, "range is empty"),
    ({"min_params_b": -1}, "can't be negative"),
    ({"limit": 0}, "1 to 100"),
    ({"text": "x" * 201}, "at most 200"),
    ({"author": "a;rm -rf"}, "not a valid author"),
    ({"gated": "maybe"}, "Unknown gated filter"),
])
def test_search_bad_input_is_specific(env, kwargs, message):
    with pytest.raises(errors.InvalidInput, match=message):
        hub.search_models(**kwargs)
    assert env.requests == []  # refused before any request


def test_params_filter_format():
    assert hub.params_filter(0.5, 8) == "min:500M,max:8B"
    assert hub.params_filter(None, 70) == "max:70B"
    assert hub.params_filter(None, None) is None


# ------------------------------------------------------------------------------------------------ model detail


def test_model_detail_reads_headers_files_card_and_memory(env):
    d = hub.model_detail("acme/chat-1b", available=8 * 2**30)
    assert d.params == _params_of("acme/chat-1b") and d.params_source == "safetensors headers"
    assert set(d.dtypes) == {"BF16", "F32"} and sum(d.dtypes.values()) == d.params
    assert d.license == "apache-2.0" and d.gated == "no" and d.downloads == 120_000 and d.task == "text-generation"
    assert ("model.safetensors", default_models()["acme/chat-1b"]["_sizes"]["model.safetensors"]) in d.files
    assert d.total_bytes == sum(s for _, s in d.files)
    assert d.card.meta["license"] == "apache-2.0" and d.card.meta["base_model"] == "acme/chat-1b-base"
    assert d.card.text.startswith("# Acme Chat 1B") and "**chat model**" in d.card.text
    assert "Training details" not in d.card.text and "<img" not in d.card.text and "<p" not in d.card.text
    assert "# Quick start" in d.card.text  # a comment inside a code fence is not a heading
    assert d.capabilities == ("pipeline", "tokenizer", "chat") and d.pipeline_task == "text-generation"
    assert [m.quantization for m in d.memory] == ["4bit", "8bit", "bf16"]
    for m in d.memory:
        assert m.needed_bytes == registry.estimate_memory_bytes(d.params / 1e9, m.quantization)
        assert m.fits is True
    assert d.available_bytes == 8 * 2**30


def test_model_detail_downloads_no_weights(env):
    hub.model_detail("acme/chat-1b", available=2**30)
    weights = [r for r in env.requests if r["path"].endswith(".safetensors") and r["method"] == "GET"]
    assert weights and all(r["range"] and r["range"].startswith("bytes=") for r in weights)
    assert all(int(r["range"].split("-")[1]) <= 100_000 for r in weights)  # the header, never the tensors


def test_memory_fit_against_what_is_free(env):
    d = hub.model_detail("acme/chat-1b", available=2 * 2**30)
    fits = {m.quantization: m.fits for m in d.memory}
    assert fits == {"4bit": True, "8bit": True, "bf16": False}  # bf16 needs ~2.4 GB
    cpu = [m for m in d.memory if not m.runs_here]
    assert {m.quantization for m in cpu} == {"4bit", "8bit"} and "CUDA" in cpu[0].note  # this machine has no GPU
    big = hub.model_detail("acme/big-70b", available=16 * 2**30)
    assert not any(m.fits for m in big.memory)
    assert any(n.startswith("What would fit") for n in big.notes)  # the Compare tab's suggestion, reused


def test_sharded_model_reads_every_shard_header(env, tmp_path):
    d = hub.model_detail("acme/big-70b", available=2**40)
    assert d.params == _params_of("acme/big-70b") > 70e9 and d.params_source == "safetensors headers"
    shard_gets = {r["path"] for r in env.requests if "-of-" in r["path"] and r["method"] == "GET"}
    assert len(shard_gets) == 2
    assert list((tmp_path / "hf-cache").rglob("model.safetensors.index.json"))  # the index went to the test cache


def test_gated_model_with_and_without_token(env, monkeypatch):
    d = hub.model_detail("acme/gated-8b", available=2**40)
    assert d.gated == "manual" and d.params_source == "safetensors headers" and d.card.found
    monkeypatch.delenv("HF_TOKEN")
    hub.clear_cache()
    d = hub.model_detail("acme/gated-8b", available=2**40)
    assert d.params == _params_of("acme/gated-8b") and d.params_source == "Hub summary"
    assert any("behind the gate" in n for n in d.notes) and "behind the gate" in d.card.note
    assert d.card.meta.get("license") == "llama3.1"  # the Hub's cardData stands in for the unreadable README


def test_models_without_safetensors_and_capabilities(env):
    diffusion = hub.model_detail("acme/tiny-diffusion", available=2**40)
    assert diffusion.params is None and "No safetensors" in diffusion.notes[0]
    assert all(m.needed_bytes is None and m.fits is None for m in diffusion.memory)
    assert diffusion.capabilities == ("pipeline", "image") and not diffusion.card.found
    whisper = hub.model_detail("acme/whisper-small", available=2**40)
    assert whisper.capabilities == ("pipeline", "tokenizer", "speech")
    assert whisper.pipeline_task == "automatic-speech-recognition"
    bert = hub.model_detail("acme/sentiment-bert", available=2**40)
    assert bert.pipeline_task == "sentiment-analysis" and "chat" not in bert.capabilities


# ------------------------------------------------------------------------------------------------ errors


def test_not_found_private_and_bad_ids(env, monkeypatch):
    with pytest.raises(hub.HubNotFound, match="No model 'acme/missing'"):
        hub.model_detail("acme/missing")
    assert hub.model_detail("acme/private-model", available=2**40).private  # the token sees it
    monkeypatch.delenv("HF_TOKEN")
    hub.clear_cache()
    with pytest.raises(hub.HubNotFound, match="private and HF_TOKEN"):
        hub.model_detail("acme/private-model")
    for bad, message in (("https://huggingface.co/gpt2", "is a URL"), ("bad id!", "not a valid Hub id"),
                         ("", "Give a model id")):
        with pytest.raises(errors.InvalidInput, match=message):
            hub.model_detail(bad)


def test_rate_limit_fails_at_once(env):
    with pytest.raises(hub.HubRateLimited, match="429.*30 s"):
        hub.search_models("ratelimit")
    assert len(_queries(env, "/api/models")) == 1  # no back-off retries (huggingface_hub would retry 5 times)
    with pytest.raises(hub.HubRateLimited):
        hub.model_detail("acme/rate-limited")


def test_server_error_is_typed(env):
    with pytest.raises(hub.HubError, match="HTTP 500"):
        hub.search_models("boom")
    assert len(_queries(env, "/api/models")) == 1


def test_timeout_gives_up_before_the_hub_answers(env, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HUB_TIMEOUT_S", "0.5")
    start = time.monotonic()
    with pytest.raises(errors.HubUnreachable, match="did not answer within 0.5 s"):
        hub.search_models("slow")  # list_models sets no timeout of its own
    assert time.monotonic() - start < env.slow_s  # returned while the fake was still sleeping
    with pytest.raises(errors.HubUnreachable, match="did not answer"):
        hub.model_detail("acme/slow")


def test_wrong_token_is_refused_and_never_shown(env, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrongwrongwrong123")
    with pytest.raises(hub.HubAccessDenied, match="refused HF_TOKEN") as info:
        hub.search_models("chat")
    assert "hf_wrong" not in str(info.value)
    assert all("Bearer" not in str(r) for r in env.requests)


def test_secret_never_in_messages(env, monkeypatch):
    raised = []
    for call in (lambda: hub.model_detail("acme/missing"), lambda: hub.search_models("ratelimit"),
                 lambda: hub.dataset_detail("acme/missing-set")):
        with pytest.raises(errors.WorkbenchError) as info:
            call()
        raised.append(str(info.value))
    assert raised and all(SECRET_MARKER not in text for text in raised)


def test_offline_mode_makes_no_request(monkeypatch, fake, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", fake.base_url)  # HF_HUB_OFFLINE=1 stays, as in the whole suite
    fake.clear()
    hub.clear_cache()
    with pytest.raises(errors.HubUnreachable, match="Offline mode is on"):
        hub.search_models("chat")
    with pytest.raises(errors.HubUnreachable, match="Offline mode is on"):
        hub.dataset_rows("acme/reviews", config="default", split="train")
    assert fake.requests == []


def test_unreachable_hub_is_detected_quickly(env, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed}")
    with pytest.raises(errors.HubUnreachable, match="cannot be reached"):
        hub.search_models("chat")


def test_local_models_for_the_offline_state(monkeypatch, tmp_path):
    spec = next(s for s in registry.all_specs() if s.local and "/" in s.id)
    (tmp_path / "models" / spec.id).mkdir(parents=True)
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path / "models"))
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    (cache / "models--acme--cached-model" / "snapshots" / "abc").mkdir(parents=True)
    (cache / "models--acme--cached-model" / "snapshots" / "abc" / "config.json").write_text("{}")
    (cache / "models--acme--cached-model" / "refs").mkdir()
    (cache / "models--acme--cached-model" / "refs" / "main").write_text("abc")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    from huggingface_hub.utils import _cache_manager  # copied the constant when first imported (maybe earlier)

    monkeypatch.setattr(_cache_manager, "HF_HUB_CACHE", str(cache))
    local = hub.local_models()
    assert local[0] == hub.LocalModel(spec.id, "models dir")
    assert ("acme/cached-model", "HF cache") in [(m.id, m.where) for m in local]


# ------------------------------------------------------------------------------------------------ cache


def test_answers_are_cached_briefly_per_token(env, monkeypatch):
    first = hub.search_models("chat")
    again = hub.search_models("chat")
    assert not first.cached and again.cached and again.rows == first.rows
    assert len(_queries(env, "/api/models")) == 1
    monkeypatch.setenv("HF_TOKEN", SECRET_MARKER + "-other")  # another token may see other repositories
    with pytest.raises(hub.HubAccessDenied):
        hub.search_models("chat")
    monkeypatch.setenv("HF_TOKEN", SECRET_MARKER)
    monkeypatch.setenv("WORKBENCH_HUB_CACHE_S", "0")
    hub.clear_cache()
    hub.search_models("chat")
    hub.search_models("chat")
    assert len(_queries(env, "/api/models")) == 4


def test_ttl_cache_expires():
    cache = hub.TTLCache(max_items=2)
    cache.put(("a",), 1, 0.05)
    cache.put(("b",), 2, 60)
    cache.put(("c",), 3, 60)  # full: the oldest goes
    assert cache.get(("c",)) == (True, 3) and len(cache._items) == 2
    time.sleep(0.1)
    assert cache.get(("a",)) == (False, None)


# ------------------------------------------------------------------------------------------------ datasets, spaces


def test_dataset_detail_splits_features_first_rows(env):
    d = hub.dataset_detail("acme/reviews")
    assert [(s.config, s.split, s.rows) for s in d.splits] == [("default", "train", 25), ("default", "test", 12)]
    assert d.page.features == [("text", "string"), ("label", "class(negative, positive)")]
    assert len(d.page.rows) == 10 and d.page.rows[0] == {"text": "train review 0: it was awful.", "label": 0}
    assert d.page.total == 25 and (d.page.config, d.page.split) == ("default", "train")
    assert d.license == "mit" and d.tasks == ("text-classification",) and d.size == "n<1K"
    assert d.card.text.startswith("# Acme reviews") and "Fields" not in d.card.text
    assert {"/datasets-server/splits", "/datasets-server/first-rows"} <= set(env.paths())


def test_dataset_rows_page_through_a_split(env):
    page = hub.dataset_rows("acme/reviews", config="default", split="test", offset=10, length=10)
    assert page.offset == 10 and page.total == 12 and [r["text"][:14] for r in page.rows] == [
        "test review 10", "test review 11"]
    query = _queries(env, "/datasets-server/rows")[0]
    assert query["offset"] == ["10"] and query["length"] == ["10"] and query["split"] == ["test"]
    assert hub.dataset_rows("acme/reviews", config="default", split="test", offset=40).rows == []
    with pytest.raises(errors.InvalidInput, match="1 to 100 rows"):
        hub.dataset_rows("acme/reviews", config="default", split="test", length=101)
    with pytest.raises(errors.InvalidInput, match="can't be negative"):
        hub.dataset_rows("acme/reviews", config="default", split="test", offset=-1)
    with pytest.raises(hub.HubNotFound):
        hub.dataset_rows("acme/reviews", config="default", split="nope")


def test_dataset_configs_nested_features_and_no_viewer(env):
    d = hub.dataset_detail("acme/qa-pairs", config="fr")
    assert (d.page.config, d.page.split) == ("fr", "validation") and d.page.rows[0]["question"].startswith("[fr]")
    assert dict(d.page.features)["context"] == "{title: string, lines: list[string]}"
    with pytest.raises(errors.InvalidInput, match="no split 'de'.*en/validation"):
        hub.dataset_detail("acme/qa-pairs", config="de")
    none = hub.dataset_detail("acme/no-viewer")
    assert none.splits == [] and none.page is None and "not available" in none.viewer_error
    with pytest.raises(hub.HubNotFound, match="No dataset 'acme/missing-set'"):
        hub.dataset_detail("acme/missing-set")


def test_space_detail(env):
    d = hub.space_detail("acme/chat-demo")
    assert (d.sdk, d.sdk_version, d.hardware, d.stage) == ("gradio", "5.9.1", "cpu-basic", "RUNNING")
    assert d.url == f"{env.base_url}/spaces/acme/chat-demo" and d.app_url == "https://acme-chat-demo.hf.space"
    assert d.title == "Chat demo" and d.models == ("acme/chat-1b",) and d.license == "mit"
    sleeping = hub.space_detail("acme/docker-api")
    assert sleeping.hardware is None and sleeping.requested_hardware == "t4-small" and sleeping.stage == "SLEEPING"
    with pytest.raises(hub.HubNotFound, match="No Space"):
        hub.space_detail("acme/missing")


# ------------------------------------------------------------------------------------------------ pure helpers


def test_first_section_and_plain_markdown():
    body = ("<!-- badge -->\n[![ci](https://x/ci.svg)](https://x)\n\n# Title\n\n## Overview\n\nText <b>bold</b>.\n"
            "```\n# not a heading\n```\n\n## Next\nhidden")
    text = hub.first_section(body)
    assert text.startswith("[ci](https://x)") and "# not a heading" in text and "hidden" not in text
    assert "<b>" not in text and "Text bold." in text
    long = "# T\n\n" + "\n".join(f"line {i}" for i in range(200))
    assert hub.first_section(long).endswith("…")
    assert hub.first_section("```\ncode\n" + "x\n" * 100).endswith("```\n…")  # a fence cut short is closed
    assert hub.summarize("---\nlicense: [mit\n---\n# T\n\nok").text.endswith("ok")  # malformed YAML


def test_feature_types():
    assert hub.feature_type({"dtype": "int64", "_type": "Value"}) == "int64"
    assert hub.feature_type({"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"}) == "list[string]"
    assert hub.feature_type([{"dtype": "float32", "_type": "Value"}]) == "list[float32]"
    assert hub.feature_type({"_type": "Image"}) == "Image"
    names = {"names": [f"c{i}" for i in range(9)], "_type": "ClassLabel"}
    assert hub.feature_type(names) == "class(c0, c1, c2, c3, c4, c5, …)"
    assert hub.feature_type({"a": {"b": {"dtype": "x", "_type": "Value"}}}) == "{a: {b: x}}"
