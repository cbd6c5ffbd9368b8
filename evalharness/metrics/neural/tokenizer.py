"""Tokenizers as the reference implementations run them.

unbabel-comet (transformers 4.57) and MetricX (transformers 4.30) read a model's
`tokenizer.json` with the `tokenizers` library as it is, or, without one, convert the
SentencePiece model with transformers' converter. transformers 5 instead rebuilds XLM-R and
T5 tokenizers from the vocabulary: the same token ids for most text, but word-initial offsets
one character later (xCOMET's spans are offsets) and a final lone word boundary dropped (so
a MetricX input ending in a space gets other ids). So we do what the references do: the file
as it is, else the same converter (still shipped in transformers 5), with the special tokens
the reference tokenizer registers."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from evalharness.errors import UserError

SPM_FILES = {"xlmr": "sentencepiece.bpe.model", "t5": "spiece.model"}


def load_tokenizer(folder: Path, kind: str):
    """A `tokenizers.Tokenizer` without padding or truncation; kind is "xlmr" or "t5"."""
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    if path.is_file():
        tokenizer = Tokenizer.from_file(str(path))
    else:
        spm = folder / SPM_FILES[kind]
        if not spm.is_file():
            raise UserError(f"no tokenizer (tokenizer.json or {SPM_FILES[kind]})", folder)
        tokenizer = _convert(spm, kind, _config(folder))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise UserError(f"unreadable tokenizer config ({exc})", path) from exc
    return data if isinstance(data, dict) else {}


def clean_up_spaces(folder: Path) -> bool:
    """transformers 4.x's `clean_up_tokenization_spaces` for this tokenizer (default False)."""
    return bool(_config(folder).get("clean_up_tokenization_spaces", False))


def _convert(spm: Path, kind: str, config: dict):
    """transformers' slow-to-fast conversion of a SentencePiece model, as 4.x runs it when a
    tokenizer has no tokenizer.json (for T5 with 4.30's normaliser, which MetricX ran)."""
    from tokenizers import AddedToken, Regex, normalizers
    from transformers.convert_slow_tokenizer import T5Converter, XLMRobertaConverter

    if kind == "xlmr":
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        ids = {t: n for n, t in enumerate(specials)}
        original = SimpleNamespace(vocab_file=str(spm), convert_tokens_to_ids=ids.__getitem__)
        tokenizer = XLMRobertaConverter(original).converted()
        specials.append("<mask>")
    else:
        extra = int(config.get("extra_ids", 100))
        original = SimpleNamespace(vocab_file=str(spm), _extra_ids=extra, convert_tokens_to_ids=None)
        converter = T5Converter(original)
        pieces = [p.piece for p in converter.proto.pieces]
        original.convert_tokens_to_ids = pieces.index
        tokenizer = converter.converted()
        # transformers 4.30 (MetricX's) normalised SentencePiece text without stripping the end
        charsmap = converter.proto.normalizer_spec.precompiled_charsmap
        steps = [normalizers.Precompiled(charsmap)] if charsmap else []
        tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.Replace(Regex(" {2,}"), " ")])
        specials = ["</s>", "<unk>", "<pad>", *(f"<extra_id_{i}>" for i in range(extra))]
    # XLM-R's <mask> takes the space before it (lstrip), as its tokenizer registers it
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in specials]
    )
    return tokenizer
