"""What one generation returns: the image, how it was made, and its PNG with the run's metadata in text chunks."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.images.plan import LoadPlan


@dataclass
class ImageResult:
    """One generated image and how it was made. ``seconds`` = generation time (load time excluded)."""

    image: Any
    seed: int
    seconds: float
    prompt: str = ""
    model: str = ""
    model_ref: str = ""
    steps: int = 0
    width: int = 0
    height: int = 0
    guidance_scale: float = 0.0
    max_sequence_length: int | None = None
    pipeline: str = ""
    plan: LoadPlan | None = None
    load_s: float = 0.0
    cache_hit: bool = False
    step_seconds: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    prompt_token_limit: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        """Mean seconds per denoising step (the first step, which includes text encoding, left out when possible)."""
        steps = self.step_seconds[1:] or self.step_seconds
        return sum(steps) / len(steps) if steps else 0.0

    @property
    def metadata(self) -> dict[str, str]:
        """PNG text chunks: prompt, seed, steps, size, model, and an A1111-style "parameters" line."""
        meta = {"prompt": self.prompt, "seed": str(self.seed), "steps": str(self.steps), "width": str(self.width),
                "height": str(self.height), "model": self.model, "guidance_scale": f"{self.guidance_scale:g}",
                "pipeline": self.pipeline, "software": "LLM Workbench (diffusers)"}
        if self.max_sequence_length:
            meta["max_sequence_length"] = str(self.max_sequence_length)
        meta["parameters"] = (f"{self.prompt}\nSteps: {self.steps}, Pipeline: {self.pipeline}, CFG scale: "
                              f"{self.guidance_scale:g}, Seed: {self.seed}, Size: {self.width}x{self.height}, "
                              f"Model: {self.model}")
        return meta

    def png_bytes(self) -> bytes:
        """The image as PNG bytes with ``metadata`` in tEXt/iTXt chunks."""
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in self.metadata.items():
            info.add_itxt(key, value) if not value.isascii() else info.add_text(key, value)
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", pnginfo=info)
        return buf.getvalue()

    def save_png(self, path: str | Path) -> Path:
        """Write the PNG (with metadata) to ``path``; returns the path."""
        path = Path(path)
        path.write_bytes(self.png_bytes())
        return path


def read_png_metadata(png: str | Path | bytes) -> dict[str, str]:
    """The text chunks of a PNG (what ``ImageResult.png_bytes`` wrote).

    Args:
        png: a path or the PNG bytes.

    Returns:
        key → value.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png) if isinstance(png, bytes) else png) as img:
        return {k: str(v) for k, v in getattr(img, "text", {}).items()}
