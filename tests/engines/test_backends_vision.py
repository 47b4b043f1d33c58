"""A local vision-language model sees the images attached in the chat: capabilities come from config.json alone, the
processor's chat template inserts the image tokens, and the reply streams with stats (a tiny random LLaVA built
offline by ``tests/support/tiny_vlm.py``: gibberish text, real shapes)."""

from __future__ import annotations

import pytest
from tiny_vlm import IMAGE_TOKENS, build_tiny_vlm

from engines import errors
from engines.backends import registry
from engines.chat import stream_chat
from engines.loading import vlm_cache_key


@pytest.fixture(scope="module")
def vlm():
    return build_tiny_vlm()


@pytest.fixture
def image(tmp_path):
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(path)
    return path


def _ask(image=None, text="What is in the picture?"):
    parts = [{"type": "text", "text": text}] + ([{"type": "image", "path": str(image)}] if image else [])
    return [{"role": "user", "content": parts}]


def _run(model, messages, **kw):
    chunks = list(stream_chat(str(model), messages, max_new_tokens=6, **kw))
    assert chunks[-1].stats is not None and all(c.stats is None for c in chunks[:-1])
    return chunks, chunks[-1].stats


def test_capabilities_say_vision_for_an_image_text_to_text_model_only(vlm, tiny):
    caps = registry.capabilities(str(vlm))
    assert caps.vision and caps.local and caps.stream
    plain = registry.capabilities(str(tiny["lm-llama"]))
    assert not plain.vision and plain.tools


def test_an_image_reaches_the_model_and_the_reply_streams_with_stats(vlm, image, fresh_cache, monkeypatch):
    from transformers.models.llava import modeling_llava

    seen = []
    encode = modeling_llava.LlavaModel.get_image_features

    def spy(self, pixel_values, *args, **kwargs):
        seen.append(tuple(pixel_values.shape))
        return encode(self, pixel_values, *args, **kwargs)

    monkeypatch.setattr(modeling_llava.LlavaModel, "get_image_features", spy)
    chunks, stats = _run(vlm, _ask(image))
    assert seen and seen[0] == (1, 3, 32, 32)  # the pixels went through the vision tower
    deltas = [c.text for c in chunks[:-1] if c.text]
    assert deltas and all(isinstance(t, str) for t in deltas)
    assert 1 <= stats.tokens <= 6 and stats.tokens_per_s > 0 and stats.ttft_s >= 0
    assert stats.device == "cpu" and stats.quantization == "fp32" and stats.backend == "transformers"
    assert stats.context_window == 512 and not stats.cache_hit
    key = vlm_cache_key(registry.resolve(str(vlm)).ref, "fp32", "cpu")
    assert key in fresh_cache.keys()  # loaded once, through the model cache
    seen.clear()
    _, text_only = _run(vlm, _ask(None))
    assert text_only.cache_hit and text_only.tokens >= 1 and not seen
    # the processor expanded the one <image> marker into a token per patch
    assert stats.prompt_tokens - text_only.prompt_tokens >= IMAGE_TOKENS - 1


def test_a_plain_string_message_to_a_vision_model_works(vlm, fresh_cache):
    _, stats = _run(vlm, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    assert stats.prompt_tokens > 5 and stats.tokens >= 1


def test_an_unreadable_image_is_an_invalid_input(vlm, tmp_path, fresh_cache):
    with pytest.raises(errors.InvalidInput, match="'gone.png' is no such file"):
        _run(vlm, _ask(tmp_path / "gone.png"))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(errors.InvalidInput, match="'notes.png' is not a readable image"):
        _run(vlm, _ask(tmp_path / "notes.png"))


def test_an_image_to_a_text_only_local_model_is_still_refused(tiny, image):
    with pytest.raises(errors.Unsupported, match=r"An image in the chat needs image input"):
        _run(tiny["lm-llama"], _ask(image))


def test_the_recipe_runs_the_same_chat_with_plain_transformers(vlm, image):
    found = registry.resolve(str(vlm))
    recipe = found.backend.chat_recipe(found.ref, _ask(image), max_new_tokens=4, temperature=0.0,
                                       quantization="fp32")
    assert "AutoModelForImageTextToText" in recipe.code and str(image) in recipe.code and not recipe.gpu
    scope: dict = {}
    exec(compile(recipe.code, "recipe", "exec"), scope)  # noqa: S102  (our own generated code, on a tiny model)
    assert isinstance(scope["text"], str) and scope["inputs"]["input_ids"].shape[-1] > IMAGE_TOKENS
    assert "pixel_values" in scope["inputs"]


def test_a_text_only_feature_on_a_vision_model_says_what_the_model_is(vlm, fresh_cache):
    from engines.loading import load_causal_lm

    with pytest.raises(errors.Unsupported, match=r"vision-language \(image-text-to-text\) model.*text-only causal LM"):
        load_causal_lm(registry.resolve(str(vlm)).ref, "fp32")
