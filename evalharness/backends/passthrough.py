"""The floor every real system must beat: the source, unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from evalharness.backends.base import Backend
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError


class Passthrough(Backend):
    kind = "passthrough"

    def translate(self, segments: Sequence[str], src_lang: str, tgt_lang: str) -> list[str]:
        return list(segments)

    def describe(self) -> dict:
        return {}

    def determinism(self) -> dict:
        return {"deterministic": True, "note": "the source, unchanged"}


@register_backend("passthrough")
def make_passthrough(argument: str | None = None, **options) -> Passthrough:
    if argument:
        raise UserError(f"passthrough takes no argument (got {argument!r})")
    return Passthrough()
