"""Jupyter notebooks (nbformat v4) that reproduce one run of the app, built from the tabs' "show code" snippets.

A notebook has, in order:

1. a title cell saying what it does, and what hardware it needs ("Runtime → Change runtime type → GPU" on Colab
   when the run needed CUDA: 4-bit or 8-bit weights, a GPU-sized model, FLUX at full size…);
2. an install cell pinning the versions this app runs, read from the installed packages (``importlib.metadata``),
   only for the packages the code imports (plus the ones its calls need: accelerate for ``device_map``,
   bitsandbytes for 4-bit…). It is skipped where ``WORKBENCH_NOTEBOOK_SKIP_INSTALL`` is set (tests, a machine that
   has them);
3. the snippet with the exact model, inputs, parameters and seed of the run;
4. a result cell that prints the result as one JSON line (its last line: ``read_result`` parses it);
5. a markdown cell with the outputs the app showed, to compare against.

Secrets never appear: snippets read ``OPENAI_API_KEY`` / ``HF_TOKEN`` from the environment, and every cell is passed
through ``engines.redact.redact`` (secret values of this process and key-shaped strings are masked).

Public API::

    build_notebook(title | recipe, code='', *, description="", outputs_markdown="", needs_gpu=False, packages=None,
                   result_code="") -> nbformat.NotebookNode      # code: one source or a list (one cell each)
    write_notebook(nb, folder, name) -> Path                      # <folder>/<slug of name>.ipynb
    pinned_packages(sources, packages=None) -> list[str]          # ["torch==2.13.0", ...]
    read_result(nb) -> Any                                        # the JSON the executed result cell printed

One recipe per tab run (``recipes``: ``<tab>_recipe(...) -> engines.backends.Recipe``, built from what the run
actually used): the tab shows ``recipe.code`` in its code box and exports ``build_notebook(recipe)``, so the code and
the notebook cannot disagree. ``tab_runs`` keeps one ``<tab>_notebook(...)`` per tab (= ``build_notebook`` of the
recipe), taking the same arguments::

    tokenizers_notebook(tokenizers, text, *, add_special_tokens=True, ids=None)      # Tokenizers
    pipeline_notebook(task, model, inputs, result)                                   # Pipelines (a TaskResult)
    chat_notebook(model, messages, *, quantization="fp32", max_new_tokens=256,       # a Compare column
                  temperature=0.0, text="", stats=None)
    next_token_notebook(model, messages, rows, *, steps, top_k, temperature=0.0,     # Compare → next-token view
                        quantization="fp32", seed=None)
    transcription_notebook(transcript, *, audio_file="meeting.mp3")                  # Minutes, step 1
    minutes_notebook(transcript, model, *, max_new_tokens=1024, quantization="fp32", # Minutes, step 2
                     minutes="", stats=None)
    image_notebook(result)                                                           # Images (an ImageResult)
    code_notebook(model, python_code, *, cpp="", run=None)                           # Code (C++ + RunResult)
    synthetic_notebook(stats, rows=None)                                             # Synthetic data (RunStats)
    finetune_notebook(view)                                                          # Fine-tune (a RunView)
"""

from engines.notebooks.build import (
    RESULT_HEADER,
    SKIP_INSTALL_ENV,
    build_notebook,
    fence,
    pinned_packages,
    read_result,
    slug,
    write_notebook,
)
from engines.notebooks.recipes import (
    chat_recipe,
    code_recipe,
    finetune_recipe,
    image_recipe,
    minutes_recipe,
    next_token_recipe,
    pipeline_recipe,
    ran_quantization,
    synthetic_recipe,
    tokenizers_recipe,
    transcription_recipe,
)
from engines.notebooks.tab_runs import (
    chat_notebook,
    code_notebook,
    finetune_notebook,
    image_notebook,
    minutes_notebook,
    next_token_notebook,
    pipeline_notebook,
    synthetic_notebook,
    tokenizers_notebook,
    transcription_notebook,
)

__all__ = ["RESULT_HEADER", "SKIP_INSTALL_ENV", "build_notebook", "chat_notebook", "chat_recipe", "code_notebook",
           "code_recipe", "fence", "finetune_notebook", "finetune_recipe", "image_notebook", "image_recipe",
           "minutes_notebook", "minutes_recipe", "next_token_notebook", "next_token_recipe", "pinned_packages",
           "pipeline_notebook", "pipeline_recipe", "ran_quantization", "read_result", "slug", "synthetic_notebook",
           "synthetic_recipe", "tokenizers_notebook", "tokenizers_recipe", "transcription_notebook",
           "transcription_recipe", "write_notebook"]
