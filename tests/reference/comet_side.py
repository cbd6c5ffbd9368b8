"""Builds the COMET fixtures with COMET's own classes and predicts with them.

Runs INSIDE the COMET reference environment (unbabel-comet 2.2.7, see envs.py); called by
make_neural_fixtures.py, which passes absolute paths:

    python comet_side.py --inputs inputs.jsonl --spm xlmr.model --out DIR --results results.json

It writes DIR/xlmr-tokenizer/ (an XLM-R tokenizer around the given SentencePiece model) and
three untrained checkpoints in COMET's layout (hparams.yaml, checkpoints/model.ckpt,
encoder/ with the encoder's config and tokenizer): comet-tiny (RegressionMetric),
cometkiwi-tiny (UnifiedMetric, QE) and xcomet-tiny (XCOMETMetric). The scores written to
--results come from checkpoints loaded back with comet.load_from_checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import warnings
from collections import Counter
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from comet import load_from_checkpoint
from comet.models import RegressionMetric, UnifiedMetric, XCOMETMetric
from pytorch_lightning import Trainer
from pytorch_lightning.core.saving import save_hparams_to_yaml
from transformers import XLMRobertaConfig, XLMRobertaTokenizer, XLMRobertaTokenizerFast, XLMRobertaXLConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from envs import COMET_PACKAGES  # noqa: E402 - envs.py needs only the standard library

MAX_POSITION_EMBEDDINGS = 66  # COMET's max_positions is this minus 2: 64
BATCH_SIZE = 4  # with length batching: the batches mix lengths, so padding is exercised
TOKENIZER_FILES = [
    "sentencepiece.bpe.model",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
]
ENCODER_SIZES = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 64}
# Larger than the default 0.02 so that attention is far from uniform and every part matters.
INITIALIZER_RANGE = 0.2
SEVERITIES = ["minor", "major", "critical"]
MARGIN = 2e-2  # every MT token's top label probability beats the runner-up by at least this

# Arguments shared by every fixture, as in a real COMET hparams.yaml; "encoder" is the
# encoder/ folder beside hparams.yaml (COMET resolves it against the current directory).
COMMON_ARGS = {
    "nr_frozen_epochs": 0.3,
    "keep_embeddings_frozen": True,
    "optimizer": "AdamW",
    "warmup_steps": 0,
    "pretrained_model": "encoder",
    "loss": "mse",
    "dropout": 0.1,
    "batch_size": 4,
    "train_data": [],
    "validation_data": [],
    "activations": "Tanh",
    "final_activation": None,
    "load_pretrained_weights": False,
    "local_files_only": True,
}

FIXTURES = {
    "comet-tiny": {
        "cls": RegressionMetric,
        "seed": 1,
        "num_hidden_layers": 2,
        "args": {
            "encoder_learning_rate": 1e-06,
            "learning_rate": 1.5e-05,
            "layerwise_decay": 0.95,
            "encoder_model": "XLM-RoBERTa",
            "pool": "avg",
            "layer": "mix",
            "layer_transformation": "sparsemax",
            "layer_norm": False,
            "hidden_sizes": [64, 32],
        },
        # sparsemax([0.1, 0.9, 0.5]) = [0, 0.7, 0.3]
        "scalar_parameters": [0.1, 0.9, 0.5],
        "gamma": 1.3,
        "score_centre": 0.55,
        "score_spread": 0.25,
    },
    "cometkiwi-tiny": {
        "cls": UnifiedMetric,
        "seed": 2,
        "num_hidden_layers": 2,
        "args": {
            "encoder_learning_rate": 3e-06,
            "learning_rate": 3e-05,
            "layerwise_decay": 0.95,
            "encoder_model": "XLM-RoBERTa",
            "sent_layer": "mix",
            "layer_transformation": "softmax",
            "layer_norm": True,
            "word_layer": 2,
            "hidden_sizes": [64, 32],
            "input_segments": ["mt", "src"],
            "word_level_training": False,
            "loss_lambda": 0.65,
            "error_labels": ["minor", "major"],
            "cross_entropy_weights": None,
        },
        "scalar_parameters": [-0.4, 0.3, 0.8],
        "gamma": 0.7,
        "score_centre": 0.62,
        "score_spread": 0.2,
    },
    "xcomet-tiny": {
        "cls": XCOMETMetric,
        "seed": 3,
        "num_hidden_layers": 3,
        "args": {
            "encoder_learning_rate": 1e-06,
            "learning_rate": 3.66e-06,
            "layerwise_decay": 0.983,
            "encoder_model": "XLM-RoBERTa-XL",
            "sent_layer": "mix",
            "layer_transformation": "sparsemax",
            "layer_norm": False,
            "word_layer": 2,
            "hidden_sizes": [48, 24],
            "word_level_training": True,
            "error_labels": SEVERITIES,
            "loss_lambda": 0.055,
            "cross_entropy_weights": [0.08, 0.486, 0.505, 0.533],
        },
        # sparsemax([0.5, -0.5, 0.6, 0.9]) = [1/6, 0, 4/15, 17/30]
        "scalar_parameters": [0.5, -0.5, 0.6, 0.9],
        "gamma": 0.8,
        # Some regression scores above 1.0, where xCOMET clips them.
        "score_centre": 0.85,
        "score_spread": 0.3,
    },
}


def log(message: str) -> None:
    print(f"[comet_side] {message}", flush=True)


def quiet() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "comet"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


# --- tokenizer and encoder folders ------------------------------------------------------


def make_tokenizer(spm_model: Path, out: Path) -> XLMRobertaTokenizerFast:
    """An XLM-R tokenizer (slow, then converted to fast) saved in the Hugging Face layout."""
    slow = XLMRobertaTokenizer(vocab_file=str(spm_model), model_max_length=512)  # as xlm-roberta-large
    with tempfile.TemporaryDirectory() as tmp:
        slow.save_pretrained(tmp)
        fast = XLMRobertaTokenizerFast.from_pretrained(tmp)
        fast.save_pretrained(str(out))  # copies the SentencePiece model from tmp
    missing = [name for name in TOKENIZER_FILES if not (out / name).exists()]
    if missing:
        raise SystemExit(f"tokenizer files missing: {missing}")
    return fast


def slow_fast_differences(spm_model: Path, fast: XLMRobertaTokenizerFast, segments: list[dict]) -> list[dict]:
    """Where SentencePiece itself (the slow tokenizer) and the fast one that COMET uses disagree.

    They break ties between equally scored segmentations differently ("000" as 00+0 or 0+00).
    COMET tokenizes with the fast tokenizer, so the expected outputs follow it.
    """
    slow = XLMRobertaTokenizer(vocab_file=str(spm_model))
    differences = []
    for i, segment in enumerate(segments):
        for key in ("src", "mt", "ref"):
            slow_tokens = slow.convert_ids_to_tokens(slow(segment[key]).input_ids)
            fast_tokens = fast.convert_ids_to_tokens(fast(segment[key]).input_ids)
            if slow_tokens != fast_tokens:
                first = next(
                    (n for n, (a, b) in enumerate(zip(slow_tokens, fast_tokens, strict=False)) if a != b),
                    min(len(slow_tokens), len(fast_tokens)),
                )
                window = slice(max(first - 2, 0), first + 4)
                differences.append(
                    {
                        "segment": i,
                        "field": key,
                        "first_difference_at": first,
                        "slow": slow_tokens[window],
                        "fast": fast_tokens[window],
                    }
                )
    return differences


def encoder_config(encoder_model: str, vocab_size: int, num_hidden_layers: int):
    config_class = XLMRobertaXLConfig if encoder_model == "XLM-RoBERTa-XL" else XLMRobertaConfig
    config = config_class(
        vocab_size=vocab_size,
        num_hidden_layers=num_hidden_layers,
        max_position_embeddings=MAX_POSITION_EMBEDDINGS,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        layer_norm_eps=1e-5,
        initializer_range=INITIALIZER_RANGE,
        **ENCODER_SIZES,
    )
    config.architectures = ["XLMRobertaXLModel" if encoder_model == "XLM-RoBERTa-XL" else "XLMRobertaModel"]
    return config


# --- building, saving, loading -------------------------------------------------------------


def build(spec: dict, folder: Path, tokenizer_dir: Path, vocab_size: int):
    """Makes the model with COMET's class (random weights); the caller is inside ``folder``."""
    encoder_dir = folder / "encoder"
    encoder_dir.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_dir / name, encoder_dir / name)
    encoder_config(spec["args"]["encoder_model"], vocab_size, spec["num_hidden_layers"]).save_pretrained(
        str(encoder_dir)
    )
    torch.manual_seed(spec["seed"])
    model = spec["cls"](**COMMON_ARGS, **spec["args"])
    with torch.no_grad():
        for parameter, value in zip(
            model.layerwise_attention.scalar_parameters, spec["scalar_parameters"], strict=True
        ):
            parameter.fill_(value)
        model.layerwise_attention.gamma.fill_(spec["gamma"])
    return model


