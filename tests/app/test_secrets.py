"""Secrets never leak. The served app's whole log is also checked when the session finishes (conftest's
``pytest_sessionfinish``), so the check covers every test's traffic whatever order the tests run in.

OPENAI_API_KEY and HF_TOKEN hold SECRET_MARKER during the whole suite (conftest). This greps the served app's
whole output and log, API responses (errors included), engine messages, and child process environments.
"""

from __future__ import annotations

import json
import logging

import pytest
from app_helpers import SECRET_MARKER
from gradio_client.exceptions import AppError


def test_marker_is_set_for_the_suite():
    import os

    assert os.environ["OPENAI_API_KEY"] == SECRET_MARKER and os.environ["HF_TOKEN"] == SECRET_MARKER


def test_api_responses_never_carry_the_key(client):
    answers = []
    for args, api in [
        ((["openai:fake-500", "openai:no-such-model", "hf:fake-echo"], "sys", "hi", 8, 0.0, "auto", True),
         "/compare"),
        ((["openai:gpt-4o"], "hi", True), "/tokenize"),
        (("openai:fake-500", "", "hi", 4, 3, 0.0), "/next_tokens"),
        (("import os; print(dict(os.environ))", 1, 10), "/run_python"),
    ]:
        try:
            answers.append(json.dumps(client.predict(*args, api_name=api), default=str))
        except AppError as exc:
            answers.append(str(exc))
    assert answers and not any(SECRET_MARKER in a for a in answers)


def test_served_app_output_and_log_are_clean(app_server, client):
    client.predict(api_name="/status")
    _, log_path = app_server
    text = log_path.read_text(errors="replace")
    assert len(text) > 1000  # the app did log this session's traffic
    assert SECRET_MARKER not in text


def test_child_processes_get_no_secrets():
    from engines import sandbox, speech

    result = sandbox.run_python("import os, json; print(json.dumps(dict(os.environ)))")
    assert result.exit_code == 0, result.stderr
    env = json.loads(result.stdout)
    assert SECRET_MARKER not in result.stdout and not {"OPENAI_API_KEY", "HF_TOKEN"} & set(env)
    cpp = sandbox.compile_and_run_cpp('#include <cstdlib>\n#include <cstdio>\nint main(){const char* k = '
                                      'std::getenv("OPENAI_API_KEY"); std::puts(k ? k : "none");}')
    assert cpp.stdout.strip() == "none"
    assert SECRET_MARKER not in json.dumps(speech._child_env())


def test_logs_are_redacted_tracebacks_included(caplog):
    from engines.redact import RedactingFilter

    logger = logging.getLogger("workbench.test")
    caplog.handler.addFilter(RedactingFilter())
    try:
        raise RuntimeError(f"upstream said: bad key {SECRET_MARKER}")
    except RuntimeError:
        logger.exception("call failed with key %s", SECRET_MARKER)
    output = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "call failed" in output and "<OPENAI_API_KEY>" in output
    assert SECRET_MARKER not in output


@pytest.mark.parametrize("text", [f"Bearer {SECRET_MARKER}", "key sk-abcdefghijklmnop1234", "hf_abcdefghijklmnop"])
def test_redact_masks_values_and_key_shapes(text):
    from engines.redact import redact

    out = redact(text)
    assert SECRET_MARKER not in out and "sk-abcdefghij" not in out and "hf_abcdefghij" not in out
