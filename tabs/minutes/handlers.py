"""Meeting minutes tab: a recording → timestamped transcript → streamed Markdown minutes with owners, and exports
(minutes.md, transcript .txt/.srt/.vtt, action items .csv)."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from engines import minutes as mn
from engines import notebooks as nbs
from engines import speech as sp
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    ChoiceBox,
    Links,
    esc,
    expensive,
    notebook_file,
    on,
    status_html,
    ui_errors,
    with_settings,
    write_exports,
)
from tabs.kit.pickers import model_picker

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "minutes" / "sample_meeting.mp3"
LANGUAGES = [("Detect", "auto"), ("English", "en"), ("French", "fr"), ("German", "de"), ("Spanish", "es"),
             ("Italian", "it"), ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"), ("Japanese", "ja"),
             ("Chinese", "zh"), ("Hindi", "hi"), ("Arabic", "ar")]


def transcript_stats(t: sp.Transcript) -> str:
    """A Markdown summary of a transcription: duration, time, real-time factor, backend, device, language."""
    notes = "".join(f"\n\n> ⚠️ {esc(n)}" for n in t.notices)
    src = t.source
    return (f"**{sp.clock(t.duration_s)}** of audio ({t.duration_s:.1f} s) in **{t.seconds:.2f} s** · "
            f"real-time factor **×{t.realtime_factor:.1f}** (audio seconds ÷ processing seconds) · "
            f"{len(t.segments)} segments · language **{t.language or 'unknown'}**\n\n"
            f"Model **{esc(t.model)}** · {t.backend} on {t.device} ({src.get('dtype', '')}) · load "
            f"{'cached' if t.cache_hit else f'{t.load_s:.2f} s'} · decode {t.decode_s:.2f} s · input "
            f"{esc(src.get('file', ''))}/{esc(src.get('codec', ''))}, {src.get('sample_rate') or '?'} Hz, "
            f"{src.get('channels') or '?'} ch{notes}")


@ui_errors
@expensive
def transcribe_meeting(audio: str, model: str, language: str = "auto", progress=gr.Progress(), *, settings=None):
    """Transcribe a meeting recording into timestamped text, with SRT/VTT/TXT downloads.

    Args:
        audio: the recording (WAV, MP3, M4A, OGG, FLAC, WebM or a video with sound), up to 4 hours by default.
        model: speech model: a Whisper Hub id ("openai/whisper-large-v3-turbo", "Systran/faster-whisper-small"),
            a local folder where allowed, or "openai:whisper-1" / "openai:gpt-4o-mini-transcribe".
        language: ISO code such as "en" or "fr"; "auto" detects it.

    Returns:
        The status line, the transcript (one "[hh:mm:ss] text" line per segment), a stats summary (Markdown), the
        transcript files (.txt, .srt, .vtt) and a code snippet reproducing the run.
    """
    if not audio:
        raise InvalidInput("Upload or record a meeting first (or click the sample recording below).")
    lang = None if (language or "auto").strip().lower() == "auto" else language

    def report(done: float, total: float) -> None:
        progress(done / total if total else 0.0, desc=f"Transcribing: {sp.clock(done)} of {sp.clock(total)}")

    progress(0.0, desc="Checking and decoding the audio")
    t = sp.transcribe(audio, model=(model or "").strip() or None, language=lang, on_progress=report,
                      settings=settings)
    files = write_exports("minutes", {"transcript.txt": t.to_txt(), "transcript.srt": t.to_srt(),
                                      "transcript.vtt": t.to_vtt()})
    recipe = nbs.transcription_recipe(t, audio_file=Path(str(audio)).name)
    done = (f"{sp.clock(t.duration_s)} transcribed in {t.seconds:.1f} s ({len(t.segments)} segments, language "
            f"{t.language or 'unknown'}).")
    return {"t_status": status_html("warning" if t.notices else "done", done), "transcript": t.timestamped_text(),
            "t_stats": transcript_stats(t), "t_files": files, "t_code": recipe.code,
            "t_notebook": notebook_file("minutes", "transcription", recipe)}


def _minutes_stats(stats, steps: int, started: float) -> str:
    if stats is None:
        return ""
    calls = f"{steps} model calls (map-reduce)" if steps > 1 else "1 model call"
    ran = " ".join(p for p in (stats.backend, f"on {stats.device}" if stats.device else "",
                               f"({stats.quantization})" if stats.quantization else "") if p)
    # a call stopped at a loop before its stats came has no load time: left out rather than shown as 0.00 s
    load = "load cached" if stats.cache_hit else f"load {stats.load_s:.2f} s" if stats.load_s > 0 else ""
    parts = [f"{time.perf_counter() - started:.1f} s", calls, f"{stats.tokens:,} tokens generated",
             f"{stats.tokens_per_s:.1f} tokens/s", f"model {stats.model}" if stats.model else "", ran, load]
    return " · ".join(p for p in parts if p)


def _final_status(quality, stats, steps: int, started: float, notices: list[str]) -> str:
    """Done only when the minutes came out as asked; a warning state naming what is missing otherwise."""
    numbers = _minutes_stats(stats, steps, started)
    if quality is not None and (not quality.ok or not quality.action_items):
        return status_html("warning", f"Minutes written, with problems: {' '.join(notices)} ({numbers})")
    extra = f" Note: {' '.join(notices)}" if notices else ""  # e.g. an assumed context window: informative only
    items = f"{quality.action_items} action item(s). " if quality is not None else ""
    return status_html("done", f"{items}{numbers}.{extra}")


@ui_errors
@expensive
def write_minutes(transcript: str, model: str | None = None, max_new_tokens: float = 1024, *, settings=None):
    """Stream Markdown minutes (summary, discussion points, takeaways, action items with owners and timestamps)
    from a transcript; long transcripts are summarized part by part first (map-reduce).

    Args:
        transcript: the meeting transcript, ideally "[hh:mm:ss] text" lines as the transcribe step returns.
        model: chat model: a Hub id (e.g. "meta-llama/Llama-3.1-8B-Instruct"), a local folder where allowed,
            or "openai:<name>", "hf:<org/name>", "ollama:<name>".
        max_new_tokens: upper bound on the length of the minutes in tokens.

    Yields:
        The status line (a warning when sections or action items are missing, a loop was stopped or the token
        limit hit), the minutes so far (Markdown), the notes per part (Markdown), the downloads (minutes.md,
        action_items.csv and the transcript used) once done, and the code reproducing the call.
    """
    started, text, notes, stats, steps, quality = time.perf_counter(), "", [], None, 1, None
    notices: list[str] = []
    model = (model or "").strip() or None
    stream = mn.stream_minutes(transcript or "", model=model, max_new_tokens=int(max_new_tokens or 1024),
                               settings=settings)
    for chunk in stream:
        if chunk.notice:
            notices.append(chunk.notice)
        stage = getattr(chunk, "stage", None)
        update = {}
        if stage:
            steps = max(steps, getattr(chunk, "steps", 1))
            update["status"] = status_html("running", f"Step {chunk.step} of {chunk.steps}: {stage} · "
                                                      f"{time.perf_counter() - started:.1f} s")
        if getattr(chunk, "notes", None):
            notes.append(chunk.notes)
            update["notes"] = "\n\n".join(notes)
        text += chunk.text
        if chunk.stats is not None:
            stats, quality = chunk.stats, getattr(chunk, "quality", None)
            text = getattr(chunk, "final_text", None) or text
        yield {**update, "minutes": text}
    files = write_exports("minutes", {"minutes.md": text.strip() + "\n", "action_items.csv": mn.action_items_csv(text),
                                      "transcript_used.txt": (transcript or "").strip() + "\n"})
    # the code box and the notebook: one recipe, from what the run used (its model's quantization, known only now)
    recipe = nbs.minutes_recipe(transcript or "", model or mn.default_model(),
                                max_new_tokens=int(max_new_tokens or 1024),
                                quantization=stats.quantization if stats else "fp32", minutes=text, stats=stats)
    yield {"status": _final_status(quality, stats, steps, started, notices), "minutes": text,
           "notes": "\n\n".join(notes), "files": files, "code": recipe.code,
           "notebook": notebook_file("minutes", "minutes", recipe)}


def minutes_cleared() -> dict:
    """A new transcription started: the minutes written from the old transcript (and their status, downloads,
    notes, code and notebook) no longer belong next to it."""
    return {"status": "", "minutes": "", "files": None, "notes": "", "code": "", "notebook": None}


def transcript_edited(transcript: str | None) -> dict:
    """The transcript was edited by hand: the recording's stats and downloads no longer describe it (the minutes'
    downloads carry the text they were written from)."""
    note = ("✎ Edited by hand: the minutes are written from this text. The recording's stats and its .txt/.srt/.vtt "
            "downloads no longer apply, so they were removed; the minutes' downloads include the transcript used.")
    return {"t_stats": note, "t_files": None}


def sample_recording() -> str:
    """The sample meeting (served from ``assets/minutes``: ``tabs.kit.blocks.launch_kwargs`` allows that folder)."""
    return str(SAMPLE)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Minutes tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives a speech model id as "minutes.asr".
    """
    ctx = as_context(ctx)
    settings = ctx.settings
    with gr.Tab("Minutes", id="minutes"):
        gr.Markdown("Turn a meeting recording into minutes: Whisper writes a timestamped transcript (any length, "
                    "in 30 s windows), then an LLM streams Markdown minutes with action items, owners and the "
                    "timestamp each action comes from. Long transcripts are summarized part by part first.")
        with gr.Row():
            with gr.Column(scale=3):
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Meeting recording",
                                 elem_id="min-audio")
                # a button, not gr.Examples: Gradio probes an example's audio with ffprobe while the app is built
                # (~0.07 s of every start); the button's file is probed when clicked
                sample = gr.Button("Try the sample recording (a short synthetic meeting, 41 s)", size="sm",
                                   elem_id="min-sample")
            with gr.Column(scale=2):
                asr = model_picker("asr", sp.default_model(settings),
                                  label="Speech model", elem_id="min-asr",
                                  info="faster-whisper (CTranslate2) is fastest on CPU; large-v3 turbo on a GPU")
                lang = ChoiceBox(LANGUAGES, value="auto", label="Language",
                                   elem_id="min-lang")
                llm = model_picker("chat", mn.default_model(settings),
                                  label="Minutes model", elem_id="min-llm")
                max_new = gr.Slider(16, 4096, value=1024, step=16, label="Max minutes length (tokens)",
                                    elem_id="min-maxnew")
        with gr.Row():
            both = gr.Button("Transcribe + write minutes", variant="primary", elem_id="min-both")
            go_t = gr.Button("Transcribe only", elem_id="min-transcribe")
            go_m = gr.Button("Write minutes from the transcript", elem_id="min-write")
        with gr.Row():
            with gr.Column():
                t_out = {"t_status": gr.HTML(elem_id="min-tstatus"), "t_stats": gr.Markdown(elem_id="min-tstats"),
                         "transcript": gr.Textbox(label="Transcript (editable: the minutes are written from this "
                                                        "text)", lines=12, max_lines=30, elem_id="min-transcript"),
                         "t_files": gr.File(label="Transcript downloads (.txt, .srt, .vtt)", file_count="multiple",
                                            interactive=False, elem_id="min-tfiles")}
            with gr.Column():
                gr.Markdown("#### Minutes")
                m_out = {"status": gr.HTML(elem_id="min-status"),
                         "minutes": gr.Markdown(label="Minutes", elem_id="min-minutes", min_height=200),
                         "files": gr.File(label="Minutes downloads (minutes.md, action_items.csv)",
                                          file_count="multiple", interactive=False, elem_id="min-mfiles")}
        with gr.Accordion("Notes per part (long transcripts)", open=False, elem_id="min-notes-acc"):
            m_out["notes"] = gr.Markdown(elem_id="min-notes")
        with gr.Accordion("Show code", open=False, elem_id="min-code-acc"):
            t_out["t_code"] = gr.Code(language="python", label="Transcription", elem_id="min-tcode")
            t_out["t_notebook"] = gr.File(label="Transcription " + NOTEBOOK_LABEL[0].lower() + NOTEBOOK_LABEL[1:],
                                          interactive=False, elem_id="min-tnotebook")
            m_out["code"] = gr.Code(language="python", label="Minutes", elem_id="min-mcode")
            m_out["notebook"] = gr.File(label="Minutes " + NOTEBOOK_LABEL[0].lower() + NOTEBOOK_LABEL[1:],
                                        interactive=False, elem_id="min-mnotebook")

        t_run = {"status": "t_status", "clear": ("t_stats", "transcript", "t_files", "t_code", "t_notebook"),
                 "running": "Checking and decoding the audio…", **GPU_EVENT}
        m_run = {"status": "status", "clear": ("minutes", "files", "notes", "code", "notebook"),
                 "running": "Writing the minutes…", **GPU_EVENT}
        on(sample.click, sample_recording, [], audio, api_name=False, queue=False)
        for start in (go_t.click, both.click):  # a new transcript: the old minutes go at once
            on(start, minutes_cleared, [], m_out, api_name=False, queue=False)
        transcribe, write = with_settings(transcribe_meeting, settings), with_settings(write_minutes, settings)
        on(go_t.click, transcribe, [audio, asr, lang], t_out, api_name="transcribe", **t_run)
        on(go_m.click, write, [t_out["transcript"], llm, max_new], m_out, api_name="minutes", **m_run)
        transcribed = on(both.click, transcribe, [audio, asr, lang], t_out, api_name=False, **t_run)
        on(transcribed.success, write, [t_out["transcript"], llm, max_new], m_out, api_name=False, **m_run)
        on(t_out["transcript"].input, transcript_edited, [t_out["transcript"]],
           {k: t_out[k] for k in ("t_stats", "t_files")}, api_name=False, queue=False)
    if links is not None:
        links.register("minutes.asr", "minutes", asr)