def save(model, folder: Path) -> None:
    """Saves the way COMET checkpoints are saved: a Lightning checkpoint plus hparams.yaml."""
    trainer = Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(folder),
    )
    trainer.strategy.connect(model)
    trainer.save_checkpoint(str(folder / "checkpoints" / "model.ckpt"))
    save_hparams_to_yaml(folder / "hparams.yaml", dict(model.hparams))


def load(folder: Path):
    """Loads the checkpoint back with COMET's loader; the caller is inside ``folder``."""
    checkpoint = folder / "checkpoints" / "model.ckpt"
    torch.load(checkpoint, map_location="cpu", weights_only=True)  # what evalharness's loader does
    return load_from_checkpoint(str(checkpoint), local_files_only=True)


# --- predicting ------------------------------------------------------------------------------


def samples_for(segments: list[dict], mode: str) -> list[dict]:
    keys = ("src", "mt", "ref") if mode == "ref" else ("src", "mt")
    return [{k: s[k] for k in keys} for s in segments]


def predict(model, samples: list[dict]) -> dict:
    output = model.predict(samples, batch_size=BATCH_SIZE, gpus=0, progress_bar=False)
    result = {"scores": list(output.scores), "system_score": output.system_score}
    if "metadata" in output:
        meta = {k: list(v) for k, v in output.metadata.items()}
        if "error_spans" in meta:
            result["error_spans"] = meta.pop("error_spans")
        result["metadata"] = meta
    return json.loads(json.dumps(result))  # plain JSON types only


