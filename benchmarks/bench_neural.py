"""COMET through evalharness against unbabel-comet itself, on the same checkpoint and data,
measured in one run.

    .venv/bin/python benchmarks/bench_neural.py [--segments 2000] [--threads 2] [--work DIR]
        [--batch-size 16] [--device cpu|cuda]

The checkpoint is a random XLM-R-base-sized COMET (12 layers of width 768, wmt22-comet-da's
head and layer mix), built by unbabel-comet's own classes in its pinned environment
(`tests/reference/envs.py`, created under $EVALHARNESS_REFENVS when missing: needs PyPI),
with a SentencePiece tokenizer trained on the synthetic corpus. Data: `synthetic_mt.py`
sentences (references), a damaged copy as the source (so source and reference lengths
correlate, as a translation's do) and another as the hypotheses. Each measurement is a fresh
process with `--threads` threads; times are the model's load and the scoring pass apart.

1. A cold pass (no cache of any kind): segments/s of evalharness against
   `comet.load_from_checkpoint(...).predict(batch_size=16, gpus=0)` (comet-score's default
   batch), and the largest difference between their segment scores. Targets: identical
   (<= 1e-5 on COMET's 0-1 scale) and >= 1.5x segments/s.
2. A second system on the same test set: evalharness with the score cache of pass 1, whose
   sentence embeddings of the sources and references are reused, so only hypotheses are
   encoded. Against the same unbabel-comet time.
3. Re-scoring after 10% of the hypotheses changed, with the score cache: against a full pass
   of evalharness. Target: >= 8x faster.

On a GPU (`--device cuda`) both run there, unbabel-comet with `gpus=1` and batch 64.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reference"))

from benchmarks.synthetic_mt import sentences, system  # noqa: E402

OURS = """
import json, sys, time
start = time.perf_counter()
import torch
torch.set_num_threads({threads})
from pathlib import Path
from evalharness.metrics.neural.metric import ScoringContext, _scorer
from evalharness.metrics.registry import get
from evalharness.metrics.scoring import score_all
rows = [json.loads(line) for line in Path({data!r}).read_text(encoding="utf-8").splitlines()]
context = ScoringContext(Path({cache!r})) if {cache!r} else ScoringContext()
options = {{"comet_model": {model!r}, "neural_device": {device!r}}}
imported = time.perf_counter()
if {load!r}:  # load the model first, to time it apart (scoring then finds it loaded)
    _scorer(get("comet").build(None, options), "ref")
loaded = time.perf_counter()
sc = score_all(["comet"], [r["mt"] for r in rows], [[r["ref"] for r in rows]], None, options,
               per_segment=True, sources=[r["src"] for r in rows], context=context)["comet"]
done = time.perf_counter()
c = sc.stats.counters
print(json.dumps({{"scores": [s / 100 for s in sc.segment_scores], "seconds": done - loaded,
                   "load_seconds": loaded - imported, "with_load": done - imported,
                   "scored": c.scored, "from_cache": c.from_cache, "encoded": c.texts_encoded,
                   "recalled": c.texts_recalled, "threads": torch.get_num_threads()}}))
