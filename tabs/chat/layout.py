"""The Chat tab's layout and wiring: the chat, the message box with image and audio, the generation settings, the
tools accordion, stats, the prompt as the model sees it, and the downloads."""

from __future__ import annotations

import gradio as gr

from engines import prompts, registry
from engines.config import Settings
from engines.context import Context, as_context
from tabs.chat import handlers as hd
from tabs.common import GPU_EVENT, Links, on, with_settings
from tabs.kit.pickers import model_choices, model_picker


def _default_model(settings: Settings) -> str | None:
    try:
        return registry.default_for("chat", settings.device)
    except Exception:  # noqa: BLE001  (no default for this hardware: the picker starts with the first chat model)
        return next((i for _, i in model_choices("chat")), None)


def _settings_column(settings: Settings) -> dict:
    c = {"model": model_picker("chat", _default_model(settings), label="Model", elem_id="chat-model",
                               info="any Hub id, a local folder, a fine-tuned adapter, openai:<name>, hf:<org/name>, "
                                    "ollama:<name>")}
    c["system"] = gr.Textbox(prompts.DEFAULT_SYSTEM, label="System prompt", lines=2, max_length=100_000,
                             elem_id="chat-system")
    c["temperature"] = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature (0 = greedy)",
                                 elem_id="chat-temperature")
    c["top_p"] = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p (1 = off)", elem_id="chat-top-p")
    c["max_new"] = gr.Slider(1, 4096, value=512, step=1, label="Max new tokens", elem_id="chat-max-new")
    with gr.Accordion("Tools (the model calls them; every step is shown)", open=False, elem_id="chat-tools-acc"):
        choices = hd.builtin_choices(settings)
        c["builtin"] = gr.CheckboxGroup(choices, value=[], label="Built-in tools (the workbench's engines)",
                                        elem_id="chat-builtin",
                                        info=None if choices else "Not available in this build.")
        c["mcp_url"] = gr.Textbox(label="MCP server URL (streamable HTTP)", max_length=2_000, elem_id="chat-mcp-url",
                                  placeholder="http://127.0.0.1:7860/gradio_api/mcp/")
        c["connect"] = gr.Button("Connect", size="sm", elem_id="chat-mcp-connect")
        c["mcp_tools"] = gr.CheckboxGroup([], value=[], label="MCP tools offered", elem_id="chat-mcp-tools")
        c["mcp_found"] = gr.Markdown(elem_id="chat-mcp-found")
        c["step_limit"] = gr.Slider(1, 20, value=5, step=1, label="Step limit (tool calls per turn)",
                                    elem_id="chat-step-limit")
    return c


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Chat tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives a model reference as "chat.model".
    """
    settings = as_context(ctx).settings
    with gr.Tab("Chat", id="chat"):
        gr.Markdown("A multi-turn chat with any model: streamed answers with their speed and the context they use, "
                    "regenerate, edit a message and resend, tools (the workbench's own engines and MCP servers, "
                    "every call shown), images and audio in, and the conversation as JSON or a notebook.")
        state = gr.State(hd.new_state())  # per session, server side: the conversation and the Stop flag
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                out = {"status": gr.HTML(elem_id="chat-status"),
                       "chatbot": gr.Chatbot(label="Conversation", height=520, editable="user",
                                             elem_id="chat-chatbot", buttons=["copy", "copy_all"]),
                       "note": gr.Markdown(elem_id="chat-dropped")}
                out["message"] = gr.Textbox(label="Message", lines=2, max_length=200_000, elem_id="chat-message",
                                            placeholder="Ask something… (Enter sends, Shift+Enter: new line)")
                with gr.Row():
                    out["image"] = gr.Image(type="filepath", label="Attach an image", height=140,
                                            sources=["upload", "clipboard"], elem_id="chat-image")
                    out["audio"] = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                            label="Record or upload audio (transcribed first)", elem_id="chat-audio")
                out["transcript"] = gr.Textbox(label="Transcript of the audio (sent with the message)",
                                               interactive=False, lines=1, elem_id="chat-transcript")
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="chat-send")
                    stop = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                    regen = gr.Button("Regenerate", elem_id="chat-regenerate")
                    edit_last = gr.Button("Edit last", elem_id="chat-edit-last")
                    clear = gr.Button("Clear", elem_id="chat-clear")
                out["stats"] = gr.Markdown(elem_id="chat-stats")
            with gr.Column(scale=2):
                c = _settings_column(settings)
        with gr.Accordion("Prompt as the model sees it (chat template, or the JSON request of an API model)",
                          open=False, elem_id="chat-prompt-acc"):
            out["prompt"] = gr.Code(label="Last prompt sent", elem_id="chat-prompt", lines=12)
        out["files"] = gr.File(label="Download the conversation (JSON) and a notebook that replays it",
                               file_count="multiple", interactive=False, elem_id="chat-files")

        gen = [c["model"], c["system"], c["temperature"], c["top_p"], c["max_new"], c["builtin"], c["mcp_tools"],
               c["step_limit"]]
        run = {"status": "status", "running": "Thinking…", "stop_flag": state, **GPU_EVENT}
        sending = [out["message"], out["image"], out["audio"], state, c["model"], c["system"], c["temperature"],
                   c["top_p"], c["max_new"], c["builtin"], c["mcp_tools"], c["step_limit"]]
        send_message = with_settings(hd.send_message, settings)
        on(send.click, send_message, sending, out, api_name=False, **run)
        on(out["message"].submit, send_message, sending, out, api_name=False, **run)
        on(regen.click, with_settings(hd.regenerate, settings), [state, *gen], out, api_name=False, **run)
        on(out["chatbot"].edit, with_settings(hd.edit_message, settings), [state, *gen], out, api_name=False, **run)
        on(stop.click, hd.stop_chat, state, None, api_name=False, queue=False)
        on(edit_last.click, hd.edit_last, [state], {k: out[k] for k in ("chatbot", "message", "stats", "status")},
           api_name=False, queue=False)
        cleared = {k: out[k] for k in ("chatbot", "stats", "note", "files", "prompt", "transcript", "status")}
        for clearing in (clear.click, out["chatbot"].clear):  # the chat's own trash button clears the history too
            on(clearing, hd.clear_chat, [state], cleared, api_name=False, queue=False)
        on(c["connect"].click, hd.connect_mcp, [c["mcp_url"], state],
           {"mcp_tools": c["mcp_tools"], "mcp_found": c["mcp_found"]}, api_name=False)
        _api(c, settings)
    if links is not None:
        links.register("chat.model", "chat", c["model"])


def _api(c: dict, settings: Settings) -> None:
    """The ``chat`` endpoint (API and MCP): explicit inputs, history in and out as JSON."""
    message = gr.Textbox(visible=False, max_length=200_000, label="message")
    history = gr.JSON(visible=False, label="history")
    answer = gr.Textbox(visible=False, label="answer")
    updated = gr.JSON(visible=False, label="updated history")
    on(gr.Button(visible=False).click, with_settings(hd.chat, settings),
       [message, history, c["model"], c["system"], c["max_new"], c["temperature"]],
       {"answer": answer, "history": updated}, api_name="chat", **GPU_EVENT)