@contextlib.contextmanager
def spying(model):
    """Records, per batch, what reaches the reference's span decoder and its word-level head.

    Yields a list of batches: {"probs": the averaged subword probabilities that decode()
    receives, "mt_lengths": len(mt_offsets) per sample (the tokens decode() reads),
    "word_embeddings": the inputs of hidden2tag, one per forward pass}.
    """
    batches: list[dict] = []
    pending: list[torch.Tensor] = []
    decode = model.decode

    def spy_decode(subword_probs, input_ids, mt_offsets):
        batches.append(
            {
                "probs": subword_probs.detach().clone(),
                "mt_lengths": [len(offsets) for offsets in mt_offsets],
                "word_embeddings": list(pending),
            }
        )
        pending.clear()
        return decode(subword_probs, input_ids, mt_offsets)

    def record_input(_module, inputs, _output):
        pending.append(inputs[0].detach().clone())

    handle = model.hidden2tag.register_forward_hook(record_input)
    model.decode = spy_decode
    try:
        yield batches
    finally:
        handle.remove()
        del model.decode


@contextlib.contextmanager
def recording_head_inputs(model):
    """Records the inputs of the regression head's last linear layer."""
    inputs: list[torch.Tensor] = []
    last = model.estimator.ff[-1]
    handle = last.register_forward_hook(lambda _m, args, _o: inputs.append(args[0].detach().clone()))
    try:
        yield inputs
    finally:
        handle.remove()


def calibrate_head(model, sample_sets: list[list[dict]], centre: float, spread: float) -> None:
    """Rescales the regression head's last layer so the raw scores spread around ``centre``.

    An affine change of the last linear layer only: the checkpoint stays a valid COMET one.
    """
    last = model.estimator.ff[-1]
    with recording_head_inputs(model) as inputs:
        for samples in sample_sets:
            model.predict(samples, batch_size=BATCH_SIZE, gpus=0, progress_bar=False)
    features = torch.cat(inputs)
    raw = (features @ last.weight.T).view(-1)
    scale = spread / raw.std().item()
    with torch.no_grad():
        last.weight.mul_(scale)
        last.bias.fill_(centre - scale * raw.median().item())


