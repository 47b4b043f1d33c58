"""Loading: Hub errors mapped to actionable messages; offline failures are fast and typed."""

from __future__ import annotations

import httpx2
import pytest
from huggingface_hub import errors as hub_errors

from engines import errors, loading
from engines.config import Settings
from engines.refs import parse_ref

REF = parse_ref("meta-llama/Llama-3.1-8B-Instruct", Settings())


def _response(status):
    return httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/x/resolve/main/config.json"))


def _wrapped(inner):
    try:
        try:
            raise inner
        except Exception as exc:
            raise OSError("transformers wrapper") from exc
    except OSError as outer:
        return outer


def test_gated_repo_says_accept_license_and_set_token():
    err = loading.map_load_error(_wrapped(hub_errors.GatedRepoError("gated", response=_response(403))), REF)
    assert isinstance(err, errors.GatedModel)
    assert "Accept its license" in str(err) and "HF_TOKEN" in str(err)


def test_unauthorized_status_maps_to_gated():
    err = loading.map_load_error(_wrapped(hub_errors.HfHubHTTPError("401", response=_response(401))), REF)
    assert isinstance(err, errors.GatedModel) and "401" in str(err)


def test_not_found_and_offline():
    nf = loading.map_load_error(_wrapped(hub_errors.RepositoryNotFoundError("nf", response=_response(404))), REF)
    assert isinstance(nf, errors.ModelNotFound)
    off = loading.map_load_error(_wrapped(hub_errors.LocalEntryNotFoundError("offline")), REF)
    assert isinstance(off, errors.HubUnreachable) and "WORKBENCH_MODELS_DIR" in str(off)


def test_offline_with_a_models_folder_set_says_where_the_id_was_looked_for(monkeypatch, tmp_path):
    # with WORKBENCH_MODELS_DIR set, the message still said "set WORKBENCH_MODELS_DIR to a directory of downloaded
    # models": advice already taken, and not where the id was looked for
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path))
    off = str(loading.map_load_error(_wrapped(hub_errors.LocalEntryNotFoundError("offline")), REF))
    assert "set WORKBENCH_MODELS_DIR" not in off and str(tmp_path) not in off  # no server path either
    assert f"models folder (WORKBENCH_MODELS_DIR) has no {REF.name}/" in off


def test_oom_and_unknown():
    oom = loading.map_load_error(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), REF)
    assert isinstance(oom, errors.OutOfMemory)
    other = loading.map_load_error(ValueError("weird\nsecond line"), REF)
    assert isinstance(other, errors.ModelLoadError) and "second line" not in str(other)


def test_hub_unreachable_is_typed_without_retries(monkeypatch, fresh_cache):
    from app_helpers import free_port

    from engines.tokenizers import tokenize

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(loading._probe, "ok", None)
    assert loading.hub_reachable() is False
    with pytest.raises(errors.HubUnreachable):
        tokenize("someone-else/some-model", "hi")
    assert len(fresh_cache) == 0


def test_local_folder_without_a_model(tmp_path, fresh_cache):
    from engines.tokenizers import tokenize

    (tmp_path / "readme.txt").write_text("not a model")
    with pytest.raises(errors.WorkbenchError) as info:
        tokenize(str(tmp_path), "hi")
    assert not isinstance(info.value, errors.HubUnreachable)
    assert len(fresh_cache) == 0


def test_param_budget_reads_safetensors_metadata(monkeypatch):
    import huggingface_hub

    class Meta:
        def __init__(self, count):
            self.parameter_count = {"BF16": count}

    sizes = {"big/model": 70_600_000_000, "small/model": 1_200_000_000}
    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", lambda repo: Meta(sizes[repo]))
    monkeypatch.setattr(loading, "_budget_checked", {})
    budget = Settings(max_params_b=10.0)
    with pytest.raises(errors.ModelNotAllowed, match="70.6B parameters.*up to 10B"):
        loading.check_param_budget(parse_ref("big/model", Settings()), budget)
    loading.check_param_budget(parse_ref("small/model", Settings()), budget)
    loading.check_param_budget(REF, budget)  # catalog models are sized already: no metadata call
    loading.check_param_budget(parse_ref("big/model", Settings()), Settings())  # no budget locally

    def missing(repo):
        raise hub_errors.NotASafetensorsRepoError("no safetensors")

    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", missing)
    with pytest.raises(errors.ModelNotAllowed, match="can't be checked"):
        loading.check_param_budget(parse_ref("pickle/model", Settings()), budget)


def _copy_without_weights(source, target):
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return target


def test_bad_local_model_folders_name_no_server_path(tmp_path, fresh_cache, tiny):
    # regression: "'my-model' could not be loaded: It looks like the config file at '/srv/…/my-model/config.json'
    # is not a valid JSON file" — a server path in the message (and the models dir's, for a catalog id)
    broken = tmp_path / "srv" / "models" / "my-model"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{bad")
    no_weights = _copy_without_weights(tiny["lm-llama"], tmp_path / "srv" / "models" / "no-weights")
    messages = []
    for folder in (broken, no_weights):
        with pytest.raises(errors.WorkbenchError) as info:
            loading.load_causal_lm(parse_ref(str(folder)), "auto")
        messages.append(str(info.value))
    assert "'my-model/config.json' is not a valid JSON file" in messages[0]
    assert messages[1].startswith("'no-weights' ") and "no-weights" in messages[1][14:], messages[1]
    for message in messages:
        assert str(tmp_path) not in message and "/srv/models" not in message, message


def test_hide_paths_keeps_urls_and_names():
    from engines.redact import hide_paths

    assert hide_paths("at '/srv/m/x/config.json'", {"/srv/m/x": "x"}) == "at 'x/config.json'"
    assert hide_paths("in directory /root/.cache/hub/snap/abc.") == "in directory …/abc."
    kept = "see https://huggingface.co/org/name/blob/main/x and bf16/fp16 or a / b"
    assert hide_paths(kept) == kept
