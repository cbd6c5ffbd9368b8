"""Hugging Face models as every transformers backend (marian, hf-causal, hf-seq2seq) finds
and runs them: a local directory or a hub id (the Hugging Face cache first, a download on
first use when online, the cache only with HF_HUB_OFFLINE=1), safetensors weights only,
files hashed for the fingerprint, and torch set up so that generation is repeatable."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from evalharness.errors import ModelUnavailable, UserError

SEED = 0
WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json")
PICKLED = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def fetch_hint(model_id: str) -> str:
    return (
        f"get it on a machine with network with `hf download {model_id}` "
        "(then copy ~/.cache/huggingface), or pass a local model directory"
    )


def resolve_model(
    model: str, revision: str | None = None, patterns: list[str] | None = None
) -> tuple[Path, str | None]:
    """(local directory, revision). Local paths win; hub ids come from the cache, or are
    downloaded when online. Never hangs: short timeouts, and no network at all offline."""
    path = Path(model).expanduser()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") != 1:  # hub ids are ORG/NAME
        if not path.is_dir():
            raise UserError("model directory does not exist", path)
        return path, None
    from huggingface_hub import snapshot_download

    try:
        local = snapshot_download(model, revision=revision, allow_patterns=patterns, local_files_only=True)
    except Exception as cached_miss:
        if _offline():
            raise ModelUnavailable(
                f"model {model!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; {fetch_hint(model)}"
            ) from cached_miss
        try:
            local = snapshot_download(model, revision=revision, allow_patterns=patterns, etag_timeout=10)
        except Exception as exc:
            reason = type(exc).__name__
            raise ModelUnavailable(
                f"model {model!r} is not cached and could not be downloaded ({reason}); {fetch_hint(model)}"
            ) from exc
    local_path = Path(local)
    return local_path, local_path.name if local_path.parent.name == "snapshots" else revision


def check_weights(path: Path) -> None:
    """Safetensors weights are there; pickled ones alone are refused before anything loads."""
    if not any(any(path.glob(p)) for p in WEIGHT_PATTERNS):
        pickled = [f for f in PICKLED if (path / f).exists()]
        if pickled:
            raise UserError(
                f"only pickled weights ({', '.join(pickled)}); evalharness loads safetensors only "
                "(convert with transformers: model.save_pretrained(dir, safe_serialization=True))",
                path,
            )
        raise UserError("no model weights (model.safetensors) found", path)


def files_sha256(files: list[Path]) -> str:
    """sha256 over the names and bytes of `files` (missing ones count as absent)."""
    digest = hashlib.sha256()
    for file in files:
        if not file.is_file():
            continue
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def weights_sha256(path: Path) -> str:
    return files_sha256(sorted(p for pattern in WEIGHT_PATTERNS for p in path.glob(pattern)))


def deterministic_torch(device: str) -> dict:
    """Settings that make generation repeatable, applied before the model runs, and recorded
    in every report. On CPU greedy and beam search are then bit-for-bit repeatable; CUDA
    kernels may still differ between runs and GPU models, and the report says so."""
    import torch

    if device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return {
        "seed": SEED,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "torch_num_threads": torch.get_num_threads(),
        "do_sample": False,
        "device": device,
    }


def determinism_record(device: str, settings: dict) -> dict:
    """Greedy or beam decoding never samples: the same on CPU run after run; on GPU, kernels
    may differ between runs and cards, and the report says so."""
    if device.startswith("cuda"):
        return {
            "deterministic": False,
            "settings": settings,
            "note": "on GPU, kernels may give other results between runs and GPU models",
        }
    return {"deterministic": True, "settings": settings}
