"""A bare Gradio app with the crowd bench's five cheap API names, each doing next to nothing (the baseline of
``bench_load.py --clients N --bare``): what Gradio and this machine add to a cheap call under a crowd, with none of
the app's work. Usage: ``python bench/bare_app.py PORT``."""

from __future__ import annotations

import sys

import gradio as gr


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        status = gr.HTML()
        text, flag, models, what, ids = gr.Textbox(), gr.Checkbox(), gr.JSON(), gr.Textbox(), gr.Textbox()
        a, b, c = gr.Number(), gr.Number(), gr.Number()
        out_html, out_md, out_text = gr.HTML(), gr.Markdown(), gr.Textbox()
        go = gr.Button()
        go.click(lambda: "<div>idle</div>", None, status, api_name="status")
        go.click(lambda toks, t, f: f"<b>{len(t)} characters</b>", [models, text, flag], out_html, api_name="tokenize")
        go.click(lambda ms, w: f"{len(ms)} model(s), {w}", [models, what], out_md, api_name="model_facts")
        go.click(lambda x, y, z: f"{x * y + z:.1f}", [a, b, c], out_md, api_name="chinchilla")
        go.click(lambda tok, i: i.replace(",", " "), [what, ids], out_text, api_name="decode")
    return demo


if __name__ == "__main__":
    build().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
