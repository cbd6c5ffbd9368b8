"""Backend options, checked: every option a backend takes is declared with its type and
default; an option it does not take, or a value of the wrong type, is one line naming the
backend (a misspelt `max_new_token` must not be dropped and then recorded as if applied).
Values come typed from TOML or as text from the command line (`--backend-opt KEY=VALUE`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evalharness.errors import UserError

# Options that count or bound something: 0 beams, 0 new tokens or a 0-second timeout would
# run and give a silently empty or failed translation, so they must be above 0.
ABOVE_ZERO = frozenset(
    {"num_beams", "max_new_tokens", "batch_tokens", "max_batch_size", "max_tokens", "concurrency",
     "timeout", "length_ratio"}
)  # fmt: skip


def checked(backend: str, given: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """`declared`: option -> default (its type is the default's; None defaults take text).
    Options given as None are left at their defaults (the command line passes unset flags)."""
    out = dict(declared)
    for key, value in given.items():
        if value is None:
            continue
        if key not in declared:
            raise UserError(
                f"backend {backend} has no option {key!r} (its options: {', '.join(sorted(declared))})"
            )
        out[key] = _typed(backend, key, value, declared[key])
    return out


def _typed(backend: str, key: str, value: Any, default: Any) -> Any:
    where = f"backend {backend} option {key}={value!r}"
    if isinstance(default, bool):
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true or false")
    if isinstance(default, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        least = 1 if key in ABOVE_ZERO else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise UserError(f"{where}: expected a whole number, {least} or more")
        return value
    if isinstance(default, float):
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise UserError(f"{where}: expected a finite number")
        if number < 0 or (key in ABOVE_ZERO and number == 0):
            raise UserError(f"{where}: expected a number {'above 0' if key in ABOVE_ZERO else '0 or more'}")
        return number
    if not isinstance(value, str):
        raise UserError(f"{where}: expected text")
    return value


def parse_pairs(pairs: list[str] | None) -> dict[str, str]:
    """`--backend-opt KEY=VALUE` strings -> {key: value} (text; the backend types them)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"backend option {pair!r} is not KEY=VALUE")
        out[key.strip().replace("-", "_")] = value
    return out


_URL = re.compile(r"\b(https?://)(?:[^/\s?#]*@)?([^\s?#]*)(?:[?#]\S*)?", re.I)  # to the last @


def redact(text: str) -> str:
    """Text with every URL's user, password, query and fragment removed: options and command
    lines are recorded in reports, and a URL may carry a credential (`https://user:key@host`,
    `?api_key=...`)."""
    return _URL.sub(r"\1\2", text)


def redacted(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in options.items()}
