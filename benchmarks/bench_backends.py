"""Two measurements, each against a baseline measured in the same run:

1. overhead: the marian backend against a bare `model.generate` loop over the same model.
   Target: the harness reaches at least 0.95 of the bare loop's speed.
2. engines: the ct2 backend (CTranslate2, int8 on CPU) against the marian backend
   (transformers) on an OPUS-MT-sized Marian (6+6 layers, d_model 512, 8 heads, FFN 2048,
   vocabulary 58,101), both through the harness, same threads, batches and length. The
   model is randomly initialised and built offline, and `</s>` is made impossible, so both
   engines emit exactly max-new-tokens - 1 tokens per segment (checked on each engine's own
   output ids). Measured at the backends' default beam size 4 and greedy (--engine-beams).
   Target: >= 3x transformers' tokens/s. On a GPU (`--device cuda`): float16 on both sides,
   batch 32 and 256, also as a share of the GPU's peak FLOP/s (2 x parameters FLOP per
   generated token; `--peak-tflops`), target >= 5x.

    .venv/bin/python benchmarks/bench_backends.py [--only overhead|engines] [--model DIR_OR_HUB_ID]
        [--segments 256] [--batch-size 16] [--beams 1] [--max-new-tokens 64] [--device auto]
        [--threads 2] [--engine-segments 64] [--engine-beams 4,1]

Without --model, part 1 builds an untrained Marian model of realistic width offline (real
SentencePiece tokenizers, d_model 256, 2+2 layers): its output is noise, but the compute
per token is real. Both sides use the same model, batch size, beams and max_new_tokens;
the harness runs with its cache (a fresh, empty one: every segment is translated), length
sorting and progress.
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


def overhead(args, tmp: Path) -> None:
    import torch

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


def _timed(backend, texts: list[str], repeats: int) -> tuple[float, list[str]]:
    backend.prepare(texts, "sv", "hi")
    backend.translate(texts[:2], "sv", "hi")  # warm-up: loads the model
    best, out = float("inf"), []
    for _ in range(repeats):
        start = time.perf_counter()
        hyps, _ = translate_segments(backend, texts, "sv", "hi", cache=None, chunk_size=len(texts))
        best = min(best, time.perf_counter() - start)
        out = [h.text for h in hyps]
    return best, out


def _emitted_lengths(backend, texts: list[str]) -> set[int]:
    """Generated tokens per segment, counted on each engine's own output ids (not re-tokenised)."""
    import torch

    batch = [backend.tokenizer(t)["input_ids"] for t in texts[:8]]
    if hasattr(backend, "translator"):  # CTranslate2: hypotheses are token lists without </s>
        tokens = [backend.tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        results = backend.translator.translate_batch(
            tokens, beam_size=backend.num_beams, max_decoding_length=backend.decoding_length
        )
        return {len(r.hypotheses[0]) for r in results}
    inputs = backend.tokenizer.pad({"input_ids": batch}, return_tensors="pt").to(backend.device)
    with torch.inference_mode():
        output = backend.model.generate(
            **inputs, num_beams=backend.num_beams, do_sample=False, max_new_tokens=backend.new_token_limit
        )
    special = {backend.tokenizer.pad_token_id, backend.tokenizer.eos_token_id}
    return {sum(1 for t in row[1:].tolist() if t not in special) for row in output}


def engines(args, tmp: Path) -> None:
    import torch

    from evalharness.backends.ct2 import CT2Backend
    from evalharness.backends.fixtures import build_tiny_marian

    model_dir = build_tiny_marian(
        tmp / "opus-sized", "sv", "hi", ROOT / "seeds", d_model=512, layers=6, heads=8, ffn_dim=2048,
        vocab_size=58101, never_stop=True,
    )  # fmt: skip
    params = sum(p.numel() for p in MarianBackend(str(model_dir)).model.parameters())
    gpu = args.device.startswith("cuda")
    torch.set_num_threads(args.threads)
    texts = segments(args.engine_segments)
    length = args.max_new_tokens
    batches = (32, 256) if gpu else (args.batch_size,)
    beams = [int(b) for b in args.engine_beams.split(",")]
    print(
        f"model: OPUS-MT-sized Marian, random weights, {params / 1e6:.1f}M parameters; {len(texts)} segments, "
        f"{length} new tokens each; device {args.device}, {args.threads} CPU threads; "
        f"torch {torch.__version__}, ctranslate2 {__import__('ctranslate2').__version__}"
    )
    print(f"{'engine':<24} {'beams':>5} {'batch':>5} {'seconds':>8} {'tokens/s':>9} {'vs transformers':>16}")
    for beam, batch in ((beam, batch) for beam in beams for batch in batches):
        common = {"num_beams": beam, "max_new_tokens": length, "batch_tokens": 10**9, "device": args.device}
        hf = MarianBackend(
            str(model_dir), max_batch_size=batch, dtype="float16" if gpu else "float32", **common
        )
        ct2 = CT2Backend(
            str(model_dir),
            compute_type="float16" if gpu else "int8",
            threads=args.threads,
            max_batch_size=batch,
            **common,
        )
        rows = []
        for name, backend in (
            (f"transformers {hf.dtype_name}", hf),
            (f"ctranslate2 {ct2.compute_type}", ct2),
        ):
            seconds, _ = _timed(backend, texts, args.repeats)
            emitted = _emitted_lengths(backend, texts)
            rows.append((name, seconds, len(texts) * max(emitted) / seconds, emitted))
        if len({frozenset(r[3]) for r in rows}) != 1 or len(rows[0][3]) != 1:
            sys.exit(f"engines emitted different lengths: {[(r[0], sorted(r[3])) for r in rows]}")
        base = rows[0][2]
        for name, seconds, rate, _ in rows:
            extra = ""
            if gpu and args.peak_tflops:
                extra = f"  {rate * 2 * params / (args.peak_tflops * 1e12):.2%} of peak"
            print(f"{name:<24} {beam:>5} {batch:>5} {seconds:8.2f} {rate:9.0f} {rate / base:15.2f}x{extra}")
        target = 5.0 if gpu else 3.0
        ratio = rows[1][2] / base
        print(
            f"  checked: both emit {max(rows[0][3])} tokens per segment; ratio {ratio:.2f}, "
            f"target >= {target:.0f}x: {'met' if ratio >= target else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("overhead", "engines"))
    parser.add_argument("--model", help="part 1: model directory or hub id (default: build an untrained one)")
    parser.add_argument("--segments", type=int, default=256)
    parser.add_argument("--engine-segments", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--engine-beams",
        default="4,1",
        help="part 2: beam sizes, comma-separated (4 = the backends' default)",
    )
    parser.add_argument("--threads", type=int, default=2, help="part 2: CPU threads for both engines")
    parser.add_argument("--peak-tflops", type=float, help="part 2 on GPU: the card's dense fp16 peak")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs; the best of each is kept")
    args = parser.parse_args()
    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    tmp = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    if args.only in (None, "overhead"):
        overhead(args, tmp)
    if args.only in (None, "engines"):
        print()
        engines(args, tmp)


if __name__ == "__main__":
    main()
