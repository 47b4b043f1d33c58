"""Input validation for image generation: prompt, size, steps and seed, checked before anything is loaded."""

from __future__ import annotations

import secrets
from typing import Any

from engines import errors

SIZE_MULTIPLE = 16
MIN_SIZE = 64
MAX_SIZE = 2048
MAX_STEPS = 50
MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 10_000


def random_seed() -> int:
    """A uniformly random seed in [0, 2**32 - 1]."""
    return secrets.randbelow(MAX_SEED + 1)


def parse_seed(value: Any) -> int | None:
    """A seed from user input: an exact integer, a digit string, or empty/None for "random".

    Args:
        value: what the UI or an API caller sent.

    Returns:
        The seed, or None when ``value`` is empty.

    Raises:
        InvalidInput: not a whole number, negative, or above 2**32 - 1.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise errors.InvalidInput("The seed must be a whole number, not true/false.")
    if isinstance(value, float):
        if not value.is_integer():
            raise errors.InvalidInput(f"The seed must be a whole number; got {value}.")
        if abs(value) > 2**53:  # a float this large has already lost digits: refuse rather than guess
            raise errors.InvalidInput("That seed arrived as a floating-point number and lost precision; send it as "
                                      f"an integer or a string. Seeds go from 0 to {MAX_SEED}.")
        value = int(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        if not text.lstrip("+-").isdigit():
            raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}; got '{value[:40]}'.")
        value = int(text)
    if not isinstance(value, int):
        raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}.")
    check_seed(value)
    return value


def check_seed(seed: int) -> None:
    """Raise InvalidInput unless ``seed`` is an int in [0, 2**32 - 1]."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}.")
    if seed < 0:
        raise errors.InvalidInput(f"The seed {seed} is negative; seeds go from 0 to {MAX_SEED}.")
    if seed > MAX_SEED:
        raise errors.InvalidInput(f"The seed {seed} is too large; seeds go from 0 to {MAX_SEED} (2**32 - 1).")


def check_size(width: int, height: int) -> None:
    """Raise InvalidInput unless both sides are whole multiples of 16 in [MIN_SIZE, MAX_SIZE]."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.InvalidInput(f"The {name} must be a whole number of pixels.")
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise errors.InvalidInput(f"The {name} {value} is out of range: use {MIN_SIZE} to {MAX_SIZE} pixels.")
        if value % SIZE_MULTIPLE:
            lo = value // SIZE_MULTIPLE * SIZE_MULTIPLE
            raise errors.InvalidInput(f"The {name} {value} is not a multiple of {SIZE_MULTIPLE}: use {lo} or "
                                      f"{lo + SIZE_MULTIPLE}.")


def check_steps(steps: int) -> None:
    """Raise InvalidInput unless 1 <= steps <= MAX_STEPS."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise errors.InvalidInput(f"Steps must be a whole number from 1 to {MAX_STEPS} (FLUX.1 [schnell] and "
                                  f"SD-Turbo need 1-4); got {steps}.")


def check_prompt(prompt: str) -> str:
    """The prompt, stripped; raise InvalidInput when it is empty or absurdly long."""
    text = (prompt or "").strip() if isinstance(prompt, str) else ""
    if not text:
        raise errors.InvalidInput("The prompt is empty: describe the image you want.")
    if len(text) > MAX_PROMPT_CHARS:
        raise errors.InvalidInput(f"The prompt is {len(text):,} characters; text encoders read at most a few hundred "
                                  f"tokens (~1,000 characters). Shorten it below {MAX_PROMPT_CHARS:,} characters.")
    return text


def check_request(prompt: str, steps: int, width: int, height: int, seed: int | None) -> tuple[str, int]:
    """Check one generation request before anything is loaded (prompt, steps, size, then seed).

    Args:
        prompt: the prompt as given.
        steps: denoising steps.
        width: image width in pixels.
        height: image height in pixels.
        seed: the seed, or None for a random one.

    Returns:
        (the stripped prompt, the seed to use).

    Raises:
        InvalidInput: the first value out of range.
    """
    prompt = check_prompt(prompt)
    check_steps(steps)
    check_size(width, height)
    if seed is None:
        seed = random_seed()
    check_seed(seed)
    return prompt, seed
