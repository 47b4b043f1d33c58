"""The built-in tools: the workbench's own engines as tools the assistant's model can call, each a toggle in the
chat (``label``). Engines load lazily, on a tool's first call; building the tools imports nothing heavy.

Files a tool writes (an image, speech) go to ``files_dir`` (the chat passes its export folder), else to a fresh
folder under the app's exports root. ``transcribe_audio`` reads only files the user attached in this chat (the
``attachments`` allow-list), never an arbitrary path on the server.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from engines import errors
from engines.assistant.tool import Tool, ToolOutput
from engines.config import Settings

MAX_OUTPUT_CHARS = 4000  # stdout or a transcript shown to the model (the head); stderr keeps its tail
MAX_ERR_CHARS = 2000
FIRST_TOKENS = 20
HUB_LIMIT = 10
HUB_MAX = 20
Attachments = Iterable[str | Path] | Callable[[], Iterable[str | Path]]


@dataclass
class BuiltinTool(Tool):
    """A Tool with the short label its toggle shows in the chat."""

    label: str = ""


@dataclass
class _Context:
    settings: Settings
    files_dir: Path | None
    attachments: Attachments | None
    models: dict[str, str]

    def folder(self) -> Path:
        """Where a tool writes its files: ``files_dir``, else a fresh folder under the exports root."""
        if self.files_dir is not None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            return self.files_dir
        # the same root as tabs.common.exports_root (engines do not import tabs): its sweep deletes old folders
        root = Path(tempfile.gettempdir()) / "workbench-exports"
        root.mkdir(parents=True, exist_ok=True)
        self.files_dir = Path(tempfile.mkdtemp(prefix="assistant-", dir=root))
        return self.files_dir

    def attached(self) -> list[Path]:
        found = self.attachments() if callable(self.attachments) else self.attachments
        return [Path(p) for p in found or ()]

    def new_file(self, stem: str, suffix: str) -> Path:
        folder = self.folder()
        return Path(tempfile.mkstemp(prefix=f"{stem}-", suffix=suffix, dir=folder)[1])


def _schema(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _head(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[… {len(text) - limit} more characters cut]"


def _tail(text: str, limit: int = MAX_ERR_CHARS) -> str:
    return text if len(text) <= limit else f"[… {len(text) - limit} characters cut]\n" + text[-limit:]


# ------------------------------------------------------------------------------------------------ images


def _image_tool(ctx: _Context) -> BuiltinTool:
    from engines import registry
    from engines.images.inputs import MAX_SEED, MAX_SIZE, MAX_STEPS, MIN_SIZE, SIZE_MULTIPLE

    model = ctx.models.get("generate_image") or registry.default_for("image", ctx.settings.device)
    side = 1024 if ctx.settings.device == "cuda" else 512
    size = {"type": "integer", "minimum": MIN_SIZE, "maximum": MAX_SIZE, "multipleOf": SIZE_MULTIPLE}

    def run(args: dict) -> ToolOutput:
        from engines import images

        r = images.generate_image(args["prompt"], model=model, seed=args.get("seed"),
                                  num_inference_steps=int(args.get("steps", 4)), width=int(args.get("width", side)),
                                  height=int(args.get("height", side)), allow_cpu_large=False)
        path = r.save_png(ctx.new_file("image", ".png"))
        notes = "".join(f" {n}" for n in r.notices)
        return ToolOutput(text=f"Generated a {r.width}×{r.height} image with {r.model}: seed {r.seed}, {r.steps} "
                               f"steps, {r.seconds:.1f} s. It is shown to the user.{notes}", images=[path])

    return BuiltinTool(
        name="generate_image", label="Generate an image",
        description=f"Draw an image from a text prompt ({model}) and show it to the user. Same prompt and seed give "
                    "the same image.",
        parameters=_schema({
            "prompt": {"type": "string", "description": "What to draw: subject, style, lighting, composition."},
            "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED,
                     "description": "Reproduce an earlier image with its seed; omit for a random one."},
            "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS,
                      "description": "Denoising steps (default 4; turbo and schnell models need only 1-4)."},
            "width": {**size, "description": f"Pixels, a multiple of 16 (default {side})."},
            "height": {**size, "description": f"Pixels, a multiple of 16 (default {side})."},
        }, ["prompt"]),
        run=run, timeout_s=600.0)


# ------------------------------------------------------------------------------------------------ speech


def _attached_file(ctx: _Context, name: str) -> Path:
    """The attached file ``name`` refers to (its path or its file name); anything else is refused."""
    files = ctx.attached()
    if not files:
        raise errors.InvalidInput("No audio file is attached to this chat: ask the user to attach or record one.")
    wanted = str(name or "").strip()
    for path in files:
        if wanted in (str(path), path.name):
            if not path.is_file():
                raise errors.InvalidInput(f"The attached file '{path.name}' is no longer available.")
            return path
    names = ", ".join(sorted(p.name for p in files))
    raise errors.InvalidInput(f"'{Path(wanted).name}' is not a file attached to this chat. Attached: {names}.")


def _transcribe_tool(ctx: _Context) -> BuiltinTool:
    model = ctx.models.get("transcribe_audio")

    def run(args: dict) -> ToolOutput:
        from engines import speech

        path = _attached_file(ctx, args["file"])
        t = speech.transcribe(path, model=model, language=args.get("language") or None)
        lang = f", language {t.language}" if t.language else ""
        text = t.text.strip() or "(no speech recognised)"
        return ToolOutput(text=f"Transcript of {path.name} ({t.duration_s:.1f} s{lang}, {t.model}, "
                               f"{t.seconds:.1f} s):\n{_head(text)}")

    return BuiltinTool(
        name="transcribe_audio", label="Transcribe audio",
        description="Transcribe an audio or video file the user attached to this chat (Whisper). Returns the text.",
        parameters=_schema({
            "file": {"type": "string", "description": "The attached file's name, as shown in the conversation."},
            "language": {"type": "string",
                         "description": "ISO code or English name of the spoken language; omit to detect it."},
        }, ["file"]),
        run=run, timeout_s=600.0)


def _speak_tool(ctx: _Context) -> BuiltinTool:
    model = ctx.models.get("speak")

    def run(args: dict) -> ToolOutput:
        from engines.audio import mono_float32, wav_bytes
        from engines.pipelines import run_task

        r = run_task("text-to-speech", {"text": args["text"]}, model=model)
        rate, samples = r.value
        samples = mono_float32(samples)
        path = ctx.new_file("speech", ".wav")
        path.write_bytes(wav_bytes(samples, int(rate)))
        return ToolOutput(text=f"Spoke {len(args['text'])} characters: {samples.size / rate:.1f} s of audio at "
                               f"{rate} Hz ({r.model}, {r.seconds:.1f} s). The user can play it.", audio=[path])

    return BuiltinTool(
        name="speak", label="Speak text",
        description="Read a text aloud with a text-to-speech model and give the user the audio to play.",
        parameters=_schema({"text": {"type": "string", "description": "The exact words to say (plain text)."}},
                           ["text"]),
        run=run, timeout_s=300.0)


# ------------------------------------------------------------------------------------------------ code


def _python_tool(ctx: _Context) -> BuiltinTool:
    from engines.sandbox.limits import CODE_TIME_LIMITS_S

    low, high = CODE_TIME_LIMITS_S
    default_s = 60

    def run(args: dict) -> ToolOutput:
        from engines import sandbox

        # the Code tab's limits and its sandbox slot (taken inside the sandbox's execute)
        limits = sandbox.code_limits(args.get("time_limit_s", default_s))
        r = sandbox.run_python(args["code"], limits=limits)
        state = (f"timed out after {limits.wall_s:g} s" if r.timed_out
                 else f"exit code {r.exit_code}" + (f", stopped: {r.stopped}" if r.stopped else ""))
        parts = [f"{state} · {r.seconds:.2f} s · sandbox: {r.isolation or 'n/a'}"]
        out = _head(r.stdout) + ("\n[output limit reached: the rest was dropped]" if r.truncated else "")
        parts.append(f"stdout:\n{out}" if r.stdout else "stdout: (empty)")
        if r.stderr.strip():
            parts.append(f"stderr:\n{_tail(r.stderr)}")
        return ToolOutput(text="\n".join(parts))

    return BuiltinTool(
        name="run_python", label="Run Python",
        description="Run a Python 3 program in an isolated sandbox (no network, no files kept, standard library "
                    "only) and get its stdout, stderr and exit code. Print what you want to see.",
        parameters=_schema({
            "code": {"type": "string", "description": "The whole program; print() the results."},
            "time_limit_s": {"type": "integer", "minimum": low, "maximum": high,
                             "description": f"Wall-clock and CPU limit in seconds (default {default_s})."},
        }, ["code"]),
        run=run, timeout_s=float(high) + 60.0)  # the sandbox's own limit ends the program first


# ------------------------------------------------------------------------------------------------ facts


def _tokens_tool(ctx: _Context) -> BuiltinTool:
    from engines import registry

    default = ctx.models.get("count_tokens") or registry.default_for("chat", ctx.settings.device)

    def run(args: dict) -> ToolOutput:
        from engines import tokenizers

        name = args.get("tokenizer") or default
        t = tokenizers.tokenize(name, args["text"])
        first = json.dumps(t.tokens[:FIRST_TOKENS], ensure_ascii=False)
        more = f" (first {FIRST_TOKENS})" if t.count > FIRST_TOKENS else ""
        return ToolOutput(text=f"{t.count} tokens with the {name} tokenizer ({t.chars} characters, {t.words} words). "
                               f"Tokens{more}: {first}")

    return BuiltinTool(
        name="count_tokens", label="Count tokens",
        description="Count the tokens of a text with a model's tokenizer and show the first tokens.",
        parameters=_schema({
            "text": {"type": "string", "description": "The text to tokenize."},
            "tokenizer": {"type": "string", "description": f"Hub id or local folder of a model (default {default})."},
        }, ["text"]),
        run=run, timeout_s=120.0)


def _hub_rows(kind: str, rows: list) -> list[str]:
    lines = []
    for r in rows:
        if kind == "model":
            params = f"{r.params / 1e9:.2g}B params" if r.params else None
            facts = [r.task, r.library, params, f"{r.downloads:,} downloads" if r.downloads is not None else None,
                     f"{r.likes} likes" if r.likes is not None else None, r.license, f"gated: {r.gated}"]
        else:
            facts = [", ".join(r.tasks) or None, r.size,
                     f"{r.downloads:,} downloads" if r.downloads is not None else None, r.license]
        lines.append(f"- {r.id}: " + " · ".join(f for f in facts if f))
    return lines


def _hub_tool(ctx: _Context) -> BuiltinTool:
    def run(args: dict) -> ToolOutput:
        from engines.hub import search

        kind = args.get("kind") or "model"
        limit = int(args.get("limit") or HUB_LIMIT)
        if kind not in ("model", "dataset"):
            raise errors.InvalidInput("kind must be 'model' or 'dataset'.")
        if not 1 <= limit <= HUB_MAX:
            raise errors.InvalidInput(f"limit must be between 1 and {HUB_MAX}.")
        find = search.search_models if kind == "model" else search.search_datasets
        result = find(args.get("query") or None, task=args.get("task") or None, sort=args.get("sort") or "downloads",
                      limit=limit)
        if not result.rows:
            return ToolOutput(text=f"No {kind}s on the Hub match.")
        return ToolOutput(text=f"{len(result.rows)} {kind}s, most {args.get('sort') or 'downloads'} first:\n"
                               + "\n".join(_hub_rows(kind, result.rows)))

    return BuiltinTool(
        name="search_hub", label="Search the Hub",
        description="Search models or datasets on the Hugging Face Hub; each result with its task, size, downloads, "
                    "likes and license.",
        parameters=_schema({
            "query": {"type": "string", "description": "Words the repository id contains, e.g. 'qwen coder'."},
            "kind": {"type": "string", "enum": ["model", "dataset"], "description": "What to search (default model)."},
            "task": {"type": "string", "description": "A task tag, e.g. 'text-generation' or 'text-classification'."},
            "sort": {"type": "string", "enum": ["downloads", "likes", "trending", "created", "updated"],
                     "description": "Order, most first (default downloads)."},
            "limit": {"type": "integer", "minimum": 1, "maximum": HUB_MAX,
                      "description": f"How many results (default {HUB_LIMIT})."},
        }, ["query"]),
        run=run, timeout_s=60.0)


def _facts_text(row: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in row.items() if v not in (None, ""))


def _facts_tool(ctx: _Context) -> BuiltinTool:
    def run(args: dict) -> ToolOutput:
        from engines import registry
        from engines.local_facts import local_facts_row

        model = str(args["model"]).strip().partition("@")[0].strip()
        spec = registry.get(model)
        if spec is not None:
            return ToolOutput(text=_facts_text(registry.facts_row(spec)))
        local = local_facts_row(model, ctx.settings) if model else None
        if local is not None:
            return ToolOutput(text=_facts_text(local))
        word = model.lower().split("/")[-1].split(":")[-1]
        near = [s.id for s in registry.all_specs() if word and word in s.id.lower()][:8]
        hint = f" Catalog ids that contain '{word}': {', '.join(near)}." if near else ""
        raise errors.ModelNotFound(f"'{model}' is not in the workbench's catalog and no downloaded config of it was "
                                   f"found, so its facts are unknown.{hint}")

    return BuiltinTool(
        name="model_facts", label="Model facts",
        description="Look up a model's facts: parameters, context window, license, gating, release, price per 1M "
                    "tokens (API models), memory needed. From the workbench's catalog, else the model's own files.",
        parameters=_schema({"model": {"type": "string", "description":
                                      "Catalog or Hub id, e.g. 'Qwen/Qwen2.5-7B-Instruct' or 'openai:gpt-4o-mini'."}},
                           ["model"]),
        run=run, timeout_s=60.0)


# ------------------------------------------------------------------------------------------------ all


BUILDERS = (_image_tool, _transcribe_tool, _speak_tool, _python_tool, _tokens_tool, _hub_tool, _facts_tool)


def builtin_tools(settings: Settings | None = None, *, files_dir: str | Path | None = None,
                  attachments: Attachments | None = None,
                  models: dict[str, str] | None = None) -> dict[str, BuiltinTool]:
    """The workbench's engines as tools, keyed by name (generate_image, transcribe_audio, speak, run_python,
    count_tokens, search_hub, model_facts).

    Args:
        settings: deployment settings (read from the environment when None): the device picks default models.
        files_dir: where images and speech are written (None = a fresh folder under the app's exports root).
        attachments: the files the user attached in this chat (paths, or a callable returning them at call time):
            the only files ``transcribe_audio`` may read.
        models: tool name → model reference, overriding the engine's default (generate_image, transcribe_audio,
            speak, count_tokens).

    Returns:
        name → BuiltinTool, in the order the chat lists the toggles.
    """
    ctx = _Context(settings or Settings.current(), Path(files_dir) if files_dir else None, attachments,
                   dict(models or {}))
    tools = [build(ctx) for build in BUILDERS]
    return {t.name: t for t in tools}
