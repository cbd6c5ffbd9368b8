"""What every model metric shares: its input (a segment's source, hypothesis and references),
its output (a score, and error spans for metrics that mark them), how inference is run
(device, precision, batches bounded by tokens) and the contract a loaded model fulfils.

A model metric scores each segment on its own, so a segment's score depends only on that
segment's texts and the model: that is what makes the score cache (`cache.py`) and
re-scoring only what changed exact."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from evalharness.errors import UserError

DTYPES = ("auto", "float32", "float16", "bfloat16")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Segment:
    source: str
    hypothesis: str
    references: tuple[str, ...] = ()

    def key(self, mode: str) -> str:
        """The segment's identity in the score cache: every text the score depends on."""
        canon = json.dumps([mode, self.source, self.hypothesis, list(self.references)], ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ErrorSpan:
    """A stretch of the hypothesis a model marks as an error: character offsets into the
    hypothesis, the text, its severity (minor, major, critical) and the model's confidence."""

    start: int
    end: int
    text: str
    severity: str
    confidence: float

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "severity": self.severity,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class SegmentScore:
    score: float
    spans: tuple[ErrorSpan, ...] | None = None  # None: the metric marks no spans


@dataclass(frozen=True)
class Inference:
    """How a model runs. None of this changes a score beyond float rounding, except `dtype`
    and `quantize`, which the metric's signature names."""

    device: str = "auto"  # auto: cuda when available, else cpu
    dtype: str = "auto"  # auto: what the reference implementation computes in
    batch_tokens: int = 0  # 0: a default for the device
    quantize: bool = False  # int8 dynamic quantisation of linear layers (CPU only)
    threads: int = 0  # 0: torch's default

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise UserError(f"neural_device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.dtype not in DTYPES:
            raise UserError(f"neural_dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.batch_tokens < 0 or self.threads < 0:
            raise UserError("neural_batch_tokens and neural_threads must not be negative")
        if self.quantize and self.device == "cuda":
            raise UserError("neural_quantize (int8) runs on the CPU only")

    def torch_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise UserError("neural_device=cuda, but torch sees no CUDA device here")
        return self.device

    def torch_dtype(self, native: str = "float32"):
        """The dtype to compute in: asked for, or `native` (the reference's) for auto."""
        import torch

        name = native if self.dtype == "auto" else self.dtype
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]

    def tokens_per_batch(self, device: str) -> int:
        return self.batch_tokens or (16384 if device.startswith("cuda") else 4096)


@dataclass
class Counters:
    """What a scoring pass did, for the run report."""

    segments: int = 0
    from_cache: int = 0
    scored: int = 0
    model_loads: int = 0
    texts_encoded: int = 0  # sentence embeddings computed (models that embed texts one by one)
    texts_recalled: int = 0  # ... and read from the embedding memo instead
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


class EmbeddingMemo(Protocol):
    """Sentence embeddings kept between runs (by text), for models that embed each text on its
    own: a source or a reference is embedded once for all the systems scored on it."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None: ...


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ModelScorer(ABC):
    """A loaded model metric: segments in, one score (and spans) per segment out, in order."""

    #: the precision the reference implementation computes in (what `dtype=auto` means)
    native_dtype: str = "float32"

    @abstractmethod
    def score(self, segments: Sequence[Segment], memo: EmbeddingMemo | None = None) -> list[SegmentScore]:
        """Scores in segment order; `memo`, where given, may hold embeddings of texts seen before."""

    def close(self) -> None:
        """Release the model."""


def quantized(module, device: str):
    """int8 dynamic quantisation of the module's linear layers (CPU only; `neural_quantize`).
    torch marks `torch.ao.quantization` deprecated in favour of torchao; it is still what
    torch ships, so its warnings are not passed on to every user who asks for int8."""
    import warnings

    import torch

    if device != "cpu":
        raise UserError("neural_quantize (int8) runs on the CPU only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


def token_batches(lengths: Sequence[int], max_tokens: int, max_items: int = 512) -> Iterator[list[int]]:
    """Indices grouped into batches of similar length, longest first, each holding at most
    `max_tokens` tokens once padded to its longest member (and at most `max_items` items).
    Sorting by length keeps padding, and so wasted computation, small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        longest = lengths[batch[0]] if batch else lengths[i]
        if batch and (longest * (len(batch) + 1) > max_tokens or len(batch) >= max_items):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch
