from __future__ import annotations

import time

import httpx
import openai
import pytest
from fake_openai import LONG_TEXT, FakeOpenAI

KEY = "test-key"


@pytest.fixture
def server():
    fake = FakeOpenAI(api_key=KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=10) as c:
        yield c


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_urls(server):
    assert server.base_url == server.host_url + "/v1"
    assert server.host_url.startswith("http://127.0.0.1:")


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"fake-echo", "fake-long", "fake-500", "fake-slow", "fake-midstream-error"} <= ids


def test_non_streaming_echo(client):
    resp = client.chat.completions.create(model="fake-echo", messages=user("hello there world"))
    choice = resp.choices[0]
    assert choice.message.content == "echo: hello there world"
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert resp.usage.prompt_tokens == 3
    assert resp.usage.completion_tokens == 4
    assert resp.usage.total_tokens == 7


def test_system_message_recorded(client, server):
    messages = [{"role": "system", "content": "You are terse."}, *user("hi")]
    client.chat.completions.create(model="fake-echo", messages=messages)
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["body"]["messages"][0] == {"role": "system", "content": "You are terse."}


def test_streaming_incremental(client):
    stream = client.chat.completions.create(model="fake-long", messages=user("go"), stream=True)
    deltas, stamps, finish = [], [], None
    for chunk in stream:
        if chunk.choices:
            choice = chunk.choices[0]
            if choice.delta.content:
                deltas.append(choice.delta.content)
                stamps.append(time.monotonic())
            finish = choice.finish_reason or finish
    assert len(deltas) == 60
    assert "".join(deltas) == LONG_TEXT
    assert stamps[-1] - stamps[0] > 0.05
    assert finish == "stop"


