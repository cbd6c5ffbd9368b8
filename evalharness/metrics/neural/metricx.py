"""MetricX-24 (google-research/metricx) on our own stack: transformers' mT5 encoder-decoder,
read as MetricX's `MT5ForRegression` reads it.

MetricX predicts an MQM-like error score in [0, 25] (lower is better). The input is one text,
"source: S candidate: H reference: R" (quality estimation: without " reference: R"),
tokenised with the mT5 tokenizer up to 1,536 tokens, its final end-of-sequence token removed.
The model runs the encoder over it and one decoder step from token 0; the score is the logit
of vocabulary entry 250089 (`<extra_id_10>`) at that step, clamped to [0, 25]. Hybrid
MetricX-24 checkpoints serve both modes.

Only that logit is computed (a product with a small block of the output layer, not a
250,112-way projection), T5 attention runs as transformers 4.30 runs it (eager), and on the
CPU inputs go one at a time as in MetricX's recipe: scores equal `metricx24.predict`'s
(tested against it, `tests/reference/`). On a GPU, or with `neural_batch_tokens` set,
inputs are batched by length with padding; scores then differ in float rounding."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from evalharness.errors import UserError
from evalharness.metrics.neural.base import (
    Inference,
    ModelScorer,
    Segment,
    SegmentScore,
    quantized,
    token_batches,
)
from evalharness.metrics.neural.checkpoint import (
    digest,
    fetch_command,
    load_weights,
    present,
    resolve,
)
from evalharness.metrics.neural.tokenizer import load_tokenizer

SCORE_TOKEN = 250089  # <extra_id_10>: the logit MetricX reads
HEAD_ROWS = slice(SCORE_TOKEN - 25, SCORE_TOKEN + 7)  # a block of the output layer around it (see score)
MAX_SCORE = 25.0
MAX_INPUT_TOKENS = 1536  # MetricX-24 (its README; MetricX-23 used 1024)
TOKENIZER_FILES = ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
WEIGHT_PATTERNS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_SIZE = re.compile(r"metricx-\d+-(?:hybrid-|qe-)?(large|xl|xxl)")


def default_tokenizer(model: str) -> str | None:
    """MetricX checkpoints do not ship a tokenizer: each size uses its mT5's."""
    found = _SIZE.search(model.lower())
    return f"google/mt5-{found.group(1)}" if found else None


def metricx_fetch_commands(model: str) -> list[str]:
    commands = [fetch_command(model, ("config.json", "*.safetensors", "*.safetensors.index.json"))]
    if (tokenizer := default_tokenizer(model)) is not None:
        commands.append(fetch_command(tokenizer, TOKENIZER_FILES))
    return commands


@dataclass
class MetricXCheckpoint:
    name: str
    folder: Path
    tokenizer_ref: str | None = None  # a folder or hub id; None: found beside the model

    @classmethod
    def resolve(cls, ref: str, tokenizer: str | None = None) -> MetricXCheckpoint:
        if re.search(r"metricx-23", ref.lower()):
            raise UserError(
                f"{ref!r} is a MetricX-23 checkpoint: it reads another input than MetricX-24 and "
                "evalharness runs MetricX-24 (e.g. google/metricx-24-hybrid-large-v2p6)"
            )
        folder = resolve(ref, "MetricX checkpoint", metricx_fetch_commands(ref))
        ckpt = cls(ref if folder != Path(ref).expanduser() else folder.resolve().name, folder, tokenizer)
        ckpt.weight_files  # noqa: B018  (fail before any work)
        ckpt.tokenizer_folder  # noqa: B018
        return ckpt

    @cached_property
    def config(self) -> dict:
        path = self.folder / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"not a MetricX checkpoint: config.json unreadable ({exc})", self.folder) from exc
        if config.get("model_type") not in ("mt5", "t5") or int(config.get("vocab_size", 0)) <= SCORE_TOKEN:
            raise UserError(
                f"not a MetricX checkpoint (model_type {config.get('model_type')!r}, "
                f"vocab_size {config.get('vocab_size')}; MetricX is an mT5 reading logit {SCORE_TOKEN})",
                path,
            )
        return config

    @cached_property
    def weight_files(self) -> list[Path]:
        """The weight files, in the order they are read; sharded checkpoints through their index."""
        for pattern in WEIGHT_PATTERNS:
            path = self.folder / pattern
            if not path.is_file():
                continue
            if not pattern.endswith(".index.json"):
                return [path]
            try:
                shards = sorted(set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values()))
            except (OSError, ValueError, KeyError, AttributeError) as exc:
                raise UserError(f"unreadable weight index ({exc})", path) from exc
            files = [self.folder / Path(name).name for name in shards]
            if absent := [f.name for f in files if not f.is_file()]:
                raise UserError(f"weight shards missing: {', '.join(absent)}", self.folder)
            return files
        raise UserError(
            "no weights (model.safetensors or pytorch_model.bin) in the MetricX checkpoint", self.folder
        )

    @cached_property
    def tokenizer_folder(self) -> Path:
        """`metricx_tokenizer` (a folder or hub id), else a tokenizer beside the weights, else
        the mT5 tokenizer of the checkpoint's size from the Hugging Face cache."""
        ref = self.tokenizer_ref
        if not ref:
            for candidate in (self.folder / "tokenizer", self.folder):
                if (candidate / "spiece.model").is_file() or (candidate / "tokenizer.json").is_file():
                    return candidate
            ref = default_tokenizer(self.name)
            if ref is None:
                raise UserError(
                    "no tokenizer beside the MetricX checkpoint; name it with metricx_tokenizer=FOLDER_OR_HUB_ID "
                    "(MetricX-24 uses google/mt5-large, -xl or -xxl by size)",
                    self.folder,
                )
        return resolve(
            ref, f"the tokenizer of MetricX checkpoint {self.name!r}:", [fetch_command(ref, TOKENIZER_FILES)]
        )

    def files(self) -> dict[str, Path]:
        return {
            "config": self.folder / "config.json",
            **{f"weights/{p.name}": p for p in self.weight_files},
            **present(self.tokenizer_folder, TOKENIZER_FILES, "tokenizer"),
        }

    @cached_property
    def digest(self) -> str:
        return digest(self.files())

    native_modes = ("ref", "qe")  # MetricX-24 hybrid models serve both

    @property
    def native_dtype(self) -> str:
        """What MetricX's loader (`torch_dtype="auto"`) computes in: the config's dtype."""
        name = str(self.config.get("torch_dtype") or self.config.get("dtype") or "float32")
        return name if name in ("float32", "float16", "bfloat16") else "float32"