# --- xCOMET's word-level head ------------------------------------------------------------------


def _labels_and_margins(probs: torch.Tensor, lengths: list[int]):
    """Per sample: the argmax label of each token decode() reads, and the smallest top-2 gap."""
    out = []
    for i, length in enumerate(lengths):
        p = probs[i, :length]
        top2 = torch.topk(p, 2, dim=-1).values
        out.append((p.argmax(-1).tolist(), (top2[:, 0] - top2[:, 1]).min().item()))
    return out


def _span_summary(labels: list[int]) -> tuple[list[int], bool, int]:
    """The severities (label ids) of the closed spans, whether a span is open at the end, and
    the length of the longest closed span (in tokens)."""
    severities, current, length, longest = [], None, 0, 0
    for label in labels:
        if label and current is None:
            current, length = label, 1
        elif label and current is not None:
            length += 1
        elif not label and current is not None:
            severities.append(current)
            longest = max(longest, length)
            current = None
    return severities, current is not None, longest


def _summarise(batches: list[dict], weights: torch.Tensor, tag_weight, tag_bias) -> dict:
    """What a candidate word-level head would give (used only to pick the head)."""
    spans = Counter()
    segments = no_span = open_end = starts_at_bos = multi_token = 0
    margin = float("inf")
    for batch in batches:
        seq_len = batch["probs"].shape[1]
        per_input = [
            torch.softmax(emb @ tag_weight.T + tag_bias, dim=2)[:, :seq_len]
            for emb in batch["word_embeddings"]
        ]
        if len(per_input) == 3:
            probs = sum(p * w for p, w in zip(per_input, weights, strict=True))
        else:
            probs = per_input[0]
        for labels, gap in _labels_and_margins(probs, batch["mt_lengths"]):
            severities, is_open, longest = _span_summary(labels)
            segments += 1
            multi_token += longest > 1
            margin = min(margin, gap)
            open_end += is_open
            starts_at_bos += labels[0] != 0
            no_span += not severities
            for severity in set(severities):
                spans[severity] += 1
    return {
        "segments": segments,
        "segments_with": dict(spans),
        "no_span": no_span,
        "open_at_end": open_end,
        "starts_at_bos": starts_at_bos,
        "multi_token": multi_token,
        "margin": margin,
    }


def _acceptable(summary: dict, min_segments: int) -> bool:
    """Every severity in several segments, spans of several tokens in some, some segments
    without spans, a span open at the end in a few (not most), <s> outside spans mostly,
    and clear winners."""
    third = summary["segments"] // 3
    return (
        all(summary["segments_with"].get(label, 0) >= min_segments for label in (1, 2, 3))
        and summary["no_span"] >= 3
        and summary["multi_token"] >= 2
        and 1 <= summary["open_at_end"] <= third
        and summary["starts_at_bos"] <= third
        and summary["margin"] >= MARGIN
    )


def _mt_token_features(batches: list[dict]) -> torch.Tensor:
    """The word-level features of every MT token that decode() reads, from every input."""
    rows = []
    for batch in batches:
        for embeddings in batch["word_embeddings"]:
            rows += [embeddings[i, :length] for i, length in enumerate(batch["mt_lengths"])]
    return torch.cat(rows)


