"""The marian backend against a bare `model.generate` loop over the same model.

    .venv/bin/python benchmarks/bench_backends.py [--model DIR_OR_HUB_ID] [--segments 256]
        [--batch-size 16] [--beams 1] [--max-new-tokens 64] [--device auto]

Without --model it builds an untrained Marian model of realistic width offline (real
SentencePiece tokenizers, d_model 256, 2+2 layers): its output is noise, but the compute
per token is real. Both sides use the same model, batch size, beams and max_new_tokens;
the harness runs with its cache (a fresh, empty one: every segment is translated), length
sorting and progress. Target: the harness reaches at least 0.95 of the bare loop's speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalharness.backends.cache import TranslationCache  # noqa: E402
from evalharness.backends.marian import MarianBackend  # noqa: E402
from evalharness.backends.runner import translate_segments  # noqa: E402


def segments(n: int) -> list[str]:
    lines = [
        ln for ln in (ROOT / "seeds" / "000_46ff231d867e4b0c.txt").read_text(encoding="utf-8").splitlines()
    ]
    lines = [ln for ln in lines if len(ln) > 60]
    return [f"{i}. {lines[i % len(lines)][: 40 + (i * 37) % 160]}" for i in range(n)]


def bare_loop(model, tokenizer, texts, batch_size, beams, max_new_tokens, device):
    import torch

    out_tokens = 0
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(texts[i : i + batch_size], return_tensors="pt", padding=True, truncation=True)
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.inference_mode():
            out = model.generate(**batch, num_beams=beams, do_sample=False, max_new_tokens=max_new_tokens)
        out_tokens += int((out != tokenizer.pad_token_id).sum())
        tokenizer.batch_decode(out, skip_special_tokens=True)
    return out_tokens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model directory or hub id (default: build an untrained one)")
    parser.add_argument("--segments", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; the best of each is kept")
    args = parser.parse_args()

    import torch

    tmp = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    model_ref = args.model
    if model_ref is None:
        from evalharness.backends.fixtures import build_tiny_marian

        model_ref = str(
            build_tiny_marian(
                tmp / "model", "sv", "hi", ROOT / "seeds", d_model=256, layers=2, heads=4, ffn_dim=1024
            )
        )
        print("model: untrained Marian, d_model 256, 2+2 layers (output is noise; compute is real)")
    backend = MarianBackend(
        model_ref,
        num_beams=args.beams,
        max_new_tokens=args.max_new_tokens,
        batch_tokens=10**9,  # the batch size alone decides, as in the bare loop
        max_batch_size=args.batch_size,
        device=args.device,
    )
    texts = segments(args.segments)
    model, tokenizer, device = backend.model, backend.tokenizer, backend.device
    print(
        f"device {device}, torch {torch.__version__}, {len(texts)} segments, batch {args.batch_size}, beams {args.beams}, max_new_tokens {backend.new_token_limit}"
    )
    bare_loop(
        model,
        tokenizer,
        texts[: args.batch_size],
        args.batch_size,
        args.beams,
        backend.new_token_limit,
        device,
    )  # warm-up

    bare_times, harness_times, tokens = [], [], 0
    for r in range(args.repeats):
        start = time.perf_counter()
        tokens = bare_loop(
            model, tokenizer, texts, args.batch_size, args.beams, backend.new_token_limit, device
        )
        bare_times.append(time.perf_counter() - start)
        cache = TranslationCache(tmp / f"cache-{r}.sqlite")
        start = time.perf_counter()
        hyps, stats = translate_segments(backend, texts, "sv", "hi", cache, chunk_size=256)
        harness_times.append(time.perf_counter() - start)
        cache.close()
        assert stats.translated == len(texts) and len(hyps) == len(texts)
    bare, harness = min(bare_times), min(harness_times)
    print(f"{'':<22} {'seconds':>8} {'segments/s':>11} {'tokens/s':>9}")
    print(f"{'bare generate loop':<22} {bare:8.2f} {len(texts) / bare:11.1f} {tokens / bare:9.0f}")
    print(f"{'evalharness marian':<22} {harness:8.2f} {len(texts) / harness:11.1f} {tokens / harness:9.0f}")
    ratio = bare / harness
    print(f"ratio harness/bare (speed): {ratio:.3f}  target >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'}")


if __name__ == "__main__":
    main()