class MetricXScorer(ModelScorer):
    def __init__(self, ckpt: MetricXCheckpoint, inference: Inference, use_reference: bool) -> None:
        import torch
        import transformers
        from transformers import MT5Config, MT5Model

        self.ckpt, self.use_reference = ckpt, use_reference
        self.native_dtype = ckpt.native_dtype
        self.device = inference.torch_device()
        self.dtype = inference.torch_dtype(self.native_dtype)
        self.batch_tokens = inference.tokens_per_batch(self.device)
        # MetricX's recipe scores one input at a time; on the CPU we do too (a padded batch
        # rounds differently, by up to ~4e-5 on our fixture), unless batches are asked for
        self.per_batch = 512 if inference.batch_tokens or self.device != "cpu" else 1
        if inference.threads:
            torch.set_num_threads(inference.threads)
        state: dict = {}
        for path in ckpt.weight_files:
            state.update(load_weights(path))
        head = state.pop("lm_head.weight", None)
        if head is None or head.shape[0] <= SCORE_TOKEN:
            raise UserError("MetricX checkpoint lacks lm_head.weight (the output layer it scores with)")
        self.head = head[HEAD_ROWS].clone()
        del head
        config = MT5Config.from_dict({k: v for k, v in ckpt.config.items() if k != "architectures"})
        config._attn_implementation = "eager"  # as MetricX's transformers 4.30 runs T5
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.model, info = MT5Model.from_pretrained(
            None, config=config, state_dict=state, output_loading_info=True, dtype=torch.float32
        )
        absent = [k for k in info["missing_keys"] if "embed_tokens" not in k]
        if absent:
            raise UserError(f"MetricX checkpoint lacks weights ({', '.join(absent[:3])}, ...)")
        # MetricX rescales only for tied embeddings, as config.json says (transformers 5's MT5Config
        # always reads True, so the file decides; 4.30 defaulted to False)
        tied = bool(ckpt.config.get("tie_word_embeddings", False))
        self.scale = config.d_model**-0.5 if tied else None
        self.model.eval().to(self.device, self.dtype)
        self.head = self.head.to(self.device, self.dtype)
        if inference.quantize:
            self.model = quantized(self.model, self.device)
        self.tokenizer = load_tokenizer(ckpt.tokenizer_folder, "t5")
        self.pad = config.pad_token_id if config.pad_token_id is not None else 0

    def text(self, segment: Segment) -> str:
        """MetricX-24's input (metricx24/predict.py `_make_input`)."""
        text = f"source: {segment.source} candidate: {segment.hypothesis}"
        return text + f" reference: {segment.references[0]}" if self.use_reference else text

    def sequences(self, segments: Sequence[Segment]) -> list[list[int]]:
        """The token ids the model reads: the input cut to 1,536 tokens, the final </s> removed."""
        self.tokenizer.enable_truncation(MAX_INPUT_TOKENS)
        encoded = self.tokenizer.encode_batch([self.text(s) for s in segments])
        return [e.ids[:-1] for e in encoded]

    def score(self, segments: Sequence[Segment], memo=None) -> list[SegmentScore]:
        import torch

        if not segments:
            return []
        if self.use_reference and any(not s.references for s in segments):
            raise UserError("MetricX with a reference needs one for every segment")
        sequences = self.sequences(segments)
        out = [0.0] * len(segments)
        with torch.inference_mode():
            for batch in token_batches([len(s) for s in sequences], self.batch_tokens, self.per_batch):
                width = max(len(sequences[i]) for i in batch)
                ids = torch.full((len(batch), width), self.pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    ids[row, : len(sequences[i])] = torch.tensor(sequences[i], dtype=torch.long)
                    mask[row, : len(sequences[i])] = 1
                start = torch.zeros((len(batch), 1), dtype=torch.long)
                hidden = self.model(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    decoder_input_ids=start.to(self.device),
                    use_cache=False,
                ).last_hidden_state[:, 0, :]
                if self.scale is not None:
                    hidden = hidden * self.scale
                # a matrix product with a block of rows, as the reference's full projection
                # computes each logit (a lone dot product rounds differently)
                logits = torch.nn.functional.linear(hidden, self.head)[:, SCORE_TOKEN - HEAD_ROWS.start]
                logits = torch.clamp(logits, 0, MAX_SCORE).float().cpu()
                for i, value in zip(batch, logits.tolist(), strict=True):
                    out[i] = value
        return [SegmentScore(x) for x in out]

    def close(self) -> None:
        self.model = None
