"""Models without a causal-LM / chat head are refused by every chat path, with what they are (issue 27, items 2-3)."""

from __future__ import annotations

import pytest
from tiny_nonchat import nonchat  # noqa: F401  (fixture)

from engines import errors
from engines.model_kind import classify


def test_embedder_and_whisper_cannot_chat(nonchat, fresh_cache):  # noqa: F811
    from engines.chat import stream_chat

    messages = [{"role": "user", "content": "Hello"}]
    with pytest.raises(errors.NotAChatModel) as embed:
        list(stream_chat(str(nonchat["embedder"]), messages, max_new_tokens=8))
    assert "BertModel" in str(embed.value) and "sentence embedder" in str(embed.value)
    assert "feature extraction" in str(embed.value) and "/" + "root" not in str(embed.value)
    with pytest.raises(errors.NotAChatModel) as speech:
        list(stream_chat(str(nonchat["whisper"]), messages, max_new_tokens=8))
    assert "speech-recognition model (WhisperForConditionalGeneration)" in str(speech.value)
    assert not fresh_cache.keys() or all("causal-lm" not in str(k) for k in fresh_cache.keys())


def test_next_token_view_refuses_an_embedder(nonchat, fresh_cache):  # noqa: F811
    from engines.next_token import next_token_table

    with pytest.raises(errors.NotAChatModel, match="no causal language-model head"):
        list(next_token_table(str(nonchat["embedder"]), [{"role": "user", "content": "Hi"}], steps=2))


def test_minutes_with_a_speech_model_says_so(nonchat, fresh_cache):  # noqa: F811
    from engines.minutes import stream_minutes

    with pytest.raises(errors.NotAChatModel) as info:
        list(stream_minutes("[00:00:01] Alice: we ship on Friday.", model=str(nonchat["whisper"]), max_new_tokens=64))
    text = str(info.value)
    assert text.startswith("The minutes model 'whisper-tiny' is a speech-recognition model")
    assert "cannot write minutes" in text and "IndexError" not in text


@pytest.mark.parametrize(("config", "can_chat", "kind"), [
    ({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}, True, ""),
    ({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3"}, True, ""),  # image-text-to-text
    ({"model_type": "qwen2"}, True, ""),  # no architectures saved: judged by the type
    ({"architectures": ["BertModel"], "model_type": "bert"}, False, "sentence embedder"),
    ({"model_type": "bert"}, False, "fill-mask"),
    ({"architectures": ["BertForSequenceClassification"], "model_type": "bert"}, False, "text classifier"),
    ({"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "is_encoder_decoder": True}, False,
     "seq2seq"),
    ({"architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper", "is_encoder_decoder": True},
     False, "speech-recognition"),
])
def test_classify_reads_the_saved_head(config, can_chat, kind):
    result = classify(config)
    assert result.can_chat is can_chat and kind in result.kind
