"""Deploy and share: Space front matter, offline models directory + prefetch, authenticated sharing, health."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import app
from engines import prefetch, registry

ROOT = Path(__file__).resolve().parents[2]
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
HARDWARE = {"cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4", "l40sx8",
            "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4", "a100-large", "h100", "h100x8",
            "zero-a10g", "v5e-1x1", "v5e-2x2", "v5e-2x4"}
# Spaces configuration reference: field → type (and checks below for allowed values)
FIELDS = {"title": str, "emoji": str, "colorFrom": str, "colorTo": str, "sdk": str, "python_version": str,
          "sdk_version": str, "suggested_hardware": str, "suggested_storage": str, "app_file": str, "app_port": int,
          "base_path": str, "fullWidth": bool, "header": str, "short_description": str, "models": list,
          "datasets": list, "tags": list, "thumbnail": str, "pinned": bool, "hf_oauth": bool,
          "hf_oauth_scopes": list, "hf_oauth_expiration_minutes": int, "hf_oauth_authorized_org": (str, list),
          "disable_embedding": bool, "startup_duration_timeout": str, "custom_headers": dict,
          "preload_from_hub": list, "license": str}


@pytest.fixture(scope="module")
def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README must start with YAML front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_fields_follow_the_space_reference(front_matter):
    for key, value in front_matter.items():
        assert key in FIELDS, f"unknown Space config field {key}"
        assert isinstance(value, FIELDS[key]), f"{key} should be {FIELDS[key]}"
    assert front_matter["sdk"] == "gradio" and front_matter["app_file"] == "app.py"
    assert {front_matter["colorFrom"], front_matter["colorTo"]} <= COLORS
    assert front_matter["suggested_hardware"] in HARDWARE
    assert len(front_matter["short_description"]) <= 60
    assert re.fullmatch(r"3\.\d+(\.\d+)?", front_matter["python_version"])
    assert re.fullmatch(r"\d+(\.\d+)?[smh]", front_matter["startup_duration_timeout"])
    pinned = re.search(r"^gradio(?:\[mcp\])?==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert front_matter["sdk_version"] == pinned


def test_models_and_preloads_come_from_the_catalog(front_matter):
    models = front_matter["models"]
    assert all(registry.get(m) is not None for m in models)
    defaults = {v for v in registry.DEFAULTS.values() if registry.get(v).local}
    assert defaults <= set(models), defaults - set(models)
    for entry in front_matter["preload_from_hub"]:
        repo = entry.split()[0]
        spec = registry.get(repo)
        assert spec is not None, repo
        assert not spec.gated, f"{repo} is gated: a Space build cannot preload it"
        assert (spec.params_b or 0) <= 2, f"{repo} is too big to preload on a Space's disk"


def test_packages_txt_has_what_the_tabs_need():
    packages = set((ROOT / "packages.txt").read_text().split())
    assert {"ffmpeg", "g++", "bubblewrap"} <= packages


class FakeApi:
    def __init__(self, gated=()):
        self.gated = set(gated)

    def model_info(self, repo_id, files_metadata=False, token=None):
        class Sibling:
            def __init__(self, name, size):
                self.rfilename, self.size = name, size

        class Info:
            siblings = [Sibling("model.safetensors", 2**30), Sibling("original/consolidated.pth", 2**33),
                        Sibling("config.json", 100)]
            gated = repo_id in self.gated

        return Info()


def test_prefetch_downloads_into_org_name_and_skips_gated(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    calls = []

    def download(repo_id, local_dir, ignore_patterns, token):
        calls.append(repo_id)
        Path(local_dir).mkdir(parents=True)
        (Path(local_dir) / "config.json").write_text("{}")

    ok = prefetch.prefetch_one("Qwen/Qwen2.5-0.5B-Instruct", tmp_path, api=FakeApi(), download=download)
    assert ok.status == "downloaded" and ok.bytes == 2**30 + 100  # .pth duplicates not counted
    assert (tmp_path / "Qwen/Qwen2.5-0.5B-Instruct/config.json").exists()
    gated = prefetch.prefetch_one("meta-llama/Llama-3.1-8B-Instruct", tmp_path, api=FakeApi(), download=download)
    assert gated.status == "skipped" and "HF_TOKEN" in gated.detail
    assert calls == ["Qwen/Qwen2.5-0.5B-Instruct"]

    def broken(**kwargs):
        raise OSError("No space left on device")

    failed = prefetch.prefetch_one("Qwen/Qwen2.5-1.5B-Instruct", tmp_path, api=FakeApi(), download=broken)
    assert failed.status == "failed" and "No space left" in failed.detail


def test_prefetch_cli_rejects_unknown_ids(tmp_path, capsys):
    with pytest.raises(SystemExit):
        prefetch.main(["--dir", str(tmp_path), "someone/unknown"])
    assert "not in the catalog" in capsys.readouterr().err
    assert prefetch.main(["--list"]) == 0


def test_share_requires_credentials():
    with pytest.raises(SystemExit):
        app.parse_args(["--share"])
    with pytest.raises(SystemExit):
        app.parse_args(["--auth", "nopassword"])
    assert app.parse_args(["--share", "--auth", "a:b"]).credentials == [("a", "b")]
    assert app.parse_args(["--share", "--share-without-auth"]).share
    assert app.credentials("alice:pa:ss", None, None) == [("alice", "pa:ss")]


def test_logins_come_from_the_environment_or_a_file_not_only_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_AUTH", "alice:one,bob:two")
    assert app.parse_args([]).credentials == [("alice", "one"), ("bob", "two")]
    monkeypatch.delenv("WORKBENCH_AUTH")
    auth_file = tmp_path / "logins.txt"
    auth_file.write_text("carol:three\n\n")
    assert app.parse_args(["--auth-file", str(auth_file)]).credentials == [("carol", "three")]
    with pytest.raises(SystemExit):
        app.parse_args(["--auth-file", str(tmp_path / "missing.txt")])


def test_warns_when_reachable_without_a_login_or_with_a_password_in_argv(monkeypatch):
    monkeypatch.delenv("WORKBENCH_AUTH", raising=False)
    assert app.warnings_for(app.parse_args(["--host", "127.0.0.1"])) == []
    open_host = app.warnings_for(app.parse_args(["--host", "0.0.0.0"]))
    assert len(open_host) == 1 and "without a login" in open_host[0] and "0.0.0.0" in open_host[0]
    argv = app.warnings_for(app.parse_args(["--host", "0.0.0.0", "--auth", "a:b"]))
    assert len(argv) == 1 and "process list" in argv[0]


@pytest.mark.slow  # serves its own app
def test_login_required_when_auth_is_set(tmp_path, models_dir):
    import urllib.error
    import urllib.request

    from app_helpers import serve_app
    from gradio_client import Client

    proc, url = serve_app({"WORKBENCH_AUTH": "alice:s3cret-pass", "WORKBENCH_MODELS_DIR": str(models_dir),
                           "WORKBENCH_LOGIN_ATTEMPTS": "3"}, tmp_path / "auth.log")
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "gradio_api/info", timeout=10)
        assert info.value.code == 401
        with pytest.raises(Exception, match="credentials"):
            Client(url, verbose=False)
        client = Client(url, auth=("alice", "s3cret-pass"), verbose=False)
        assert "Hub" in client.predict(api_name="/status")
        # failed logins are throttled per client: after 3, even the right password waits
        import httpx

        for _ in range(3):
            assert httpx.post(url + "login", data={"username": "alice", "password": "wrong"}).status_code == 400
        blocked = httpx.post(url + "login", data={"username": "alice", "password": "s3cret-pass"})
        assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    finally:
        proc.terminate()
        proc.wait(10)
    assert "s3cret-pass" not in (tmp_path / "auth.log").read_text()


def test_status_shows_offline_local_models_and_free_memory(client):
    status = client.predict(api_name="/status")
    assert "Hub offline" in status and "meta-llama/Llama-3.1-8B-Instruct" in status  # in the expandable list
    assert "/tmp" not in status and "models0" not in status  # names, never server paths
    client.predict(["meta-llama/Llama-3.1-8B-Instruct"], "load me", True, api_name="/tokenize")
    loaded = client.predict(api_name="/status").split("<b>Loaded</b>")[1]
    assert "tokenizer" in loaded
    after = client.predict(api_name="/free_memory")
    assert " 0 loaded" in after
