"""Tiny, untrained LLM-style models built offline from the seed text, for tests and
benchmarks: a decoder-only chat model (Llama architecture, a byte-level BPE tokenizer trained
on the seeds, a chat template) and an NLLB-like encoder-decoder (M2M100 architecture, NLLB's
tokenizer around a BPE trained on the seeds, with NLLB's language codes). Both have the
standard Hugging Face layout and safetensors weights, so `from_pretrained` and `generate`
run through the real code paths without a download. An M2M100 model with M2M100's own
tokenizer (a SentencePiece model trained on the seeds) covers that family's language tokens. Their output is noise: like the tiny
Marian model, they are marked as untrained fixtures in their config."""

from __future__ import annotations

import json
from pathlib import Path

from evalharness.backends.fixtures import FIXTURE_MARKER
from evalharness.fileio import building_dir

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n"
    "{{ message['content'] }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
CHAT_SPECIALS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


def _seed_lines(seeds: Path) -> list[str]:
    from evalharness.corpus.ingest import read_document

    lines = []
    for path in sorted(seeds.glob("*.txt")):
        lines += [ln.text for ln in read_document(path).nonblank()]
    return lines


def build_tiny_causal(
    out: Path,
    seeds: Path = Path("seeds"),
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    intermediate: int = 64,
    vocab_size: int = 800,
) -> Path:
    """A chat model: Llama layers, byte-level BPE with chat special tokens, a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    with building_dir(out) as tmp:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=CHAT_SPECIALS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(_seed_lines(seeds), trainer=trainer)
        wrapped = PreTrainedTokenizerFast(
            tokenizer_object=tokenizer,
            bos_token="<|bos|>",
            eos_token="<|end|>",
            pad_token="<|pad|>",
            model_max_length=512,
        )
        wrapped.chat_template = CHAT_TEMPLATE
        torch.manual_seed(seed)
        config = LlamaConfig(
            vocab_size=len(wrapped),
            hidden_size=hidden,
            intermediate_size=intermediate,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=512,
            bos_token_id=wrapped.bos_token_id,
            eos_token_id=wrapped.eos_token_id,
            pad_token_id=wrapped.pad_token_id,
            tie_word_embeddings=False,
        )
        setattr(config, FIXTURE_MARKER, True)
        LlamaForCausalLM(config).save_pretrained(tmp, safe_serialization=True)
        wrapped.save_pretrained(tmp)
    return out


def _save_m2m100(
    tmp: Path, tokenizer, vocab_size: int, seed: int, d_model: int, layers: int, heads: int, ffn_dim: int
) -> None:
    """Random M2M100 layers around `tokenizer`, saved with it as an untrained fixture. The
    initial spread is wider than training would start from: the noise then depends on the
    input and the language codes, which the tests need to see."""
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    torch.manual_seed(seed)
    config = M2M100Config(
        vocab_size=vocab_size,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        scale_embedding=True,
        init_std=0.5,
    )
    setattr(config, FIXTURE_MARKER, True)
    M2M100ForConditionalGeneration(config).save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)


def build_tiny_nllb(
    out: Path,
    seeds: Path = Path("seeds"),
    seed: int = 0,
    d_model: int = 32,
    layers: int = 1,
    heads: int = 2,
    ffn_dim: int = 64,
    vocab_size: int = 800,
) -> Path:
    """An NLLB-like model: M2M100 layers, NLLB's tokenizer (language codes as special tokens)
    around a SentencePiece-style BPE trained on the seeds."""
    from tokenizers import SentencePieceBPETokenizer
    from transformers import NllbTokenizer

    with building_dir(out) as tmp:
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        bpe = SentencePieceBPETokenizer(unk_token="<unk>")
        bpe.train_from_iterator(
            _seed_lines(seeds), vocab_size=vocab_size, special_tokens=specials, show_progress=False
        )
        spec = json.loads(bpe.to_str())["model"]
        tokenizer = NllbTokenizer(
            vocab=spec["vocab"],
            merges=[tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in spec["merges"]],
            model_max_length=256,
        )
        _save_m2m100(tmp, tokenizer, len(tokenizer), seed, d_model, layers, heads, ffn_dim)
    return out


def build_tiny_m2m100(out: Path, seeds: Path = Path("seeds"), seed: int = 0, d_model: int = 32) -> Path:
    """An M2M100 model with M2M100's tokenizer (SentencePiece and a vocabulary file; its
    language tokens are `__sv__`, `__hi__`, ...)."""
    from transformers import M2M100Tokenizer

    from evalharness.backends.fixtures import _train_spm

    with building_dir(out) as tmp:
        pieces = _train_spm("\n".join(_seed_lines(seeds)), tmp / "spm", 400)
        vocab: dict[str, int] = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        for piece in pieces:
            vocab.setdefault(piece, len(vocab))
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = M2M100Tokenizer(vocab_file=str(tmp / "vocab.json"), spm_file=str(tmp / "spm.model"))
        tokenizer.save_pretrained(tmp)  # copies the SentencePiece model under its own name
        for leftover in ("spm.model", "spm.vocab", "spm.txt"):
            (tmp / leftover).unlink()
        # the language tokens and M2M100's made-up words come after the vocabulary
        size = max(tokenizer.lang_token_to_id.values()) + 1 + tokenizer.num_madeup_words
        _save_m2m100(tmp, tokenizer, size, seed, d_model, 1, 2, 64)
    return out