def test_streaming_first_chunk_has_role(client):
    chunks = list(client.chat.completions.create(model="fake-echo", messages=user("a b"), stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b"


def test_streaming_include_usage(client):
    stream = client.chat.completions.create(
        model="fake-long", messages=user("one two"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    usage_chunks = [c for c in chunks if not c.choices]
    assert len(usage_chunks) == 1 and chunks[-1] is usage_chunks[0]
    usage = usage_chunks[0].usage
    assert usage.completion_tokens == 60
    assert usage.prompt_tokens == 2
    assert usage.total_tokens == 62


def test_max_tokens_truncates(client):
    resp = client.chat.completions.create(model="fake-long", messages=user("x"), max_tokens=5)
    assert resp.choices[0].message.content == "w0 w1 w2 w3 w4"
    assert resp.choices[0].finish_reason == "length"
    stream = client.chat.completions.create(
        model="fake-long", messages=user("x"), max_completion_tokens=3, stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "w0 w1 w2"
    assert chunks[-1].choices[0].finish_reason == "length"


def test_wrong_key_authentication_error(server):
    secret = "sk-wrong-secret-123"
    bad = openai.OpenAI(base_url=server.base_url, api_key=secret, max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="fake-echo", messages=user("hi"))
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    assert secret not in str(info.value)


def test_no_auth_when_key_is_none():
    with FakeOpenAI(api_key=None) as fake:
        with openai.OpenAI(base_url=fake.base_url, api_key="anything", max_retries=0) as c:
            resp = c.chat.completions.create(model="fake-echo", messages=user("ollama"))
        assert resp.choices[0].message.content == "echo: ollama"


def test_unknown_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-nope", messages=user("hi"))
    assert info.value.code == "model_not_found"
    assert "gpt-nope" in str(info.value)


def test_server_error(client):
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="fake-500", messages=user("hi"))


def test_rate_limit(client):
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fake-429", messages=user("hi"), stream=True)


def test_context_length(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fake-context", messages=user("hi"))
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length" in str(info.value)


def test_midstream_error(client):
    received = []
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        for chunk in client.chat.completions.create(model="fake-midstream-error", messages=user("hi"), stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert received == ["w0 ", "w1 ", "w2 "]


def test_midstream_error_non_streaming(client):
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        client.chat.completions.create(model="fake-midstream-error", messages=user("hi"))


def test_garbage(client):
    resp = client.chat.completions.create(model="fake-garbage", messages=user("hi"))
    assert resp.choices[0].message.content == "}{ not json at all ]]"


def test_slow_stream_times_out(server):
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.2) as c:
        with pytest.raises((openai.APITimeoutError, httpx.TimeoutException)):
            c.chat.completions.create(model="fake-slow", messages=user("hi"))
        with pytest.raises((openai.APIError, httpx.TimeoutException)):
            list(c.chat.completions.create(model="fake-slow", messages=user("hi"), stream=True))


def test_scripted_replies(client, server):
    server.script("my-model", "first reply", "second  reply\nwith newline", "last")
    texts = [
        client.chat.completions.create(model="my-model", messages=user("q")).choices[0].message.content
        for _ in range(4)
    ]
    assert texts == ["first reply", "second  reply\nwith newline", "last", "last"]
    server.script("my-model", "streamed  text\n here ")
    stream = client.chat.completions.create(model="my-model", messages=user("q"), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "streamed  text\n here "


def test_transcription(client, server):
    audio = b"RIFF" + bytes(range(256)) * 4
    result = client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", audio, "audio/wav"))
    assert result.text == f"fake transcript of {len(audio)} bytes"
    assert server.requests[-1]["form"]["model"] == "whisper-1"
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", audio, "audio/wav"), response_format="verbose_json"
    )
    assert verbose.language == "en"
    assert verbose.duration == 1.0
    assert verbose.segments[0].text == "fake transcript"


def test_transcription_requires_key(server):
    bad = openai.OpenAI(base_url=server.base_url, api_key="nope", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError):
        bad.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"abc", "audio/wav"))


def test_unknown_path_404(server):
    resp = httpx.post(server.base_url + "/embeddings", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status_code == 404
    assert "error" in resp.json()


def _chunks(client, model: str, **kw) -> list:
    return list(client.chat.completions.create(model=model, messages=user("q"), stream=True, **kw))


def test_drop_ends_the_body_without_finish_reason_or_done(client):
    chunks = _chunks(client, "fake-drop")  # the openai client takes it as a finished stream
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "w0 w1 w2 "
    assert all(c.choices[0].finish_reason is None for c in chunks)


def test_runaway_ignores_max_tokens(client):
    stream = client.chat.completions.create(model="fake-runaway", messages=user("q"), stream=True, max_tokens=3)
    with stream:
        text = "".join(next(iter(stream)).choices[0].delta.content for _ in range(10))
    assert len(text.split()) > 1000


def test_hang_sends_one_word_then_nothing(server):
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=0.5) as c:
        stream = c.chat.completions.create(model="fake-hang", messages=user("q"), stream=True)
        first = next(iter(stream))
        assert first.choices[0].delta.content == "w0 "
        with pytest.raises(openai.APITimeoutError):
            next(iter(stream))


def test_trickle_keeps_each_read_short(server, client):
    server.trickle_gap, server.trickle_s = 0.01, 0.2
    words = "".join(c.choices[0].delta.content or "" for c in _chunks(client, "fake-trickle")).split()
    assert words == [f"t{i}" for i in range(20)]


def test_fault_after_good_streams_and_cleared(client, server):
    server.script("flaky", "all good here")
    server.fault("flaky", "drop", after=1)
    finish = [[c.choices[0].finish_reason for c in _chunks(client, "flaky") if c.choices][-1] for _ in range(3)]
    assert finish == ["stop", None, None]
    reply = client.chat.completions.create(model="flaky", messages=user("q"))  # not streamed: not affected
    assert reply.choices[0].message.content == "all good here"
    server.fault("flaky", None)
    assert [c.choices[0].finish_reason for c in _chunks(client, "flaky") if c.choices][-1] == "stop"
    with pytest.raises(ValueError, match="unknown fault"):
        server.fault("flaky", "explode")
