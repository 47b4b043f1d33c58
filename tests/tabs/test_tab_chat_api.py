"""The Chat tab's ``chat`` endpoint through gradio_client against the served app (fake OpenAI server)."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError


def test_chat_endpoint_keeps_the_history_across_turns(client, fake_server):
    fake_server.respond("chat-served", lambda messages: " | ".join(m["content"] for m in messages))
    answer, history = client.predict("My name is Ada.", [], "openai:chat-served", "Be brief.", 64, 0.0,
                                     api_name="/chat")
    assert answer == "Be brief. | My name is Ada."
    answer, history = client.predict("What is my name?", history, "openai:chat-served", "Be brief.", 64, 0.0,
                                     api_name="/chat")
    assert answer == "Be brief. | My name is Ada. | Be brief. | My name is Ada. | What is my name?"
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user", "assistant"]
    assert history[-1]["content"] == answer


def test_chat_endpoint_refuses_bad_history_and_empty_message(client):
    with pytest.raises(AppError, match="history item 1"):
        client.predict("Hi", [{"role": "wizard", "content": 1}], "openai:chat-served", "", 64, 0.0, api_name="/chat")
    with pytest.raises(AppError, match="empty"):
        client.predict("  ", [], "openai:chat-served", "", 64, 0.0, api_name="/chat")
