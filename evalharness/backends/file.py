"""Precomputed hypotheses, one per line, for systems that run elsewhere."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from evalharness.backends.base import Backend
from evalharness.backends.registry import register_backend
from evalharness.corpus.ingest import decode_utf8, read_input, split_lines
from evalharness.errors import UserError


class FileBackend(Backend):
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise UserError("no such hypothesis file", path)
        data = read_input(path)
        self.sha256 = hashlib.sha256(data).hexdigest()
        text = decode_utf8(data, path)
        self.lines = split_lines(text)
        self._by_source: dict[str, str] = {}

    def prepare(self, sources: Sequence[str], src_lang: str, tgt_lang: str) -> None:
        if len(self.lines) != len(sources):
            raise UserError(
                f"has {len(self.lines)} lines but the test set has {len(sources)} segments for {src_lang}-{tgt_lang}",
                self.path,
            )
        for n, (src, hyp) in enumerate(zip(sources, self.lines, strict=True), start=1):
            if self._by_source.setdefault(src, hyp) != hyp:
                raise UserError(
                    f"line {n}: a repeated source segment has two different hypotheses", self.path
                )

    def translate(self, segments: Sequence[str], src_lang: str, tgt_lang: str) -> list[str]:
        if not self._by_source:
            raise RuntimeError("FileBackend.prepare() must run before translate()")
        return [self._by_source[s] for s in segments]

    def describe(self) -> dict:
        return {"file": self.path.name, "sha256": self.sha256}

    def determinism(self) -> dict:
        return {"deterministic": True, "note": "precomputed hypotheses, identified by the file's sha256"}


@register_backend("file")
def make_file(argument: str | None = None, **options) -> FileBackend:
    if not argument:
        raise UserError("the file backend needs a path: file:PATH")
    return FileBackend(Path(argument))
