"""Snippet for the model-internals view (Compare tab): plain transformers code that prints the module tree,
the parameter count and the parameters per dtype, from the config alone (meta device) or from the weights."""

from __future__ import annotations

from engines.snippets.common import client_setup, remote_kind

_REPORT = ("print(model)  # the module tree\n"
           "print(f\"{model.num_parameters():,} parameters\")\n"
           "by_dtype = Counter()\nfor name, p in model.named_parameters():\n    by_dtype[str(p.dtype)] += p.numel()\n"
           "print(by_dtype)\n")


def code_snippet(model: str, source: str = "config") -> str:
    """Plain transformers code that reproduces the inspection.

    Args:
        model: the Hub id or folder inspected (an API model, ``openai:``/``hf:``/``ollama:``, publishes no
            architecture: its snippet asks the API what it tells about the model).
        source: "config" (build on the meta device from config.json) or "weights" (load the model).

    Returns:
        Python source.
    """
    kind, name = remote_kind(model)
    if kind is not None:
        return (client_setup(kind) +
                "\n# an API model publishes no architecture or weights: its entry in the API's model list is all "
                "there is\n"
                f"MODEL = {name!r}\n"
                "print(next((m for m in client.models.list() if m.id == MODEL), f'{MODEL} is not listed'))\n")
    if source == "config":
        build = ("config = AutoConfig.from_pretrained(MODEL)  # downloads config.json only\n"
                 "with torch.device(\"meta\"):  # shapes, no memory\n"
                 "    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)\n")
    else:
        build = "model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)\n"
    return ("from collections import Counter\n\nimport torch\n"
            "from transformers import AutoConfig, AutoModelForCausalLM\n\n"
            f"MODEL = {model!r}\n{build}{_REPORT}")