"""


def write_data(path: Path, n: int, seed: int, changed: float = 0.0) -> None:
    refs = sentences(n, seed=0)
    src = system(refs, 0.5, seed=7)
    mt = system(refs, 0.2, seed=seed)
    if changed:  # the first `changed` share of segments get other hypotheses
        other = system(refs, 0.3, seed=seed + 1000)
        mt = [other[i] if i < int(n * changed) else m for i, m in enumerate(mt)]
    path.write_text(
        "".join(
            json.dumps({"src": s, "mt": m, "ref": r}) + "\n" for s, m, r in zip(src, mt, refs, strict=True)
        ),
        encoding="utf-8",
    )


def ensure_checkpoint(work: Path, comet_python: Path) -> Path:
    folder = work / "comet-base"
    if (folder / "checkpoints" / "model.ckpt").is_file():
        return folder
    import sentencepiece as spm

    corpus = work / "spm-train.txt"
    corpus.write_text("\n".join(sentences(30_000, seed=5)) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(  # SentencePiece's own ids (<unk> 0, <s> 1, </s> 2), as XLM-R's
        input=str(corpus),
        model_prefix=str(work / "spm"),
        vocab_size=12000,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    subprocess.run(
        [str(comet_python), str(ROOT / "benchmarks" / "neural_comet_side.py"), "build",
         "--folder", str(folder), "--spm", str(work / "spm.model")],
        check=True, env=_env(1),
    )  # fmt: skip
    return folder


def _env(threads: int) -> dict:
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONPATH": str(ROOT),
    }


def run_comet(comet_python: Path, folder: Path, data: Path, threads: int, batch_size: int) -> dict:
    out = data.with_suffix(".comet.json")
    start = time.perf_counter()
    subprocess.run(
        [str(comet_python), str(ROOT / "benchmarks" / "neural_comet_side.py"), "predict", "--folder", str(folder),
         "--data", str(data), "--out", str(out), "--batch-size", str(batch_size)],
        check=True, env=_env(threads), capture_output=True,
    )  # fmt: skip
    result = json.loads(out.read_text())
    result["wall"] = time.perf_counter() - start
    return result


def run_ours(
    folder: Path, data: Path, threads: int, cache: Path | None, device: str, load: bool = True
) -> dict:
    """A fresh process; `load`: load the model before scoring and time it apart (without, the
    model loads only if the cache lacks something, and its load is part of the pass)."""
    code = OURS.format(
        threads=threads,
        data=str(data),
        cache=str(cache) if cache else "",
        model=str(folder),
        device=device,
        load=load,
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, env=_env(threads), capture_output=True, text=True
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segments", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--batch-size", type=int, default=16, help="unbabel-comet's batch (comet-score's default)"
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--work", type=Path, help="where the checkpoint is kept (default: the user cache)")
    args = parser.parse_args()
    from envs import COMET_REQUIREMENTS, ensure_venv, refenvs_root

    comet_python = ensure_venv(refenvs_root() / "comet", COMET_REQUIREMENTS)
    work = args.work or Path.home() / ".cache" / "evalharness" / "bench-neural"
    work.mkdir(parents=True, exist_ok=True)
    folder = ensure_checkpoint(work, comet_python)
    n = args.segments
    batch = 64 if args.device == "cuda" else args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, second, tenth = tmp / "sys1.jsonl", tmp / "sys2.jsonl", tmp / "sys1-10pct.jsonl"
        write_data(data, n, seed=8)
        write_data(second, n, seed=9)
        write_data(tenth, n, seed=8, changed=0.10)
        print(f"{n} segments, {args.threads} threads, device {args.device}; checkpoint {folder}", flush=True)
        comet = run_comet(comet_python, folder, data, args.threads, batch)
        cold = run_ours(folder, data, args.threads, None, args.device)
        diff = max(abs(a - b) for a, b in zip(cold["scores"], comet["scores"], strict=True))
        comet_rate, cold_rate = n / comet["score_seconds"], n / cold["seconds"]
        print(f"unbabel-comet (batch {batch}): load {comet['load_seconds']:.1f} s, {comet_rate:.2f} segments/s "
              f"({comet['wall']:.1f} s in all, {comet['threads']} threads)")  # fmt: skip
        print(f"evalharness, cold:           load {cold['load_seconds']:.1f} s, {cold_rate:.2f} segments/s "
              f"({cold['wall']:.1f} s in all) "
              f"= {cold_rate / comet_rate:.2f}x; largest score difference {diff:.2e} (target <= 1e-5, >= 1.5x)")  # fmt: skip
        cache = tmp / "scores.sqlite"
        full = run_ours(folder, data, args.threads, cache, args.device, load=False)  # fills the cache
        other = run_ours(folder, second, args.threads, cache, args.device)
        other_rate = n / other["seconds"]
        print(f"evalharness, second system:  {other_rate:.2f} segments/s = {other_rate / comet_rate:.2f}x "
              f"(encoded {other['encoded']} texts, {other['recalled']} sources/references remembered)")  # fmt: skip
        again = run_ours(folder, tenth, args.threads, cache, args.device, load=False)
        print(f"re-scoring, 10% changed:     {again['with_load']:.1f} s against a full pass of {full['with_load']:.1f} s "
              f"(model loads included) = {full['with_load'] / again['with_load']:.1f}x faster ({again['scored']} scored, "
              f"{again['from_cache']} from cache; target >= 8x)")  # fmt: skip


if __name__ == "__main__":
    main()
