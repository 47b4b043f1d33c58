"""Plain-Python engines behind the LLM Workbench tabs. Never imports gradio."""