def calibrate_word_head(model, ref_samples: list[dict], qe_samples: list[dict]) -> dict:
    """Picks hidden2tag weights so that the decoded spans exercise every case.

    Deterministic search over seeded random heads. Each error label's bias is set so that it
    beats "O" on a given share of the MT tokens, then the head is scaled; the first head
    whose spans show all three severities in several segments, segments without spans, a
    few segments whose closing </s> is tagged (a span still open at the end, which COMET
    drops) and a clear winner for every MT token, in both modes, is kept.
    """
    with spying(model) as ref_batches:
        model.predict(ref_samples, batch_size=BATCH_SIZE, gpus=0, progress_bar=False)
    with spying(model) as qe_batches:
        model.predict(qe_samples, batch_size=BATCH_SIZE, gpus=0, progress_bar=False)
    features = _mt_token_features(ref_batches + qe_batches)
    span_weights = model.input_weights_spans
    for seed in range(200):
        generator = torch.Generator().manual_seed(1000 + seed)
        weight = torch.randn(4, model.hidden2tag.in_features, generator=generator)
        logits = features @ weight.T
        for share in (0.01, 0.02, 0.03, 0.05):
            bias = torch.zeros(4)
            for label in (1, 2, 3):
                bias[label] = -torch.quantile(logits[:, label] - logits[:, 0], 1 - share).item()
            for scale in (2.0, 4.0, 8.0):
                ref = _summarise(ref_batches, span_weights, weight * scale, bias * scale)
                qe = _summarise(qe_batches, span_weights, weight * scale, bias * scale)
                if _acceptable(ref, 3) and _acceptable(qe, 3):
                    with torch.no_grad():
                        model.hidden2tag.weight.copy_(weight * scale)
                        model.hidden2tag.bias.copy_(bias * scale)
                    return {"candidate_seed": 1000 + seed, "error_share": share, "scale": scale}
    raise SystemExit("no word-level head met the criteria")


def word_level_facts(model, samples: list[dict], prediction: dict) -> dict:
    """Checks the reference's own decoded spans and probabilities; returns what they show."""
    with spying(model) as batches:
        model.predict(samples, batch_size=BATCH_SIZE, gpus=0, progress_bar=False)
    # predict() with length batching visits the samples in this order.
    order = np.argsort([len(sample["src"]) for sample in samples]).tolist()
    per_sample = [item for b in batches for item in _labels_and_margins(b["probs"], b["mt_lengths"])]
    margin = min(gap for _, gap in per_sample)
    open_at_end = sorted(order[k] for k, (labels, _) in enumerate(per_sample) if _span_summary(labels)[1])
    multi_token = sorted(order[k] for k, (labels, _) in enumerate(per_sample) if _span_summary(labels)[2] > 1)
    starts_at_bos = sorted(order[k] for k, (labels, _) in enumerate(per_sample) if labels[0] != 0)
    spans = prediction["error_spans"]
    severity_segments = {s: sum(any(x["severity"] == s for x in seg) for seg in spans) for s in SEVERITIES}
    severity_spans = {s: sum(x["severity"] == s for seg in spans for x in seg) for s in SEVERITIES}
    facts = {
        "min_top2_probability_gap": margin,
        "spans_per_severity": severity_spans,
        "segments_per_severity": severity_segments,
        "segments_without_spans": [i for i, seg in enumerate(spans) if not seg],
        "segments_with_span_open_at_end": open_at_end,
        "segments_with_multi_token_span": multi_token,
        "segments_whose_bos_token_is_tagged": starts_at_bos,
    }
    if margin < MARGIN or not open_at_end or not all(severity_segments.values()):
        raise SystemExit(f"the word-level head does not exercise every case: {facts}")
    return facts


def token_dump(tokenizer, segments: list[dict]) -> list[dict]:
    """The ids COMET's tokenizer gives each text (with <s> and </s>, untruncated); for the MT
    also the character offsets and decoded tokens that xCOMET's error spans are made of."""
    texts = []
    for i, segment in enumerate(segments):
        for key in ("src", "mt", "ref"):
            encoding = tokenizer(segment[key], return_offsets_mapping=True)
            entry = {"segment": i, "field": key, "ids": encoding.input_ids}
            if key == "mt":
                entry["offsets"] = [list(offset) for offset in encoding.offset_mapping]
                entry["decoded_tokens"] = [tokenizer.decode([token]) for token in encoding.input_ids]
            texts.append(entry)
    return texts


# --- facts about the inputs -------------------------------------------------------------------


def token_counts(tokenizer, texts: list[str]) -> list[int]:
    """Tokens of each text without the special tokens, untruncated."""
    return [len(tokenizer(t, add_special_tokens=False).input_ids) for t in texts]


