"""COMET checkpoints (Unbabel's `unbabel-comet` format) read without unbabel-comet: the
folder's `hparams.yaml` names the model class, `checkpoints/model.ckpt` holds the weights and
the hyperparameters COMET actually builds the model with (read with
`torch.load(weights_only=True)`), and the encoder's config and tokenizer come from the
Hugging Face model named in `pretrained_model` (its weights are not needed: the checkpoint
has them). A checkpoint is found offline (a folder, or the Hugging Face cache) and named by
the digest of its files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from evalharness.errors import UserError
from evalharness.metrics.neural.checkpoint import (
    cached_snapshot,
    digest,
    fetch_command,
    load_weights,
    missing,
    present,
    read_torch,
    resolve,
)

ENCODERS = {"XLM-RoBERTa": "XLMRobertaModel", "XLM-RoBERTa-XL": "XLMRobertaXLModel"}
ENCODER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
)
# Hub ids COMET's hyperparameters still use for models that now live under an organisation.
ENCODER_ALIASES = {
    "xlm-roberta-large": "FacebookAI/xlm-roberta-large",
    "xlm-roberta-base": "FacebookAI/xlm-roberta-base",
}
# The encoder each published checkpoint needs, so a missing checkpoint's message names both.
KNOWN_ENCODERS = {
    "Unbabel/wmt22-comet-da": "xlm-roberta-large",
    "Unbabel/wmt22-cometkiwi-da": "microsoft/infoxlm-large",
    "Unbabel/wmt23-cometkiwi-da-xl": "facebook/xlm-roberta-xl",
    "Unbabel/XCOMET-XL": "facebook/xlm-roberta-xl",
    "Unbabel/XCOMET-XXL": "facebook/xlm-roberta-xxl",
}
GATED = {
    "Unbabel/wmt22-cometkiwi-da",
    "Unbabel/wmt23-cometkiwi-da-xl",
    "Unbabel/XCOMET-XL",
    "Unbabel/XCOMET-XXL",
}
WEIGHT_FILES = ("checkpoints/model.safetensors", "checkpoints/model.ckpt", "model.safetensors")

# Constructor defaults of COMET's model classes, for hyperparameters a checkpoint leaves out.
_COMMON = {
    "encoder_model": "XLM-RoBERTa",
    "pretrained_model": "xlm-roberta-large",
    "pool": "avg",
    "layer": "mix",
    "layer_transformation": "softmax",
    "layer_norm": True,
    "hidden_sizes": [3072, 1024],
    "activations": "Tanh",
    "final_activation": None,
}
_UNIFIED = {
    **_COMMON,
    "pretrained_model": "microsoft/infoxlm-large",
    "sent_layer": "mix",
    "layer_transformation": "sparsemax",
    "word_layer": 24,
    "input_segments": ["mt", "src", "ref"],
    "word_level_training": False,
    "error_labels": ["minor", "major"],
}
DEFAULTS = {
    "regression_metric": _COMMON,
    "referenceless_regression_metric": {**_COMMON, "hidden_sizes": [2048, 1024]},
    "unified_metric": _UNIFIED,
    "xcomet_metric": {
        **_UNIFIED,
        "encoder_model": "XLM-RoBERTa-XL",
        "pretrained_model": "facebook/xlm-roberta-xl",
        "layer_norm": False,
        "word_layer": 36,
        "hidden_sizes": [2560, 1280],
        "error_labels": ["minor", "major", "critical"],
    },
}


def comet_fetch_commands(repo_id: str) -> list[str]:
    commands = [fetch_command(repo_id)]
    if repo_id in KNOWN_ENCODERS:
        commands.append(fetch_command(KNOWN_ENCODERS[repo_id], ENCODER_FILES))
    return commands


def comet_missing_note(repo_id: str) -> str:
    return (
        f" (gated: accept its licence on huggingface.co/{repo_id} and run `hf auth login` first)"
        if repo_id in GATED
        else ""
    )


@dataclass
class CometCheckpoint:
    """A COMET checkpoint folder: `hparams.yaml`, the weights, and the encoder's files."""

    name: str  # hub id, or the folder's name
    folder: Path
    native_dtype = "float32"  # COMET builds its models in float32 whatever the file holds

    @classmethod
    def resolve(cls, ref: str) -> CometCheckpoint:
        folder = resolve(ref, "COMET checkpoint", comet_fetch_commands(ref), comet_missing_note(ref))
        ckpt = cls(ref if folder != Path(ref).expanduser() else folder.resolve().name, folder)
        ckpt.encoder_folder  # noqa: B018  (a missing encoder or a pickled checkpoint fails
        ckpt.hparams  # noqa: B018  here, before any work)
        return ckpt

    @cached_property
    def hparams_file(self) -> Path:
        path = self.folder / "hparams.yaml"
        if not path.is_file():
            raise UserError("not a COMET checkpoint: hparams.yaml is missing", self.folder)
        return path

    @cached_property
    def weights_file(self) -> Path:
        for name in WEIGHT_FILES:
            if (self.folder / name).is_file():
                return self.folder / name
        raise UserError("not a COMET checkpoint: checkpoints/model.ckpt is missing", self.folder)

    @cached_property
    def yaml_hparams(self) -> dict:
        import yaml

        try:
            data = yaml.safe_load(self.hparams_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise UserError(f"unreadable hparams.yaml ({type(exc).__name__})", self.hparams_file) from exc
        if not isinstance(data, dict) or data.get("class_identifier") not in DEFAULTS:
            found = data.get("class_identifier") if isinstance(data, dict) else None
            raise UserError(
                f"unsupported COMET model class {found!r} (supported: {', '.join(DEFAULTS)})",
                self.hparams_file,
            )
        return data

    @property
    def kind(self) -> str:
        return self.yaml_hparams["class_identifier"]

    @cached_property
    def stored_hparams(self) -> dict:
        """The hyperparameters in a Lightning checkpoint: COMET builds the model from these
        (hparams.yaml only names the class), and so do we. Reading them maps the file without
        reading its tensors, and refuses a pickled checkpoint before any work."""
        if self.weights_file.suffix != ".ckpt":
            return {}
        raw = read_torch(self.weights_file)
        stored = raw.get("hyper_parameters") if isinstance(raw, dict) else None
        return dict(stored) if isinstance(stored, dict) else {}

    @cached_property
    def hparams(self) -> dict:
        """The hyperparameters COMET would build the model with."""
        out = {**DEFAULTS[self.kind], **self.yaml_hparams, **self.stored_hparams}
        if self.kind == "xcomet_metric":  # XCOMETMetric fixes these whatever was stored
            out["input_segments"], out["word_level_training"] = ["mt", "src", "ref"], True
        if out["encoder_model"] not in ENCODERS:
            raise UserError(
                f"COMET encoder {out['encoder_model']!r} is not supported (supported: {', '.join(ENCODERS)})",
                self.hparams_file,
            )
        return out

    def state_dict(self) -> dict:
        """The weights (read when a scorer is built; not kept here)."""
        return load_weights(self.weights_file)

    @cached_property
    def encoder_folder(self) -> Path:
        """The encoder's config and tokenizer: `pretrained_model` as a folder inside the
        checkpoint's folder, else that model in the Hugging Face cache. A path in a file is not
        followed anywhere else (hparams.yaml comes with a downloaded checkpoint)."""
        ref = str(self.yaml_hparams.get("pretrained_model") or DEFAULTS[self.kind]["pretrained_model"])
        relative = os.path.normpath(ref)
        inside = not os.path.isabs(relative) and relative != ".." and not relative.startswith(f"..{os.sep}")
        if inside and (self.folder / relative / "config.json").is_file():
            return self.folder / relative
        for repo in dict.fromkeys([ref, ENCODER_ALIASES.get(ref, ref)]):
            snapshot = cached_snapshot(repo)
            if snapshot is not None and (snapshot / "config.json").is_file():
                return snapshot
        raise missing(
            f"the encoder config and tokenizer of COMET checkpoint {self.name!r}:",
            ref,
            [fetch_command(ref, ENCODER_FILES)],
        )

    def files(self) -> dict[str, Path]:
        """What determines the scores, by role (for the digest)."""
        return {
            "weights": self.weights_file,
            "hparams": self.hparams_file,
            **present(self.encoder_folder, ENCODER_FILES, "encoder"),
        }

    @cached_property
    def digest(self) -> str:
        return digest(self.files())

    @property
    def native_modes(self) -> tuple[str, ...]:
        """Modes this model can score in: with a reference ("ref") and/or without ("qe")."""
        if self.kind == "regression_metric":
            return ("ref",)
        if self.kind == "referenceless_regression_metric":
            return ("qe",)
        segments = self.hparams["input_segments"]
        if segments == ["mt", "ref"]:
            return ("ref",)
        return ("ref", "qe") if "ref" in segments else ("qe",)
