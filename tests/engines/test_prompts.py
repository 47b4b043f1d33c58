"""engines.prompts.apply_template: one render, the system role folded where a template has none."""

from __future__ import annotations

import pytest

from engines import prompts
from engines.errors import InvalidInput

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]


@pytest.fixture(scope="module")
def llama(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny["tok-llama"])


@pytest.fixture(scope="module")
def gemma(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny["tok-gemma"])  # its template raises on a system message


def test_renders_once_with_the_system_role(llama):
    text, used, notice = prompts.apply_template(llama, CHAT)
    assert notice is None and used == CHAT
    assert "Be brief." in text and "Hi there" in text
    assert text == llama.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)


def test_folds_the_system_role_when_the_template_rejects_it(gemma):
    text, used, notice = prompts.apply_template(gemma, CHAT)
    assert notice == prompts.FOLDED_NOTICE and [m["role"] for m in used] == ["user"]
    assert "Be brief." in text and "Hi there" in text


def test_folds_up_front_when_the_catalog_says_so(llama):
    _, used, notice = prompts.apply_template(llama, CHAT, no_system_role=True)
    assert notice == prompts.FOLDED_NOTICE and [m["role"] for m in used] == ["user"]
    assert used[0]["content"] == prompts.FOLDED_SYSTEM.format(system="Be brief.", user="Hi there")


def test_generation_prompt_is_optional(llama):
    with_prompt, _, _ = prompts.apply_template(llama, CHAT)
    without, _, _ = prompts.apply_template(llama, CHAT, add_generation_prompt=False)
    assert with_prompt.startswith(without) and len(with_prompt) > len(without)


def test_other_template_errors_are_specific(tiny):
    from transformers import AutoTokenizer

    bert = AutoTokenizer.from_pretrained(tiny["tok-bert"])  # no chat template at all
    with pytest.raises(InvalidInput, match="chat template rejected"):
        prompts.apply_template(bert, [{"role": "user", "content": "a"}])


def test_fold_system_without_a_user_turn():
    assert prompts.fold_system([{"role": "system", "content": "S"}]) == [{"role": "user", "content": "S"}]
    assert prompts.fold_system([{"role": "user", "content": "U"}]) == [{"role": "user", "content": "U"}]
