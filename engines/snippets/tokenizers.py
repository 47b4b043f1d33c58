"""Snippet for the Tokenizers tab: tokenize one text with each tokenizer, with ids, as ``tokenizers.tokenize`` does."""

from __future__ import annotations

import json


def tokenize_code(tokenizers: list[str] | str, text: str, *, add_special_tokens: bool = True) -> str:
    """Plain transformers code that tokenizes ``text`` with each tokenizer and prints tokens, ids and counts.

    The ids end up in ``ids_by_tokenizer`` (reference → ids), as the tab's "ids per tokenizer" output has them.

    Args:
        tokenizers: the tokenizer references as given (Hub ids or folders).
        text: the text tokenized.
        add_special_tokens: whether BOS/EOS and the like were added.

    Returns:
        A self-contained Python snippet.
    """
    names = [tokenizers] if isinstance(tokenizers, str) else list(tokenizers)
    return (
        "from transformers import AutoTokenizer\n\n"
        f"text = {json.dumps(text, ensure_ascii=False)}\n"
        "ids_by_tokenizer = {}\n"
        f"for name in {json.dumps(names, indent=4, ensure_ascii=False)}:\n"
        "    tok = AutoTokenizer.from_pretrained(name)\n"
        f"    ids = tok(text, add_special_tokens={bool(add_special_tokens)})['input_ids']\n"
        "    back = tok.decode(tok(text, add_special_tokens=False)['input_ids'], clean_up_tokenization_spaces=False)\n"
        "    print(f'{name}: {len(ids):,} tokens · {len(text) / len(ids):.2f} chars/token · '\n"
        "          f'{len(text.split()) / len(ids):.2f} words/token · vocabulary {len(tok):,} · '\n"
        "          f\"{'round-trips' if back == text else 'decode(encode(text)) differs'}\")\n"
        "    print(list(zip(tok.convert_ids_to_tokens(ids), ids)))\n"
        "    ids_by_tokenizer[name] = ids\n"
    )
