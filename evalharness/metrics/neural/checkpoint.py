"""Where a model metric's checkpoint comes from, what it is, and how its weights are read.

Offline first. A checkpoint is a local folder, or a Hugging Face hub id that is already in
the local Hugging Face cache; nothing is downloaded while scoring. A missing one raises
`CheckpointMissing` (a `ModelUnavailable`: `eval` skips the metric, `run` stops before any
translation) with the exact `hf download` commands that fetch it on a machine with network.

Weights are read from safetensors, or from PyTorch files with `torch.load(weights_only=True)`,
which rebuilds tensors and plain containers and refuses any other object: nothing in a
checkpoint is executed. A file that needs more is refused in one line.

A checkpoint is named by a digest over its files' SHA-256. Files in the Hugging Face cache
are stored under their LFS object id, which *is* their SHA-256, so a 14 GB checkpoint is not
read to be named; other large files are hashed once and remembered by size and mtime."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from evalharness.errors import ModelUnavailable, UserError
from evalharness.terminal import warn

_SHA256 = re.compile(r"[0-9a-f]{64}")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth")


class CheckpointMissing(ModelUnavailable):
    """A checkpoint that is neither a local folder nor in the Hugging Face cache."""


def fetch_command(repo_id: str, include: Iterable[str] = ()) -> str:
    """The command that puts a hub repository (or some of its files) into the local cache."""
    patterns = " ".join(f'"{p}"' for p in include)
    return f"hf download {repo_id}" + (f" --include {patterns}" if patterns else "")


def missing(what: str, repo_id: str, commands: Iterable[str], note: str = "") -> CheckpointMissing:
    steps = "; ".join(f"`{c}`" for c in commands)
    return CheckpointMissing(
        f"{what} {repo_id!r} is not in the Hugging Face cache (nothing is downloaded while scoring); "
        f"fetch it with {steps}{note} (on another machine: then copy ~/.cache/huggingface), "
        "or pass a local folder"
    )


def looks_local(ref: str) -> bool:
    """A path rather than a hub id: it exists, starts like a path, or is no ORG/NAME shape."""
    return Path(ref).expanduser().exists() or ref.startswith((".", "/", "~")) or not _HUB_ID.fullmatch(ref)


def cached_snapshot(repo_id: str) -> Path | None:
    """The snapshot folder of a hub repository in the local cache, or None. Never a network call."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), or a malformed id
        return None


def resolve(ref: str, what: str, commands: Iterable[str] | None = None, note: str = "") -> Path:
    """A checkpoint folder: `ref` as a local folder, else as a hub id from the local cache."""
    if looks_local(ref):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise UserError(f"{what} folder does not exist", path)
        return path
    snapshot = cached_snapshot(ref)
    if snapshot is None:
        raise missing(what, ref, commands or [fetch_command(ref)], note)
    return snapshot


# ---------------------------------------------------------------- weights


# Lightning's hyperparameter dicts, by the names checkpoints of its versions record them under
LIGHTNING_DICTS = (
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "lightning.fabric.utilities.data.AttributeDict",
)


def read_torch(path: Path):
    """A PyTorch file read with `weights_only=True` (tensors, plain containers and Lightning's
    hyperparameter dict as a dict), memory-mapped: tensors' pages are read when they are
    used. A file that needs any other object is refused in one line, before anything in it
    runs."""
    import torch

    allowed = [(dict, name) for name in LIGHTNING_DICTS]  # read as a plain dict; Lightning not imported
    try:
        with torch.serialization.safe_globals(allowed):
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:  # files in the legacy (non-zip) format cannot be memory-mapped
                if "mmap" not in str(exc):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())
        if "weights_only" in reason or "Unsupported global" in reason or "pickle" in reason.lower():
            found = re.search(r"GLOBAL ([\w.]+)", reason)
            what = f" ({found.group(1)})" if found else ""
            raise UserError(
                f"refused: the checkpoint holds pickled Python objects{what}, not only tensors; "
                "evalharness never unpickles (use a safetensors copy, or re-save the state dict)",
                path,
            ) from exc
        raise UserError(f"unreadable checkpoint ({type(exc).__name__}: {reason[:200]})", path) from exc


def load_weights(path: Path) -> dict:
    """Tensors of a safetensors file, or of a PyTorch file (`read_torch`). Lightning
    checkpoints keep the tensors under `state_dict`; that mapping is returned."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return {k: _aligned(v) for k, v in load_file(str(path)).items()}
        except Exception as exc:
            raise UserError(f"unreadable safetensors file ({type(exc).__name__}: {exc})", path) from exc
    data = read_torch(path)
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise UserError("not a state dict of tensors", path)
    return {k: _aligned(v) for k, v in data.items()}


def _aligned(tensor):
    """The tensor in 64-byte aligned memory. safetensors files place tensors 8-byte aligned;
    BLAS takes another code path for misaligned matrices, which rounds differently (enough
    to move a MetricX score by 5e-5), while the references read weights into fresh, aligned
    memory."""
    return tensor.clone() if tensor.data_ptr() % 64 else tensor


# ---------------------------------------------------------------- digests


def _memo_path() -> Path | None:
    """Where digests of large local files are remembered (by path, size and mtime):
    `EVALHARNESS_DIGEST_MEMO`, else the user's cache folder; empty turns it off."""
    configured = os.environ.get("EVALHARNESS_DIGEST_MEMO")
    if configured is not None:
        return Path(configured) if configured else None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "evalharness" / "checkpoint-digests.json"


@lru_cache(maxsize=256)
def _hash_file(real: str, size: int, mtime_ns: int) -> str:
    memo_file = _memo_path()
    key = f"{real}\0{size}\0{mtime_ns}"
    memo: dict = {}
    if memo_file is not None and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            memo = {}
        if isinstance(memo, dict) and _SHA256.fullmatch(str(memo.get(key, ""))):
            return memo[key]
    digest = hashlib.sha256()
    with open(real, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    if memo_file is not None and size > (64 << 20):
        from evalharness.fileio import write_text_atomic

        try:
            memo = memo if isinstance(memo, dict) else {}
            memo[key] = value
            write_text_atomic(memo_file, json.dumps(memo, sort_keys=True))
        except OSError as exc:
            warn(f"{memo_file}: cannot remember a checkpoint digest ({exc})")
    return value


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes. Files in the Hugging Face cache link to a blob named by its
    LFS object id (the SHA-256 of the content): that name is used, the file is not read."""
    real = Path(os.path.realpath(path))
    if real.parent.name == "blobs" and _SHA256.fullmatch(real.name):
        return real.name
    stat = real.stat()
    return _hash_file(str(real), stat.st_size, stat.st_mtime_ns)


def present(folder: Path, names: Iterable[str], role: str) -> dict[str, Path]:
    """The files of `names` that `folder` holds, by role ("role/name"), for a digest."""
    return {f"{role}/{name}": folder / name for name in names if (folder / name).is_file()}


def digest(files: Mapping[str, Path]) -> str:
    """sha256 over (role, file SHA-256) pairs: the same bytes under the same roles give the same
    digest wherever the files are (hub cache, a copied folder)."""
    out = hashlib.sha256()
    for role in sorted(files):
        out.update(f"{role}\0{file_sha256(files[role])}\0".encode())
    return out.hexdigest()
