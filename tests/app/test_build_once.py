"""Start-up makes the app's config and its FastAPI app once (``tabs/build_once.py``): stock Gradio made four apps
(``__init__``, ``queue()``, leaving ``with``, ``launch()``) and the whole blocks config four times, ~0.6 s of a ~4 s
start. What is served is unchanged: the config served equals the config Gradio makes of the same Blocks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COUNT = """
import json, socket, sys, urllib.request
from gradio import blocks, routes
import app

made = {"apps": 0, "configs": 0}
app_init = routes.App.__init__
def counted_app(self, *a, **k):
    made["apps"] += 1
    app_init(self, *a, **k)
routes.App.__init__ = counted_app
blocks_config = blocks.BlocksConfig.get_config
def counted_config(self, renderable=None):
    if renderable is None:
        made["configs"] += 1
    return blocks_config(self, renderable)
blocks.BlocksConfig.get_config = counted_config

demo = app.build_demo()
built = dict(made)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
launched = dict(made)
with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=60) as r:
    served = json.load(r)
import orjson  # as Gradio serves it (infinity as null)
fresh = json.loads(orjson.dumps(blocks.Blocks.get_config_file(demo), default=str))
same = all(json.dumps(served[k], sort_keys=True, default=str) == json.dumps(fresh[k], sort_keys=True, default=str)
           for k in ("components", "dependencies", "layout"))
demo.close()

other = app.build_demo()  # in-process use without launch: the config and the app are there when read
lazy = {"app": other.app is not None, "components": len(other.config["components"]),
        "served components": len(served["components"])}
print(json.dumps({"built": built, "launched": launched, "same": same, "lazy": lazy}))
"""


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_start_up_makes_one_app_and_one_blocks_config_and_serves_the_same_config():
    result = _run(COUNT)
    assert result["built"] == {"apps": 0, "configs": 0}, "building made an app or a config nobody serves"
    assert result["launched"] == {"apps": 1, "configs": 1}, result
    assert result["same"], "the served config differs from Gradio's own config of the same Blocks"
    lazy = result["lazy"]
    assert lazy["app"] and lazy["components"] == lazy["served components"] > 500, lazy
