"""The app's Blocks: where every call passes, whichever tab, client or protocol (browser, gradio_client, MCP).

``WorkbenchBlocks`` runs, before Gradio preprocesses a call: the one input policy (``tabs.inputs``) and the one
per-session rate limit for expensive events (``tabs.common.expensive`` marks them); Gradio's own preprocessing
errors become specific ``gr.Error``s instead of "upstream app raised an exception". ``publish_api`` makes each API
name the tool name MCP clients see and keeps each parameter's whole description in the schema.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import re

import gradio as gr
from gradio.blocks import convert_component_dict_to_list

from engines.config import Settings
from tabs.access import BearerAuth, ClientAddress, LoginThrottle  # noqa: F401  (LoginThrottle: re-export)
from tabs.build_once import BuildOnce
from tabs.common import RateLimiter, limiter_from_env
from tabs.event_queue import WakingQueue
from tabs.inputs import check_inputs
from tabs.sessions import BoundedStateHolder, SessionAddress, lean_throwaway_sessions

log = logging.getLogger("workbench.server")
NEVER = 2**62  # events between two summaries of Gradio's monitoring page, when the page is off


# A run's status line already says "Failed" and why: Gradio's own "Error" badge on it would cover the text.
CSS = """
.block:has(.run-status) [data-testid="status-tracker"].error,
.block:has(.run-status) [data-testid="status-tracker"] .error { display: none !important; }
/* A dropdown's arrow is drawn over the right end of its input: keep the text clear of it (cut with an ellipsis in
   a narrow box, as on a phone) */
