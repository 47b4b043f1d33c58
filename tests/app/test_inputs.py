"""The one input policy, end to end: every endpoint of the served app (found through ``view_api``) refuses an
over-long text with the app's own message, and malformed values of every kind (wrong types, None, lists where a
string goes, lone surrogates, deep nesting, missing arguments, unknown endpoints) get a specific error — never
Gradio's generic "upstream app raised an exception" or a traceback — while the app keeps serving.

Values go over raw HTTP (``/gradio_api/call/<name>``), as any client could send them.
"""

from __future__ import annotations

import json
import random

import httpx
import pytest
from app_helpers import SECRET_MARKER, serve_app

CASES_PER_ENDPOINT = 5
LIMIT = 2_000  # WORKBENCH_MAX_INPUT_CHARS of this app: small, so over-long payloads stay small
GENERIC = ("upstream", "Traceback", "Something went wrong")


@pytest.fixture(scope="module")
def policy_app(tmp_path_factory, models_dir, fake_server):
    log = tmp_path_factory.mktemp("policy") / "app.log"
    # short generations (WORKBENCH_MAX_NEW_TOKENS): a malformed value that still runs a model finishes quickly
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "WORKBENCH_MAX_INPUT_CHARS": str(LIMIT),
           "WORKBENCH_MAX_NEW_TOKENS": "32",
           "OPENAI_BASE_URL": fake_server.base_url, "OPENAI_API_KEY": SECRET_MARKER}
    proc, url = serve_app(env, log)
    yield url, log
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def endpoints(policy_app) -> dict:
    from gradio_client import Client

    return Client(policy_app[0], verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]


def call(url: str, name: str, data) -> tuple[str, object]:
    """POST raw JSON (surrogates escaped) and read the event stream: ("complete" | "error" | "http <code>", data)."""
    body = json.dumps({"data": data}, ensure_ascii=True)
    r = httpx.post(f"{url}gradio_api/call/{name.lstrip('/')}", content=body,
                   headers={"content-type": "application/json"}, timeout=60)
    if r.status_code != 200:
        return f"http {r.status_code}", r.text
    with httpx.stream("GET", f"{url}gradio_api/call/{name.lstrip('/')}/{r.json()['event_id']}", timeout=600) as s:
        event, payload = None, None
        for line in s.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in ("complete", "error"):
                payload = json.loads(line[6:])
                return event, payload
    return str(event), payload


FILES = ("File", "Audio", "Image", "Video", "Gallery")


def defaults(params: list[dict]) -> list:
    """A valid-looking argument list: each parameter's default, else its example (no file: Gradio's example files
    are URLs, which this app refuses)."""
    return [None if p["component"] in FILES else p["parameter_default"] if p.get("parameter_has_default")
            else p.get("example_input") for p in params]


def text_params(params: list[dict]) -> list[int]:
    return [i for i, p in enumerate(params) if p["type"].get("type") == "string"
            and p["component"] in ("Textbox", "Code", "Dropdown", "Radio")]


def test_every_text_parameter_refuses_an_overlong_value(policy_app, endpoints):
    url, _ = policy_app
    checked, problems = 0, []
    for name, info in endpoints.items():
        params = info["parameters"]
        for i in text_params(params):
            data = defaults(params)
            data[i] = "x" * 5_000  # over the app's 2,000 and over the 4,096 a reference may hold
            event, payload = call(url, name, data)
            checked += 1
            message = payload.get("error", "") if isinstance(payload, dict) else str(payload)
            if event != "error" or "over the limit" not in message:
                problems.append(f"{name}.{params[i]['parameter_name']}: {event} {str(payload)[:160]}")
    assert checked >= 30 and not problems, "\n".join(problems)
    assert call(url, "status", [])[0] == "complete"


def _bad_values(rng: random.Random) -> list:
    deep = "[" * 50_000
    return [None, "abc", "\ud800", [], [1, 2], {"a": 1}, True, -1e300, 1e300, "", deep, [deep], {"role": deep},
            "x" * 100, [None], rng.random(), [["a"] * 3], {"path": "https://example.com/a.wav", "meta": {}}]


@pytest.mark.timeout(900)
def test_malformed_values_get_specific_errors_and_the_app_keeps_serving(policy_app, endpoints):
    url, _ = policy_app
    rng = random.Random(20261201)
    generic = []
    for name, info in endpoints.items():
        params = info["parameters"]
        cases = [[]] if params else []  # no arguments at all
        for _ in range(CASES_PER_ENDPOINT if params else 0):  # seeded: the same cases every run
            data = defaults(params)
            data[rng.randrange(len(params))] = rng.choice(_bad_values(rng))
            cases.append(data)
        for data in cases:
            event, payload = call(url, name, data)
            message = payload.get("error") if isinstance(payload, dict) else None
            if event == "error" and (not message or any(g in message for g in GENERIC)):
                generic.append(f"{name} {json.dumps(data, ensure_ascii=True)[:120]} -> {payload}")
            elif event.startswith("http 5"):
                generic.append(f"{name} -> {event}")
    assert not generic, "\n".join(generic[:30])
    assert call(url, "status", [])[0] == "complete"


def test_unknown_endpoints_answer_404_with_a_hint(policy_app):
    url, _ = policy_app
    for path, body in [("gradio_api/call/no_such_api", {"data": []}), ("gradio_api/run/no_such_api", {"data": []}),
                       ("gradio_api/queue/join", {"data": [], "fn_index": 99_999, "session_hash": "x"})]:
        r = httpx.post(url + path, json=body, timeout=30)
        assert r.status_code == 404 and "/gradio_api/info" in r.text, (path, r.status_code, r.text[:200])


def test_file_inputs_refuse_a_path_on_the_server(policy_app, endpoints):
    """A file input over the API must hold an upload: a server path (absolute, relative, or climbing out of the
    upload folder) is a clear error, never ``{"error": null}`` nor the file's content."""
    import tempfile

    url, _ = policy_app
    paths = ["/etc/hostname", "app.py", f"{tempfile.gettempdir()}/gradio/../../etc/hostname"]
    checked, problems = 0, []
    for name, info in endpoints.items():
        params = info["parameters"]
        for i, p in enumerate(params):
            if p["component"] not in FILES:
                continue
            for path in paths:
                data = defaults(params)
                value = {"path": path, "meta": {"_type": "gradio.FileData"}}
                data[i] = [value] if "array" in json.dumps(p["type"])[:40] else value
                event, payload = call(url, name, data)
                checked += 1
                message = payload.get("error") if isinstance(payload, dict) else None
                if event != "error" or not message or "not a path on the server" not in message:
                    problems.append(f"{name}.{p['parameter_name']} {path}: {event} {str(payload)[:160]}")
    assert checked >= 7 * len(paths) and not problems, "\n".join(problems)
