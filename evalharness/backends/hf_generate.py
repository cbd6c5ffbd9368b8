"""What the transformers generation backends (hf-causal, hf-seq2seq) share: the model found
and checked (safetensors only), its files hashed for the fingerprint, the device and dtype,
repeatable decoding (greedy or beam search, never sampling), batches of similar length
bounded by tokens, and a limit on new tokens derived from each source's length (a model that
never stops costs at most that, and the hypothesis is flagged `truncated`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from evalharness.backends.base import Backend
from evalharness.backends.fixtures import FIXTURE_MARKER
from evalharness.backends.hf_models import (
    check_weights,
    determinism_record,
    deterministic_torch,
    files_sha256,
    resolve_model,
    weights_sha256,
)
from evalharness.backends.options import checked
from evalharness.errors import UserError

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "sentencepiece.bpe.model",
    "spiece.model",
)
CONFIG_FILES = ("config.json", "generation_config.json")
DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]
COMMON_OPTIONS: dict[str, Any] = {
    "max_new_tokens": 512,  # the most a segment may generate
    "length_ratio": 2.0,  # new tokens allowed per source token (+16), under max_new_tokens
    "num_beams": 1,
    "batch_tokens": 4096,  # padded tokens per batch (prompt and new tokens)
    "max_batch_size": 32,
    "device": "auto",
    "dtype": "float32",
}
DTYPES = ("float32", "float16", "bfloat16")


class HFGenerateBackend(Backend):
    """A transformers model that generates; subclasses say how inputs are built and read."""

    OPTIONS: dict[str, Any] = COMMON_OPTIONS

    def __init__(self, model: str, revision: str | None, options: dict) -> None:
        self.options = checked(self.kind, options, self.OPTIONS)
        o = self.options
        if o["num_beams"] < 1 or o["max_new_tokens"] < 1 or o["batch_tokens"] < 1 or o["max_batch_size"] < 1:
            raise UserError(
                f"backend {self.kind}: num_beams, max_new_tokens, batch_tokens and max_batch_size must be 1 or more"
            )
        if o["device"] not in ("auto", "cpu", "cuda") and not o["device"].startswith("cuda:"):
            raise UserError(f"backend {self.kind}: unknown device {o['device']!r} (auto, cpu or cuda)")
        if o["dtype"] not in DTYPES:
            raise UserError(f"backend {self.kind}: unknown dtype {o['dtype']!r} ({', '.join(DTYPES)})")
        self.model_id = model
        self.path, self.revision = resolve_model(model, revision, DOWNLOAD_PATTERNS)
        if not (self.path / "config.json").is_file():
            raise UserError("not a model directory: config.json is missing", self.path)
        check_weights(self.path)
        self.torch_settings: dict | None = None
        self.generate_calls = 0  # observable: tests count model calls

    # -- loading -------------------------------------------------------------------------
    @cached_property
    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text(encoding="utf-8"))

    @cached_property
    def device(self) -> str:
        import torch

        wanted = self.options["device"]
        if wanted == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            raise UserError("device cuda requested but torch sees no GPU")
        return wanted

    def load(self, auto_class):
        """The model, on its device, in eval mode; torch set up for repeatable decoding."""
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.torch_settings = deterministic_torch(self.device)
        model = auto_class.from_pretrained(
            self.path, use_safetensors=True, dtype=getattr(torch, self.options["dtype"])
        )
        return model.to(self.device).eval()

    @property
    def is_fixture(self) -> bool:
        return bool(self.config.get(FIXTURE_MARKER))

    # -- contract ------------------------------------------------------------------------
    def libraries(self) -> tuple[str, ...]:
        return ("torch", "transformers", "tokenizers")

    def describe(self) -> dict:
        return {
            "model": self.model_id,
            "revision": self.revision,
            "weights_sha256": weights_sha256(self.path),
            "tokenizer_sha256": files_sha256([self.path / f for f in TOKENIZER_FILES]),
            "config_sha256": files_sha256([self.path / f for f in CONFIG_FILES]),
            "untrained_fixture": self.is_fixture,
            # the prompt file is recorded by its digest (describe_more), the device as resolved
            "options": {k: v for k, v in self.options.items() if k not in ("prompt", "device")},
            "device": self.device,
            **self.describe_more(),
        }

    def describe_more(self) -> dict:
        return {}

    def determinism(self) -> dict:
        settings = self.torch_settings or {"device": self.device, "note": "model not loaded (all from cache)"}
        return determinism_record(self.device, settings)

    # -- batching ------------------------------------------------------------------------
    def new_token_limit(self, source_tokens: int) -> int:
        """ceil(length_ratio x source tokens) + 16, under max_new_tokens."""
        return max(
            1,
            min(self.options["max_new_tokens"], math.ceil(self.options["length_ratio"] * source_tokens) + 16),
        )

    def batches(self, lengths: Sequence[int], limits: Sequence[int]) -> list[list[int]]:
        """Indices sorted by length, longest first, packed so that a batch's padded prompt
        and new tokens stay within `batch_tokens` (and `max_batch_size` sequences)."""
        order = sorted(range(len(lengths)), key=lambda i: -(lengths[i] + limits[i]))
        out: list[list[int]] = []
        longest = most_new = 0  # of the current batch: every row is padded to the longest prompt
        for i in order:  # and runs for as many new tokens as the row with the highest limit
            cur = out[-1] if out else None
            width = max(longest, lengths[i]) + max(most_new, limits[i])
            if (
                cur is not None
                and len(cur) < self.options["max_batch_size"]
                and width * (len(cur) + 1) <= self.options["batch_tokens"]
            ):
                cur.append(i)
                longest, most_new = max(longest, lengths[i]), max(most_new, limits[i])
            else:
                out.append([i])
                longest, most_new = lengths[i], limits[i]
        return out

    def flags(self) -> tuple[str, ...]:
        return ("untrained-fixture",) if self.is_fixture else ()


def model_path_and_revision(argument: str | None, kind: str) -> tuple[str, str | None]:
    if not argument:
        raise UserError(f"the {kind} backend needs a model: {kind}:HUB_ID or {kind}:PATH")
    model, _, revision = argument.partition("@")
    return model, revision or None


def source_token_counts(tokenizer, texts: Sequence[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