.wrap-inner .secondary-wrap input[role="combobox"] { padding-right: 24px; text-overflow: ellipsis; }
"""


def patient_start_check(limit_s: float = 300.0) -> None:
    """Gradio's start check (``networking.url_ok``: is the new server answering ``HEAD /``?) with a generous limit.

    Gradio sends one HEAD with a 3 s timeout and takes a timeout as "localhost is not accessible": the launch then
    failed with "a shareable link must be created". This app's page takes 70-220 ms to make on a quiet machine,
    and more than 3 s on a loaded one (an in-process launch failed so in a loaded test run). Here a slow answer is
    waited for (up to ``limit_s``); a refused connection still fails at once, as in Gradio. Process-wide,
    idempotent."""
    import time

    import httpx
    from gradio import networking

    if getattr(networking.url_ok, "_workbench", False):
        return

    def url_ok(url: str) -> bool:
        deadline, answers = time.monotonic() + limit_s, 0
        while answers < 5:  # as Gradio: five answers that aren't OK fail it
            try:
                response = httpx.head(url, timeout=30, verify=False)
            except httpx.TimeoutException:
                if time.monotonic() > deadline:
                    return False
                continue
            except (ConnectionError, httpx.ConnectError):
                return False
            if response.status_code in (200, 401, 301, 302, 303, 307, 308):
                return True
            answers += 1
            time.sleep(0.5)
        return False

    url_ok._workbench = True
    networking.url_ok = url_ok


def skip_matplotlib_probe() -> None:
    """Without matplotlib installed, make Gradio's per-event matplotlib backend switch a no-op.

    Gradio wraps every call in ``MatplotlibBackendMananger``, which imports matplotlib on the way in and on the way
    out; a failed import is not cached, so each event searched every ``sys.path`` entry twice on the event loop
    (~5 % of the loop's time under a crowd of cheap calls). With matplotlib absent the switch does nothing anyway;
    with it installed, Gradio's switch stays."""
    import contextlib
    import importlib.util

    from gradio import utils

    if importlib.util.find_spec("matplotlib") is None:
        utils.MatplotlibBackendMananger = contextlib.nullcontext  # (sic: Gradio's name)


def share_api_schemas() -> None:
    """Make the JSON schema of each Gradio data model once, not once per component.

    A component's ``api_info`` (in the app's config and API description) is its data model's pydantic JSON schema,
    made per component instance: the app's 192 components asked pydantic 64 times for a handful of models (File,
    Image, Audio, ...), ~0.1 s of every start. Each component still gets its own copy."""
    import copy

    from gradio.components.base import Component

    if getattr(Component.api_info, "shared", False):
        return
    made = Component.api_info  # Gradio's: makes the schema and keeps it on the component
    schemas: dict[type, dict] = {}  # data model → its schema (two threads making one at once is only wasted work)

    def api_info(self) -> dict:
        model = getattr(self, "data_model", None)
        if self._api_info_cache is None and model is not None:
            if model not in schemas:
                schemas[model] = copy.deepcopy(made(self))
            self._api_info_cache = copy.deepcopy(schemas[model])
        return made(self)

    api_info.shared, api_info.schemas = True, schemas
    Component.api_info = api_info


class WorkbenchBlocks(BuildOnce, gr.Blocks):
    """``gr.Blocks`` with the input policy and the session rate limit applied to every event."""

    def __init__(self, *args, settings: Settings | None = None, **kwargs):
        # Gradio's cache (uploads, and the copies of files it serves) is bounded: files older than an hour go
        kwargs.setdefault("delete_cache", (1800, 3600))
        self.workbench_settings = settings or Settings.from_env()  # before Gradio's __init__: it sets ``app``
        share_api_schemas()
        super().__init__(*args, **kwargs)
        self.rate_limiter: RateLimiter | None = limiter_from_env(self.workbench_settings)

    @property
    def app(self):
        """The served app (Gradio sets it at launch(); made when first read otherwise: ``BuildOnce``)."""
        return self.made_app()

    @app.setter
    def app(self, value) -> None:
        # session state is bounded (tabs/sessions.py): swap Gradio's holder before the app serves a request
        if value is not None and not isinstance(getattr(value, "state_holder", None), BoundedStateHolder):
            settings = self.workbench_settings
            value.state_holder = BoundedStateHolder(settings.max_sessions, settings.max_sessions_per_address)
            value.state_holder.set_blocks(self)
            lean_throwaway_sessions()  # and calls without a session get a lean one too
            # which address each new session comes from: the innermost middleware (appended, where add_middleware
            # would put it outermost), so it sees the address access.ClientAddress resolved from a trusted proxy
            from starlette.middleware import Middleware

            value.user_middleware.append(Middleware(SessionAddress))
        self.__dict__["_workbench_app"] = value

    def queue(self, *args, **kwargs):
        """Gradio's queue (``Blocks.__init__`` makes one, ``demo.queue(...)`` another), its loops woken when there
        is something to do instead of polling (``tabs/event_queue.py``)."""
        super().queue(*args, **kwargs)
        self._queue.__class__ = WakingQueue  # made as Gradio makes it; only the loop's waiting differs
        return self

    def launch(self, *args, **kwargs):
        if not kwargs.get("enable_monitoring"):
            # Gradio summarizes every recorded event after each event (a pandas frame of up to 10,000 events,
            # grouped, with percentiles: 4-27 ms holding the GIL, per event) for its monitoring page, which is off
            # unless asked for: with the page off, the summary is never made
            self._queue.ANAYLTICS_CACHE_FREQUENCY = NEVER  # (sic: Gradio's name)
        skip_matplotlib_probe()
        patient_start_check()
        return super().launch(*args, **kwargs)

    async def process_api(self, block_fn, inputs, state=None, request=None, iterator=None, *args, **kwargs):
        """Check the inputs (first call of an event only), then let Gradio run it."""
        fn = self.fns[block_fn] if isinstance(block_fn, int) else block_fn
        if iterator is None:
            _refuse_a_stream_called_directly(fn, request)
            try:
                check_inputs(fn, inputs, self.workbench_settings)
            except gr.Error:
                raise
            except Exception as exc:  # the policy itself must never turn bad input into a generic crash
                log.error("input check failed on %s", fn.api_name, exc_info=exc)
                raise gr.Error("The inputs could not be read: check their types and format.", title="Invalid input",
                               print_exception=False) from None
            if self.rate_limiter is not None and getattr(fn.fn, "_workbench_expensive", False):
                self.rate_limiter.check(_session(request))
        try:
            return await super().process_api(fn, inputs, state, request, iterator, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            if type(exc).__name__ in ("ComponentProcessingError", "ValidationError"):
                raise gr.Error(_processing_message(fn, exc), title="Invalid input", print_exception=False) from None
            raise

    async def postprocess_data(self, block_fn, predictions, state):
        """Gradio's postprocessing, minus its work for the outputs a handler left unchanged.

        An output a handler's dict doesn't name (``tabs.common.on``; a stream's coalescer drops the ones already
        sent) is ``gr.skip()``. For each such output Gradio made a new component from the old one's arguments, on the
        event loop, to send "no change": ~0.3-0.9 ms per output. A Compare stream leaves ~30 of its 33 outputs
        unchanged in each update, up to 20 times a second, so every model stream spent ~10-20 ms of the loop per
        update, and every other call (the cheap ones a crowd makes) waited behind it. Here those outputs go out
        as the same "no change" directly; the rest go through Gradio as before."""
        outputs = block_fn.outputs
        if block_fn.batch or block_fn.is_validator_function or len(outputs) < 2:
            return await super().postprocess_data(block_fn, predictions, state)
        if isinstance(predictions, dict):
            if predictions == gr.skip():
                predictions = [gr.skip() for _ in outputs]
            elif predictions and all(isinstance(k, gr.blocks.Block) for k in predictions):
                predictions = convert_component_dict_to_list(list(outputs), predictions)
        if not isinstance(predictions, (list, tuple)) or len(predictions) != len(outputs):
            return await super().postprocess_data(block_fn, predictions, state)  # Gradio's own warnings and errors
        keep = [i for i, value in enumerate(predictions) if outputs[i].stateful or not _unchanged(value)]
        if len(keep) == len(outputs):
            return await super().postprocess_data(block_fn, predictions, state)
        out = [gr.skip() for _ in outputs]
        if not keep:
            return out
        part = copy.copy(block_fn)  # the same event, with only the outputs that change
        part.outputs = [outputs[i] for i in keep]
        values = [predictions[i] for i in keep]
        done = await super().postprocess_data(part, values if len(keep) > 1 else values[0], state)
        for i, value in zip(keep, done, strict=True):
            out[i] = value
        return out

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        """Gradio's API info, with a parameter optional wherever its handler gives it a default.

        Gradio counts a parameter optional only when its component has an initial value or the handler's default is
        None, so ``labels: str = ""`` showed as required to API and MCP clients.
        """
        info = super().get_api_info(all_endpoints, page)
        handlers = {f"/{fn.api_name}": fn.fn for fn in self.fns.values() if fn.api_name and fn.fn is not None}
        for name, endpoint in info.get("named_endpoints", {}).items():
            try:
                params = inspect.signature(handlers[name]).parameters
            except (KeyError, TypeError, ValueError):
                continue
            for p in endpoint.get("parameters", []):
                param = params.get(p.get("parameter_name"))
                if param is not None and param.default is not inspect.Parameter.empty \
                        and not p.get("parameter_has_default"):
                    p["parameter_has_default"], p["parameter_default"] = True, param.default
        return info


_DIRECT = re.compile(r"/(?:run|api)/[^/]+/?$")  # Gradio's routes that run an event at once, outside the queue


def _refuse_a_stream_called_directly(block_fn, request) -> None:
    """A streaming event called on Gradio's direct route (``POST /gradio_api/run/<name>``, which answers with the
    first update only) is refused, naming the route that gives the whole result. Its first update is the status
    line's "Running…" with every result empty: a curl user took that for the answer."""
    if not (inspect.isgeneratorfunction(block_fn.fn) or inspect.isasyncgenfunction(block_fn.fn)):
        return
    request = request[0] if isinstance(request, list) and request else request
    path = str(getattr(getattr(request, "url", None), "path", "") or "")
    if _DIRECT.search(path):
        name = block_fn.api_name or "<name>"
        raise gr.Error(f"'{name}' streams its result, so a direct call would get only its first update. Call it "
                       f"through the queue: POST /gradio_api/call/{name} with {{\"data\": [...]}}, then GET "
                       f"/gradio_api/call/{name}/<event_id> (or use gradio_client).", title="Use the queue",
                       print_exception=False)


def _unchanged(value) -> bool:
    """Whether an output's value is ``gr.skip()``: "leave it as it is" (an update that sets nothing)."""
    return isinstance(value, dict) and len(value) == 1 and value.get("__type__") == "update"


def _session(request) -> str:
    request = request[0] if isinstance(request, list) and request else request
    session = getattr(request, "session_hash", None)
    host = getattr(getattr(request, "client", None), "host", None)
    return session or host or "anonymous"


def _processing_message(block_fn, exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"input component at index (\d+)", text)
    expected = re.search(r"Expected an? `([^`]+)`", text)
    where = ""
    if match:
        index = int(match.group(1))
        names = [p for p in inspect.signature(block_fn.fn).parameters]
        where = f" '{names[index]}'" if index < len(names) else f" {index + 1}"
    what = f": expected {expected.group(1)}" if expected else ""
    return f"Input{where} could not be read{what}. Check its type and format."


# ------------------------------------------------------------------------------------------- unknown endpoints


def _unknown_endpoint(request, exc):
    from fastapi.responses import JSONResponse

    if isinstance(exc, KeyError) and "/queue/join" not in request.url.path:
        log.error("unexpected KeyError in %s", request.url.path, exc_info=exc)
        return JSONResponse({"error": "Internal error: the details are in the server log."}, status_code=500)
    return JSONResponse({"error": "No such API endpoint (or event). GET /gradio_api/info lists the endpoints and "
                                  "their parameters."}, status_code=404)


def app_kwargs(settings: Settings | None = None, mcp_tokens: dict[str, str] | None = None) -> dict:
    """FastAPI options of the served app: an unknown API name or event index answers 404 with a hint, not 500;
    client addresses trust X-Forwarded-For only from configured proxies; failed logins are throttled per (client
    address, user name) (WORKBENCH_LOGIN_ATTEMPTS per 5 minutes, default 5); MCP needs a bearer token
    (``tabs.access``)."""
    from gradio.route_utils import FnIndexInferError
    from starlette.middleware import Middleware

    settings = settings or Settings.from_env()
    attempts = settings.login_attempts
    return {"exception_handlers": {FnIndexInferError: _unknown_endpoint, KeyError: _unknown_endpoint},
            "middleware": [Middleware(ClientAddress, trusted=settings.trusted_proxies, space_hop=settings.on_space),
                           Middleware(LoginThrottle, max_failures=attempts),
                           Middleware(BearerAuth, tokens=mcp_tokens)]}


# --------------------------------------------------------------------------------------------- the API as tools

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Yields|Raises|Examples?|Note):\s*$")
_PARAM = re.compile(r"^(\*{0,2}\w+)(\s*\([^)]*\))?:\s*(.*)$")


def one_line_args(doc: str | None) -> str | None:
    """The docstring with each ``Args:`` entry joined onto one line (Gradio's MCP parser keeps only first lines)."""
    if not doc:
        return doc
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    in_args = False
    for line in lines:
        stripped = line.strip()
        section = _SECTION.match(stripped)
        if section:
            in_args = section.group(1) in ("Args", "Arguments", "Parameters")
            out.append(stripped)
            continue
        if in_args and stripped:
            if _PARAM.match(stripped) and line.startswith("    ") and not line.startswith("     "):
                out.append("    " + stripped)
            elif out:
                out[-1] = out[-1] + " " + stripped
            continue
        out.append(line)
    return "\n".join(out)


def _renamed(fn, name: str):
    """A thin wrapper of ``fn`` named ``name`` (same signature, same kind of callable, same attributes)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            yield from fn(*args, **kwargs)
    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            return await fn(*args, **kwargs)
    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = one_line_args(fn.__doc__)
    return wrapper


def publish_api(demo: gr.Blocks) -> list[str]:
    """Name every API function after its ``api_name`` (MCP tool name = API name) with one-line Args entries.

    Returns:
        The API names, in definition order.
    """
    names = []
    for block_fn in demo.fns.values():
        api_name = block_fn.api_name
        if not api_name or block_fn.fn is None or block_fn.api_visibility == "private":
            continue
        block_fn.fn = _renamed(block_fn.fn, re.sub(r"[^A-Za-z0-9_]", "_", str(api_name)))
        names.append(str(api_name))
    return names


def _pop_state_outputs(components, data):
    """Gradio's MCP server drops State outputs by popping their indices from the output list one by one, so a
    State output not last (or a list already without it) raises "pop index out of range" and the tool fails (the
    Compare tab's conversation State broke the `compare` tool). Same intent, without the index drift."""
    from gradio.components import State

    if not isinstance(data, list) or len(data) != len(components):
        return data  # nothing to align with: leave it as Gradio made it
    return [value for component, value in zip(components, data, strict=True) if not isinstance(component, State)]


def _patch_mcp_state() -> None:
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:  # gradio without the mcp extra: no MCP server to patch
        return
    GradioMCPServer.pop_returned_state = staticmethod(_pop_state_outputs)


_patch_mcp_state()
