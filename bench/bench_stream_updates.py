"""Event-loop time of one streamed update: what every other call waits behind while a model streams.

A stream's update names the outputs that changed; the rest are ``gr.skip()``. Gradio's own postprocessing made a new
component for each of those, on the event loop (``tabs.server.WorkbenchBlocks.postprocess_data`` sends them as "no
change" directly). For the model events' real output lists (Compare: 33 outputs; Next token: 5; Tokenize: 7), one
update with a single output changed, through Gradio's ``postprocess_data`` (the baseline) and the app's, in one run.

Prints ``stream_update_loop_<endpoint>: ratio (ours … vs baseline …)`` (medians of 5 rounds of 50 updates).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from common import report  # noqa: F401  (sets sys.path and the offline environment)

ROUNDS, UPDATES = 5, 50


async def _time(impl, demo, fn, state) -> float:
    update = {fn.outputs[0]: "<b>Generating… 12 tokens</b>"}
    for _ in range(3):
        await impl(demo, fn, dict(update), state)
    start = time.perf_counter()
    for _ in range(UPDATES):
        await impl(demo, fn, dict(update), state)
    return (time.perf_counter() - start) / UPDATES


async def _main() -> None:
    import gradio as gr

    import app
    from tabs.sessions import LeanSessionState

    demo = app.build_demo()
    state = LeanSessionState(demo)
    for name in ("compare", "next_tokens", "tokenize"):
        fn = next(f for f in demo.fns.values() if f.api_name == name)
        ours, theirs = [], []
        for _ in range(ROUNDS):  # alternated, so a busy moment hits both
            theirs.append(await _time(gr.Blocks.postprocess_data, demo, fn, state))
            ours.append(await _time(type(demo).postprocess_data, demo, fn, state))
        print(f"{name}: {len(fn.outputs)} outputs, 1 changed per update")
        report(f"stream_update_loop_{name}", statistics.median(ours), statistics.median(theirs))


if __name__ == "__main__":
    asyncio.run(_main())