def truncation_facts(tokenizer, segments: list[dict], model) -> dict:
    """Which inputs COMET truncates: each text to max_positions - 2 tokens with its specials;
    concatenations to max_positions when the texts exceed max_positions - (1 + 2 * parts)."""
    max_positions = model.encoder.max_positions
    counts = {k: token_counts(tokenizer, [s[k] for s in segments]) for k in ("src", "mt", "ref")}
    single_limit = max_positions - 4  # max_positions - 2, less <s> and </s>
    facts = {
        "max_positions": max_positions,
        "tokens": counts,
        "texts_truncated": {k: [i for i, n in enumerate(v) if n > single_limit] for k, v in counts.items()},
    }
    for parts in (("mt", "src"), ("mt", "ref"), ("mt", "src", "ref")):
        limit = max_positions - (1 + len(parts) * 2)
        facts["concatenation_truncated_" + "_".join(parts)] = [
            i for i in range(len(segments)) if sum(min(counts[k][i], single_limit) for k in parts) > limit
        ]
    return facts


def layer_facts(model) -> dict:
    attention = model.layerwise_attention
    weights = torch.cat(list(attention.scalar_parameters))
    return {
        "scalar_parameters": weights.tolist(),
        "layer_weights": attention.transform_fn(weights, dim=0).tolist(),
        "gamma": attention.gamma.item(),
    }


# --- the fixtures ------------------------------------------------------------------------------


def make_fixture(name: str, out: Path, tokenizer, segments: list[dict]) -> dict:
    spec = FIXTURES[name]
    folder = out / name
    modes = {"comet-tiny": ["ref"], "cometkiwi-tiny": ["qe"], "xcomet-tiny": ["ref", "qe"]}[name]
    sample_sets = {mode: samples_for(segments, mode) for mode in modes}
    folder.mkdir(parents=True)
    with contextlib.chdir(folder):
        model = build(spec, folder, out / "xlmr-tokenizer", len(tokenizer))
        calibrate_head(model, list(sample_sets.values()), spec["score_centre"], spec["score_spread"])
        word_head = None
        if name == "xcomet-tiny":
            word_head = calibrate_word_head(model, sample_sets["ref"], sample_sets["qe"])
        save(model, folder)
        del model
        loaded = load(folder)
        predictions = {mode: predict(loaded, samples) for mode, samples in sample_sets.items()}
        facts = {
            "layerwise_attention": layer_facts(loaded),
            "truncation": truncation_facts(tokenizer, segments, loaded),
        }
        if word_head:
            facts["word_level_head_search"] = word_head
            for mode, samples in sample_sets.items():
                facts[f"word_level_{mode}"] = word_level_facts(loaded, samples, predictions[mode])
            meta = {m: predictions[m]["metadata"] for m in modes}
            facts["regression_clipping"] = {
                "ref_raw_scores_above_1": sum(
                    x > 1.0 for k in ("src_scores", "ref_scores", "unified_scores") for x in meta["ref"][k]
                ),
                "ref_raw_scores_total": 3 * len(segments),
                "qe_scores_clipped_to_1": sum(x == 1.0 for x in meta["qe"]["src_scores"]),
            }
    summary = ", ".join(f"{mode} system score {p['system_score']:.6f}" for mode, p in predictions.items())
    log(f"{name}: {summary}")
    return {"modes": predictions, "facts": facts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--spm", type=Path, required=True, help="the SentencePiece model (XLM-R layout)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()

    quiet()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = args.out.resolve()
    segments = [json.loads(line) for line in args.inputs.read_text(encoding="utf-8").splitlines()]

    tokenizer = make_tokenizer(args.spm, out / "xlmr-tokenizer")
    differences = slow_fast_differences(args.spm, tokenizer, segments)
    fixtures = {name: make_fixture(name, out, tokenizer, segments) for name in FIXTURES}
    for fixture in fixtures.values():
        fixture["facts"]["sentencepiece_vs_fast_tokenizer"] = differences
    results = {
        "reference": {
            "name": "unbabel-comet",
            "version": metadata.version("unbabel-comet"),
            "commit": None,
            "source": "PyPI release unbabel-comet (https://github.com/Unbabel/COMET), Apache-2.0",
        },
        "environment": {name: metadata.version(name) for name in COMET_PACKAGES},
        "fixtures": fixtures,
        "tokens": token_dump(tokenizer, segments),
    }
    args.results.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
