"""A tiny, untrained MarianMT model built offline from the seed text.

It has real SentencePiece tokenizers and the standard Hugging Face layout, so the real
`from_pretrained` + `generate` path runs in tests and CI without any download. Its output
is noise: everything it produces is labelled as coming from an untrained fixture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evalharness.errors import UserError
from evalharness.fileio import building_dir

FIXTURE_MARKER = "evalharness_untrained_fixture"
SPECIALS = ["</s>", "<unk>"]  # ids 0 and 1, and <pad> last, as in the opus-mt models


def _seed_text(seeds: Path, lang: str) -> str:
    from evalharness.corpus.ingest import read_document
    from evalharness.corpus.language import detect_language

    chunks = []
    for path in sorted(seeds.glob("*.txt")):
        doc = read_document(path)
        text = "\n".join(ln.text for ln in doc.nonblank())
        if detect_language(text).lang == lang:
            chunks.append(text)
    if not chunks:
        raise UserError(f"no seed document in language {lang!r} to train a tokenizer on", seeds)
    return "\n".join(chunks)


def _train_spm(text: str, prefix: Path, vocab_size: int) -> list[str]:
    import sentencepiece as spm

    corpus = prefix.with_suffix(".txt")
    corpus.write_text(text, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        character_coverage=1.0,
        hard_vocab_limit=False,
        model_type="unigram",
        bos_id=-1,
        eos_id=1,
        unk_id=0,
        pad_id=-1,
        minloglevel=2,
        num_threads=1,
    )
    processor = spm.SentencePieceProcessor(model_file=str(prefix) + ".model")
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def build_tiny_marian(
    out: Path,
    src: str = "sv",
    tgt: str = "hi",
    seeds: Path = Path("seeds"),
    seed: int = 0,
    d_model: int = 32,
    layers: int = 1,
    heads: int = 2,
    ffn_dim: int = 64,
    vocab_size: int | None = None,
    never_stop: bool = False,
) -> Path:
    """Write config, safetensors weights and tokenizer files for a src->tgt toy model
    (benchmarks ask for a bigger one so that compute, not overhead, dominates: `vocab_size`
    pads the vocabulary to a real model's size with unused entries, and `never_stop` makes
    `</s>` impossible so every engine decodes to its length limit)."""
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    src_text, tgt_text = _seed_text(seeds, src), _seed_text(seeds, tgt)
    with building_dir(out) as tmp:
        work = tmp / "_spm"
        work.mkdir()
        pieces = _train_spm(src_text, work / "source", 300) + _train_spm(tgt_text, work / "target", 300)
        vocab = {tok: i for i, tok in enumerate(SPECIALS)}
        for piece in pieces:
            if piece != "<pad>":
                vocab.setdefault(piece, len(vocab))
        while vocab_size is not None and len(vocab) < vocab_size - 1:
            vocab[f"<unused{len(vocab)}>"] = len(vocab)
        vocab["<pad>"] = len(vocab)  # opus-mt's layout, which CTranslate2's converter expects
        (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(work / "source.model"),
            target_spm=str(work / "target.model"),
            vocab=str(work / "vocab.json"),
            source_lang=src,
            target_lang=tgt,
            model_max_length=128,
        )
        torch.manual_seed(seed)
        config = MarianConfig(
            vocab_size=len(vocab),
            decoder_vocab_size=len(vocab),
            d_model=d_model,
            encoder_layers=layers,
            decoder_layers=layers,
            encoder_attention_heads=heads,
            decoder_attention_heads=heads,
            encoder_ffn_dim=ffn_dim,
            decoder_ffn_dim=ffn_dim,
            max_position_embeddings=128,
            max_length=32,
            num_beams=1,
            pad_token_id=vocab["<pad>"],
            eos_token_id=vocab["</s>"],
            decoder_start_token_id=vocab["<pad>"],
            forced_eos_token_id=vocab["</s>"],
        )
        setattr(config, FIXTURE_MARKER, True)
        model = MarianMTModel(config)
        if never_stop:
            with torch.no_grad():
                model.final_logits_bias[0, vocab["</s>"]] = -1e4
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(work)
    return out


def fixtures_dir() -> Path:
    import os

    return Path(os.environ.get("EVALHARNESS_FIXTURES", "runs/.fixtures"))
