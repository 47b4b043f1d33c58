"""Building notebooks: cells (title, install, GPU check, code, JSON result, the app's outputs), the version pins
read from the installed packages, secret redaction, writing and reading back the result. See ``engines.notebooks``.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engines.backends.types import Recipe
from engines.redact import redact

SKIP_INSTALL_ENV = "WORKBENCH_NOTEBOOK_SKIP_INSTALL"
RESULT_HEADER = "# The result as one JSON line (the last line printed), to compare with the app's outputs below"
GPU_NOTE = ("**Needs a CUDA GPU.** On Colab: *Runtime → Change runtime type → GPU* (T4 or better), then run all "
            "cells. {why}")
CPU_NOTE = "Runs on a CPU (a GPU makes it faster)."
# Import names whose distribution is named differently.
_DISTRIBUTIONS = {"PIL": "pillow", "faster_whisper": "faster-whisper", "sklearn": "scikit-learn",
                  "huggingface_hub": "huggingface-hub", "yaml": "pyyaml"}
# Text in the code that needs a package it does not import.
_IMPLIED = (("device_map=", "accelerate"), ("cpu_offload", "accelerate"), ("BitsAndBytesConfig", "bitsandbytes"),
            ("bitsandbytes_4bit", "bitsandbytes"), ("from diffusers", "transformers"),
            ("AutoModelForSeq2SeqLM", "sentencepiece"), ("import peft", "peft"), ("from peft", "peft"))
_NOT_PINNED = frozenset({"IPython", "ipykernel"})


# --------------------------------------------------------------------------------------------- packages
def _imports(source: str) -> list[str]:
    """Top-level module names a source imports (a line-based fallback where it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", source, flags=re.M)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    return names


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distribution(module: str) -> str | None:
    if module in sys.stdlib_module_names or module in _NOT_PINNED:
        return None
    if module in _DISTRIBUTIONS:
        return _DISTRIBUTIONS[module]
    found = _packages_distributions().get(module)
    return found[0] if found else module


@functools.lru_cache(maxsize=256)
def _version(dist: str) -> str | None:
    """The installed version (kept: reading a distribution's metadata parses its METADATA file, ~2 ms, at every
    notebook the app writes)."""
    try:
        return importlib.metadata.version(dist).split("+")[0]  # "2.13.0+cpu" → "2.13.0" (PyPI has no local tags)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned_packages(sources: Iterable[str], packages: list[str] | None = None) -> list[str]:
    """``pkg==x.y.z`` for each package the code needs, at the version installed here (the app's own).

    Args:
        sources: the code cells.
        packages: distribution names to pin instead of detecting them (an entry with "==" is kept as is).

    Returns:
        Pins in a stable order; packages not installed here are left out.
    """
    if packages is None:
        text = "\n".join(sources)
        dists = [_distribution(m) for m in _imports(text)]
        dists += [dist for marker, dist in _IMPLIED if marker in text]
        packages = list(dict.fromkeys(d for d in dists if d))
    pins = []
    for dist in packages:
        if "==" in dist:
            pins.append(dist)
        elif (version := _version(dist)) is not None:
            pins.append(f"{dist}=={version}")
    return pins


# --------------------------------------------------------------------------------------------- cells
def fence(text: str, lang: str = "") -> str:
    """``text`` in a Markdown code fence longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text or "")), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{(text or '').rstrip()}\n{ticks}"


def _install_cell(pins: list[str]) -> str:
    return ("# The versions this app ran (set WORKBENCH_NOTEBOOK_SKIP_INSTALL=1 to skip, where they are installed)\n"
            "import os\n\n"
            f"if not os.environ.get({SKIP_INSTALL_ENV!r}):\n"
            f"    %pip install -q {' '.join(pins)}\n")


_GPU_CHECK = ("import torch\n\n"
              "if not torch.cuda.is_available():\n"
              "    print('No CUDA GPU here: this run needs one (on Colab: Runtime → Change runtime type → GPU). '\n"
              "          'On a CPU it is very slow or runs out of memory.')\n")


def _title(title: str, description: str, needs_gpu: bool | str) -> str:
    why = needs_gpu if isinstance(needs_gpu, str) else ""
    hardware = GPU_NOTE.format(why=why).rstrip() if needs_gpu else CPU_NOTE
    parts = [f"# {title}", description.strip(), hardware,
             "Made by LLM Workbench: it reproduces one run of the app, with the same model, inputs, parameters "
             "and seed, on the package versions the app ran."]
    return "\n\n".join(p for p in parts if p)


def build_notebook(title: str | Recipe, code: str | list[str] = "", *, description: str = "",
                   outputs_markdown: str = "", needs_gpu: bool | str = False, packages: list[str] | None = None,
                   result_code: str = "") -> Any:
    """A notebook that reproduces a run: title, install cell, the code, a JSON result cell, the app's outputs.

    Args:
        title: what the notebook does, e.g. "Tokenize a text with 2 tokenizers"; or a run's ``Recipe`` (then the
            other arguments come from it: its setup cells, its code — the code the tab shows —, its after cells).
        code: the snippet (one cell), or several sources (one cell each).
        description: a paragraph under the title.
        outputs_markdown: what the app showed for this run (Markdown), to compare against.
        needs_gpu: True (or a sentence saying why) when the run needs CUDA: stated in the first cell, checked in a
            cell of its own, and Colab's GPU runtime requested in the metadata.
        packages: distributions to pin instead of the ones detected from the code's imports.
        result_code: a cell printing the result as one JSON line (its last line), for comparison and checks.

    Returns:
        An ``nbformat`` v4 NotebookNode, every cell's text redacted of secrets.
    """
    import nbformat.v4 as v4

    if isinstance(title, Recipe):
        return _from_recipe(title)
    sources = [code] if isinstance(code, str) else list(code)
    cells = [v4.new_markdown_cell(_title(title, description, needs_gpu))]
    pins = pinned_packages(sources + [result_code], packages)
    if pins:
        cells.append(v4.new_code_cell(_install_cell(pins)))
    if needs_gpu:
        cells.append(v4.new_code_cell(_GPU_CHECK))
    cells += [v4.new_code_cell(s.rstrip("\n")) for s in sources if s.strip()]
    if result_code:
        cells.append(v4.new_code_cell(f"{RESULT_HEADER}\n{result_code.rstrip()}"))
    if outputs_markdown.strip():
        cells.append(v4.new_markdown_cell("## What the app showed for this run\n\n" + outputs_markdown.strip()))
    for cell in cells:
        cell.source = redact(cell.source)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}}
    if needs_gpu:
        meta |= {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
    return v4.new_notebook(cells=cells, metadata=meta)


def _from_recipe(recipe: Recipe) -> Any:
    nb = build_notebook(recipe.title, [*recipe.setup, recipe.code, *recipe.after], description=" ".join(recipe.notes),
                        outputs_markdown=recipe.outputs_markdown,
                        needs_gpu=(recipe.gpu_reason or True) if recipe.gpu else False,
                        packages=list(recipe.packages) or None, result_code=recipe.result_cell)
    if recipe.attachments and recipe.outputs_markdown.strip():
        nb.cells[-1].attachments = dict(recipe.attachments)
    return nb


def slug(name: str) -> str:
    """A safe file name stem: letters, digits, dots, dashes and underscores (at most 80 characters)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name or "").strip("-.")
    return stem[:80] or "notebook"


def write_notebook(nb: Any, folder: str | Path, name: str) -> Path:
    """Validate ``nb`` and write it as ``<folder>/<slug(name)>.ipynb``.

    Args:
        nb: a notebook from ``build_notebook``.
        folder: where to write (created if needed).
        name: the file name (made safe; ".ipynb" added).

    Returns:
        The path written.
    """
    import nbformat

    nbformat.validate(nb)
    path = Path(folder) / f"{slug(name.removesuffix('.ipynb'))}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(nbformat.writes(nb)), encoding="utf-8")
    return path


def read_result(nb: Any) -> Any:
    """The JSON value the result cell of an executed notebook printed (its last stdout line).

    Raises:
        ValueError: no result cell, or it printed no JSON line (the notebook failed before it).
    """
    for cell in reversed(nb.cells):
        if cell.cell_type == "code" and cell.source.startswith(RESULT_HEADER):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
            lines = [line for line in text.splitlines() if line.strip()]
            if not lines:
                raise ValueError("The result cell printed nothing: an earlier cell failed?")
            return json.loads(lines[-1])
    raise ValueError("This notebook has no result cell.")
