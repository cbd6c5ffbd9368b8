"""Builds the MetricX-24 fixture with MetricX's own model class and predicts with predict.py.

Runs INSIDE the MetricX reference environment (transformers 4.30.2, see envs.py); called
by make_neural_fixtures.py, which passes absolute paths:

    python metricx_side.py --inputs inputs.jsonl --spm t5.model --out DIR \
        --metricx-src CHECKOUT --work TMP --results results.json

It writes DIR/metricx-tiny/: config.json and pytorch_model.bin (an untrained
metricx24.models.MT5ForRegression in the layout of the hub checkpoints) and tokenizer/ (an
mT5-style T5 tokenizer). The expected scores come from running the README's recipe,
``python -m metricx24.predict ... --max_input_length 1536 --batch_size 1 [--qe]``, in a
subprocess on the saved files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import torch
from transformers import MT5Config, T5Tokenizer, T5TokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from envs import METRICX_PACKAGES  # noqa: E402 - envs.py needs only the standard library

VOCAB_SIZE = 250112  # mT5's embedding rows; the tokenizer uses only the first few hundred
SCORE_TOKEN = 250089  # <extra_id_10> in mT5: the logit MetricX-24 reads as its score
MAX_INPUT_LENGTH = 1536
BATCH_SIZE = 1
SEED = 24
# Targets for the calibration of the score row: a few inputs below 0 and above 25, so that
# both ends of MetricX's clamp are exercised; the rest spread over (0, 25).
TARGET_LOW, TARGET_HIGH = -3.0, 27.0


def log(message: str) -> None:
    print(f"[metricx_side] {message}", flush=True)


def make_tokenizer(spm_model: Path, out: Path) -> T5TokenizerFast:
    """A T5 tokenizer like mT5's: the SentencePiece pieces, then 100 <extra_id_N> tokens."""
    slow = T5Tokenizer(vocab_file=str(spm_model), extra_ids=100)
    with tempfile.TemporaryDirectory() as tmp:
        slow.save_pretrained(tmp)
        fast = T5TokenizerFast.from_pretrained(tmp)
        fast.save_pretrained(str(out))  # copies spiece.model from tmp
    for name in ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if not (out / name).exists():
            raise SystemExit(f"tokenizer file missing: {name}")
    return fast


def make_config() -> MT5Config:
    """A tiny MT5 configuration with the fields of the MetricX-24 hub checkpoints."""
    config = MT5Config(
        vocab_size=VOCAB_SIZE,
        d_model=8,
        d_ff=16,
        d_kv=4,
        num_heads=2,
        num_layers=2,
        num_decoder_layers=1,
        feed_forward_proj="gated-gelu",  # mT5: dense_act_fn gelu_new, gated
        tie_word_embeddings=False,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        initializer_factor=1.0,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        tokenizer_class="T5Tokenizer",
    )
    config.architectures = ["MT5ForRegression"]
    config.torch_dtype = torch.float32
    return config


def decoder_features(model, dataset) -> torch.Tensor:
    """The input of lm_head at the single decoder step, one row per example."""
    rows: list[torch.Tensor] = []
    handle = model.lm_head.register_forward_hook(lambda _m, args, _o: rows.append(args[0][:, 0, :].clone()))
    try:
        with torch.no_grad():
            for example in dataset:
                model(
                    input_ids=example["input_ids"].unsqueeze(0),
                    attention_mask=example["attention_mask"].unsqueeze(0),
                )
    finally:
        handle.remove()
    return torch.cat(rows)


def calibrate_score_row(features: torch.Tensor) -> torch.Tensor:
    """A score row w (least squares) so that w . h spreads from TARGET_LOW to TARGET_HIGH.

    The inputs are ranked by their projection on the first principal direction of the
    features and given evenly spaced targets in that order.
    """
    features = features.double()
    centred = features - features.mean(0)
    direction = torch.linalg.svd(centred, full_matrices=False).Vh[0]
    order = torch.argsort(centred @ direction)
    targets = torch.empty(len(features), dtype=torch.double)
    targets[order] = torch.linspace(TARGET_LOW, TARGET_HIGH, len(features), dtype=torch.double)
    return torch.linalg.lstsq(features, targets.unsqueeze(1)).solution.view(-1).float()


