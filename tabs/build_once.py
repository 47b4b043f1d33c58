"""Build the app's config and its FastAPI app once at start-up, not four times.

Gradio (6.x) makes the whole config (``get_config_file``: every block's and event's config, ~850 blocks and ~160
events here) and a FastAPI app (``App.create_app``: ~80 routes) at each step of a start: ``Blocks.__init__`` and
``queue()`` make an app (of an empty Blocks), leaving the ``with`` block makes the config and an app, ``launch()``
makes the config and an app, and each app made makes the config once more (``App.setup_mcp_server``). Only the
last app and the last config are ever served: the rest cost ~0.6 s of a ~4 s start (``bench/bench_startup.py``).

``BuildOnce`` (a mixin of the app's Blocks) skips the intermediate ones:
- while the Blocks is being built (from ``__init__`` to the end of ``with``) no config and no app is made; reading
  ``blocks.config`` or ``blocks.app`` afterwards makes them then (in-process tests and ``gr.mount_gradio_app``
  see what they saw before);
- each component's constructor asks ``inspect.getfullargspec`` of its ``__init__`` (Gradio's ``updateable``), ~1,400
  times for ~25 constructors: the answers are kept (~0.08 s);
- during ``launch()`` the blocks' and events' part of the config (``default_config.get_config()``, nearly all the
  work) is made once and shared by the config made at launch and the one its app makes (nothing changes the blocks
  in between); the top-level fields (the MCP flag and the rest) are still made each time.
"""

from __future__ import annotations

import functools
import inspect

from gradio import component_meta, routes

_BUILDING = "_workbench_building"


class BuildOnce:
    """Mixin for ``gr.Blocks``: no config nor app while building, one blocks config per launch (see the module)."""

    def __init__(self, *args, **kwargs):
        self.__dict__[_BUILDING] = True
        super().__init__(*args, **kwargs)

    def __exit__(self, exc_type=None, *args):
        try:
            return super().__exit__(exc_type, *args)
        finally:
            self.__dict__[_BUILDING] = False

    def get_config_file(self):
        if self.__dict__.get(_BUILDING):
            return None  # made when first read (the ``config`` property), once the blocks are all there
        return super().get_config_file()

    @property
    def config(self):
        """Gradio's config of this Blocks (made when first read after the build)."""
        value = self.__dict__.get("_workbench_config")
        if value is None and not self.__dict__.get(_BUILDING):
            value = self.__dict__["_workbench_config"] = self.get_config_file()
        return value

    @config.setter
    def config(self, value) -> None:
        self.__dict__["_workbench_config"] = value

    def made_app(self):
        """The served app if one was made, else the one Gradio makes on leaving ``with`` (made now)."""
        value = self.__dict__.get("_workbench_app")
        if value is None and not self.__dict__.get(_BUILDING):
            self.app = routes.App.create_app(self, mcp_server=False)
            value = self.__dict__.get("_workbench_app")
        return value

    def launch(self, *args, **kwargs):
        blocks_config = self.default_config
        made: dict = {}
        make = blocks_config.get_config

        def once(renderable=None):
            if renderable is not None:
                return make(renderable)
            if "config" not in made:
                made["config"] = make()
            return made["config"]

        blocks_config.get_config = once  # on the instance: gone again after launch
        try:
            return super().launch(*args, **kwargs)
        finally:
            del blocks_config.get_config


def _create_app(create):
    def create_app(blocks, *args, **kwargs):
        if getattr(blocks, "__dict__", {}).get(_BUILDING):
            return None  # a BuildOnce Blocks still being built: its app is made when first needed
        return create(blocks, *args, **kwargs)

    create_app.__wrapped__ = create
    return create_app


if not hasattr(routes.App.create_app, "__wrapped__"):
    routes.App.create_app = staticmethod(_create_app(routes.App.create_app))


class _KeptArgSpecs:
    """``inspect`` as ``gradio.component_meta`` sees it, with ``getfullargspec`` answers kept per function."""

    getfullargspec = staticmethod(functools.lru_cache(maxsize=1024)(inspect.getfullargspec))

    def __getattr__(self, name):
        return getattr(inspect, name)


if component_meta.inspect is inspect:
    component_meta.inspect = _KeptArgSpecs()
