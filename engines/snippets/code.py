"""Snippet for the Code tab: plain openai / transformers code that asks a model for the C++ translation of a
Python program, writes ``main.cpp`` from its answer and says how to compile it."""

from __future__ import annotations

from engines.snippets.common import client_setup, remote_kind

_WRITE_CPP = "open('main.cpp', 'w').write(text.split('```cpp')[-1].split('```')[0])\n"


def conversion_code(model: str, messages: list[dict], compile_command: str) -> str:
    """Plain openai / transformers code that sends ``messages`` (the conversion request) and writes the C++.

    Args:
        model: the model reference as the user gave it (a Hub id stays a Hub id, never the server's folder for it;
            ``openai:``/``hf:``/``ollama:`` names reach their API with keys read from the environment).
        messages: the chat messages of the conversion (``engines.codeconv.convert_messages``).
        compile_command: the compiler command line the app uses.

    Returns:
        A self-contained Python snippet.
    """
    head = f"messages = {messages!r}\n\n"
    tail = f"{_WRITE_CPP}# then: {compile_command} && ./main\n"
    kind, name = remote_kind(model)
    if kind is not None:
        return (client_setup(kind) + "\n" + head +
                f"stream = client.chat.completions.create(model={name!r}, messages=messages, stream=True, "
                "temperature=0)\n"
                "text = ''.join(c.choices[0].delta.content or '' for c in stream if c.choices)\n" + tail)
    return ("from transformers import AutoModelForCausalLM, AutoTokenizer\n\n" + head +
            f"tok = AutoTokenizer.from_pretrained({model!r})\n"
            f"model = AutoModelForCausalLM.from_pretrained({model!r}, dtype='auto', device_map='auto')\n"
            "ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors='pt', "
            "return_dict=True).to(model.device)\n"
            "out = model.generate(**ids, max_new_tokens=4096, do_sample=False)\n"
            "text = tok.decode(out[0, ids['input_ids'].shape[1]:], skip_special_tokens=True)\n" + tail)