def run_predict(
    src: Path, model_dir: Path, input_file: Path, output_file: Path, qe: bool, work: Path
) -> list:
    command = [
        sys.executable,
        "-m",
        "metricx24.predict",
        "--tokenizer",
        str(model_dir / "tokenizer"),
        "--model_name_or_path",
        str(model_dir),
        "--max_input_length",
        str(MAX_INPUT_LENGTH),
        "--batch_size",
        str(BATCH_SIZE),
        "--input_file",
        str(input_file),
        "--output_file",
        str(output_file),
    ]
    if qe:
        command.append("--qe")
    env = dict(os.environ, PYTHONPATH=str(src), HF_DATASETS_CACHE=str(work / "datasets-cache"))
    subprocess.run(command, check=True, env=env, cwd=work)
    return [json.loads(line) for line in output_file.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--spm", type=Path, required=True, help="the SentencePiece model (T5 layout)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metricx-src", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()

    sys.path.insert(0, str(args.metricx_src))
    from metricx24 import models, predict  # noqa: PLC0415 - from the pinned checkout

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    folder = args.out.resolve() / "metricx-tiny"
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    segments = [json.loads(line) for line in args.inputs.read_text(encoding="utf-8").splitlines()]

    tokenizer = make_tokenizer(args.spm, folder / "tokenizer")
    input_file = work / "input.jsonl"
    with input_file.open("w", encoding="utf-8") as f:
        for s in segments:
            f.write(json.dumps({"source": s["src"], "hypothesis": s["mt"], "reference": s["ref"]}) + "\n")

    torch.manual_seed(SEED)
    model = models.MT5ForRegression(make_config())
    model.eval()
    with torch.no_grad():
        # Rows past the tokenizer's vocabulary are never looked up: zero keeps the file compressible.
        model.shared.weight[len(tokenizer) :] = 0.0
        model.lm_head.weight[len(tokenizer) :] = 0.0

    # Reference tokenization (predict.get_dataset: the prompt, truncation, EOS removed).
    datasets = {
        mode: predict.get_dataset(
            str(input_file), tokenizer, MAX_INPUT_LENGTH, torch.device("cpu"), mode == "qe"
        )["test"]
        for mode in ("ref", "qe")
    }
    features = {mode: decoder_features(model, ds) for mode, ds in datasets.items()}
    row = calibrate_score_row(torch.cat([features["ref"], features["qe"]]))
    with torch.no_grad():
        model.lm_head.weight[SCORE_TOKEN] = row

    model.config.save_pretrained(str(folder))
    state = model.state_dict()
    for key in (
        "shared.weight",
        "encoder.embed_tokens.weight",
        "decoder.embed_tokens.weight",
        "lm_head.weight",
    ):
        if key not in state:
            raise SystemExit(f"state dict lacks {key}")
    torch.save(state, folder / "pytorch_model.bin")
    torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)  # what evalharness does
    del model

    modes, facts = {}, {"score_row_calibration": {"targets": [TARGET_LOW, TARGET_HIGH]}}
    for mode in ("ref", "qe"):
        rows = run_predict(
            args.metricx_src, folder, input_file, work / f"out-{mode}.jsonl", mode == "qe", work
        )
        scores = [row["prediction"] for row in rows]
        modes[mode] = {"scores": scores, "system_score": sum(scores) / len(scores)}
        unclamped = (features[mode] @ model_row(folder)).tolist()
        prompt_tokens = [len(tokenizer(example["input"]).input_ids) for example in datasets[mode]]
        facts[mode] = {
            "prompt_tokens_with_eos": prompt_tokens,
            "truncated": [i for i, n in enumerate(prompt_tokens) if n > MAX_INPUT_LENGTH],
            "model_input_tokens": [len(example["input_ids"]) for example in datasets[mode]],
            "unclamped_scores": unclamped,
            "below_0": [i for i, x in enumerate(unclamped) if x < 0],
            "above_25": [i for i, x in enumerate(unclamped) if x > 25],
        }
        for i, (score, raw) in enumerate(zip(scores, unclamped, strict=True)):
            if abs(score - min(max(raw, 0.0), 25.0)) > 1e-4:
                raise SystemExit(f"{mode} {i}: predict.py gave {score}, the features give {raw}")
        log(f"{mode}: scores {min(scores):.4f} .. {max(scores):.4f}, truncated {facts[mode]['truncated']}")

    results = {
        "reference": {
            "name": "metricx24.predict",
            "version": "MetricX-24",
            "commit": git_commit(args.metricx_src),
            "source": "https://github.com/google-research/metricx, Apache-2.0",
        },
        "environment": {name: metadata.version(name) for name in METRICX_PACKAGES},
        "fixtures": {"metricx-tiny": {"modes": modes, "facts": facts}},
        # What the model reads: the prompt's ids truncated to 1536 with the EOS removed.
        "tokens": {mode: [example["input_ids"].tolist() for example in ds] for mode, ds in datasets.items()},
    }
    args.results.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


def model_row(folder: Path) -> torch.Tensor:
    """The saved score row (as the checkpoint holds it)."""
    state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    return state["lm_head.weight"][SCORE_TOKEN]


def git_commit(checkout: Path) -> str:
    result = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip()


if __name__ == "__main__":
    main()
