"""The unbabel-comet side of `bench_neural.py`; runs INSIDE the pinned COMET environment
(`tests/reference/envs.py`), never imported by evalharness.

    build   --folder DIR --spm SPM   a random XLM-R-base-sized COMET (regression_metric)
                                     checkpoint in COMET's own format, tokenizer from SPM
    predict --folder DIR --data JSONL --out JSON [--batch-size 16]
                                     load_from_checkpoint + predict on the CPU, timed
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# XLM-R base: 12 layers of width 768, XLM-R's vocabulary size and positions.
BASE = {
    "vocab_size": 250002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "layer_norm_eps": 1e-5,
}
HPARAMS = {  # wmt22-comet-da's settings, on an XLM-R-base-sized encoder
    "encoder_model": "XLM-RoBERTa",
    "pretrained_model": "encoder",
    "layer": "mix",
    "layer_transformation": "sparsemax",
    "layer_norm": False,
    "pool": "avg",
    "hidden_sizes": [3072, 1024],
    "activations": "Tanh",
    "final_activation": None,
    "dropout": 0.1,
    "load_pretrained_weights": False,
    "local_files_only": True,
}


def build(folder: Path, spm: Path) -> None:
    import torch
    from comet.models import RegressionMetric
    from pytorch_lightning import Trainer
    from pytorch_lightning.core.saving import save_hparams_to_yaml
    from transformers import XLMRobertaConfig, XLMRobertaTokenizer, XLMRobertaTokenizerFast
    from transformers.convert_slow_tokenizer import convert_slow_tokenizer

    (folder / "encoder").mkdir(parents=True, exist_ok=True)
    slow = XLMRobertaTokenizer(vocab_file=str(spm))
    XLMRobertaTokenizerFast(
        __slow_tokenizer=slow, tokenizer_object=convert_slow_tokenizer(slow)
    ).save_pretrained(str(folder / "encoder"))
    config = XLMRobertaConfig(**BASE)
    config.architectures = ["XLMRobertaModel"]
    config.save_pretrained(str(folder / "encoder"))
    os.chdir(folder)  # COMET resolves pretrained_model against the current directory
    torch.manual_seed(0)
    model = RegressionMetric(**HPARAMS)  # random weights; layer-mix weights as COMET starts them
    trainer = Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(str(folder / "checkpoints" / "model.ckpt"))
    save_hparams_to_yaml(folder / "hparams.yaml", dict(model.hparams))


def predict(folder: Path, data: Path, out: Path, batch_size: int) -> None:
    import torch

    start = time.perf_counter()
    from comet import load_from_checkpoint

    os.chdir(folder)
    model = load_from_checkpoint(str(folder / "checkpoints" / "model.ckpt"), local_files_only=True)
    loaded = time.perf_counter()
    samples = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    result = model.predict(samples, batch_size=batch_size, gpus=0, progress_bar=False)
    done = time.perf_counter()
    out.write_text(
        json.dumps(
            {
                "scores": list(result["scores"]),
                "load_seconds": loaded - start,
                "score_seconds": done - loaded,
                "threads": torch.get_num_threads(),
            }
        ),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("build", "predict"))
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--spm", type=Path)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--batch-size", type=int, default=16)  # comet-score's default
    args = parser.parse_args()
    if args.command == "build":
        build(args.folder.resolve(), args.spm.resolve())
    else:
        predict(args.folder.resolve(), args.data.resolve(), args.out.resolve(), args.batch_size)


if __name__ == "__main__":
    main()
