"""LLM backends, each against a baseline measured in the same run:

1. hf-causal against a bare `generate` loop over the same chat model: the same messages
   through the same chat template, left padding, greedy, the same batch size and new-token
   limit. Target: the harness reaches at least 0.95 of the bare loop's speed.
2. openai against the local OpenAI-compatible server it talks to (tests/chat_server.py, on
   127.0.0.1), at concurrency 8, the server's throughput measured by a bare client (8
   threads, keep-alive `http.client` connections, the same request bodies, replies parsed
   with `json`). Two servers: one serving the chat model through hf-causal (bound by compute)
   and one answering after a fixed 20 ms (bound by latency: it shows the client's own
   overhead). Target: >= 0.9 of the server's throughput; p50/p99 latency from the backend.
3. vllm: tokens/s of vLLM's offline engine on a GPU, when one is here (skipped otherwise).

    .venv/bin/python benchmarks/bench_llm.py [--only causal|openai|vllm] [--segments 64]
        [--batch-size 16] [--max-new-tokens 32] [--requests 96] [--model DIR_OR_HUB_ID]

Without --model, an untrained chat model of modest width is built offline (Llama layers,
hidden 256, 4 layers, byte-level BPE trained on the seeds, a chat template): its output is
noise and it never ends its turn, so every segment generates exactly the limit on both
sides; the compute per token is real.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from evalharness.backends.base import SourceItem  # noqa: E402
from evalharness.backends.registry import create_backend  # noqa: E402
from evalharness.backends.runner import translate_segments  # noqa: E402


def segments(n: int) -> list[str]:
    lines = (ROOT / "seeds" / "000_46ff231d867e4b0c.txt").read_text(encoding="utf-8").splitlines()
    lines = [ln for ln in lines if len(ln) > 60]
    return [f"{i}. {lines[i % len(lines)][: 40 + (i * 37) % 160]}" for i in range(n)]


def build_model(work: Path) -> Path:
    from evalharness.backends.llm_fixtures import build_tiny_causal

    return build_tiny_causal(work / "chat", ROOT / "seeds", hidden=256, layers=4, heads=4, intermediate=1024)


# -- 1. hf-causal against a bare generate loop ------------------------------------------------
def bare_loop(backend, texts: list[str], batch_size: int, max_new_tokens: int) -> int:
    """What a user would write: render the chat, pad left, generate, decode."""
    import torch

    tokenizer, model = backend.tokenizer, backend.model
    tokens = 0
    for i in range(0, len(texts), batch_size):
        prompts = [
            tokenizer.apply_chat_template(
                backend.prompt.messages(SourceItem(t), "sv", "en"), add_generation_prompt=True, tokenize=False
            )
            for t in texts[i : i + batch_size]
        ]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(
                **batch, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id
            )
        new = out[:, batch["input_ids"].shape[1] :]
        tokens += int(new.numel())
        tokenizer.batch_decode(new, skip_special_tokens=True)
    return tokens


def bench_causal(model: str, n: int, batch_size: int, max_new_tokens: int) -> bool:
    texts = segments(n)
    options = dict(
        max_new_tokens=max_new_tokens, length_ratio=1000.0, max_batch_size=batch_size, batch_tokens=10**9
    )
    backend = create_backend(f"hf-causal:{model}", **options)
    bare_loop(backend, texts[:batch_size], batch_size, 4)  # load and warm up, outside the timing
    best_bare = best_harness = float("inf")
    for _ in range(2):  # alternate, best of two: the machine's noise hits both sides
        start = time.perf_counter()
        tokens = bare_loop(backend, texts, batch_size, max_new_tokens)
        best_bare = min(best_bare, time.perf_counter() - start)
        start = time.perf_counter()
        hyps, _ = translate_segments(backend, texts, "sv", "en", cache=None)
        best_harness = min(best_harness, time.perf_counter() - start)
    assert len(hyps) == n and all("truncated" in h.flags for h in hyps)  # every row generated the limit
    print(f"hf-causal: {n} segments, batch {batch_size}, {max_new_tokens} new tokens each, greedy, CPU")
    print(f"{'':<22} {'seconds':>8} {'segments/s':>11} {'tokens/s':>9}")
    for name, secs in (("bare generate loop", best_bare), ("evalharness hf-causal", best_harness)):
        print(f"{name:<22} {secs:8.2f} {n / secs:11.1f} {tokens / secs:9.0f}")
    ratio = best_bare / best_harness
    print(f"ratio harness/bare (speed): {ratio:.3f}  target >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'}")
    return ratio >= 0.95


# -- 2. openai against the server's own throughput ------------------------------------------
def bare_client(url: str, bodies: list[dict], concurrency: int) -> float:
    """Seconds for a minimal client: `concurrency` threads on keep-alive connections."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    todo = iter(range(len(bodies)))
    lock = threading.Lock()

    def worker() -> None:
        con = http.client.HTTPConnection(host, int(port), timeout=60)
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                break
            con.request(
                "POST", "/v1/chat/completions", json.dumps(bodies[i]), {"Content-Type": "application/json"}
            )
            reply = json.loads(con.getresponse().read())
            assert reply["choices"][0]["message"]["content"] is not None
        con.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


class ServerProcess:
    """tests/chat_server.py in a process of its own (a real server does not share the
    client's interpreter); stops when its stdin closes."""

    def __init__(self, model: str | None, delay: float, max_tokens: int) -> None:
        import subprocess

        args = [sys.executable, str(ROOT / "tests" / "chat_server.py"), "--delay", str(delay)]
        args += ["--max-tokens", str(max_tokens)] + (["--model", model] if model else [])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the chat server did not start")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def bench_openai(model: str, requests: int, max_new_tokens: int, concurrency: int = 8) -> bool:
    ok = True
    print(f"openai backend at concurrency {concurrency}, {requests} requests, against a bare client")
    print("(the server in a process of its own)")
    print(f"{'server':<26} {'bare req/s':>10} {'openai req/s':>12} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for label, served, delay, n in (
        ("chat model via hf-causal", model, 0.0, requests),
        ("fixed 20 ms, no model", None, 0.02, requests * 4),
    ):
        texts = segments(n)
        with ServerProcess(served, delay, max_new_tokens) as server:
            client = create_backend(
                "openai:tiny-chat", base_url=server.url, concurrency=concurrency, max_tokens=max_new_tokens
            )
            bodies = [
                client._request(client.prompt.messages(SourceItem(t), "sv", "en"), client.token_limit(t))
                for t in texts
            ]
            bare_client(server.url, bodies[:concurrency], concurrency)  # warm up
            best_bare = best_ours = float("inf")
            for _ in range(2):  # alternate, best of two
                best_bare = min(best_bare, bare_client(server.url, bodies, concurrency))
                fresh = create_backend(
                    "openai:tiny-chat",
                    base_url=server.url,
                    concurrency=concurrency,
                    max_tokens=max_new_tokens,
                )
                start = time.perf_counter()
                hyps = fresh.translate(texts, "sv", "en")
                elapsed = time.perf_counter() - start
                if elapsed < best_ours:
                    best_ours, usage = elapsed, fresh.usage()
        assert len(hyps) == n and usage["retries"] == 0
        ratio = best_bare / best_ours
        ok &= ratio >= 0.9
        p50, p99 = usage["latency_p50_s"] * 1000, usage["latency_p99_s"] * 1000
        print(f"{label:<26} {n / best_bare:10.1f} {n / best_ours:12.1f} {ratio:6.3f} {p50:7.1f} {p99:7.1f}")
    print(f"target openai/bare >= 0.9: {'met' if ok else 'MISSED'}")
    return ok


# -- 3. vLLM on a GPU --------------------------------------------------------------------------
def bench_vllm(model: str, n: int, max_new_tokens: int) -> bool:
    from evalharness.backends.vllm_engine import vllm_available

    why = vllm_available()
    if why:
        print(f"vllm: skipped ({why})")
        return True
    texts = segments(n)
    backend = create_backend(f"vllm:{model}", max_new_tokens=max_new_tokens, length_ratio=1000.0)
    backend.complete([[{"role": "user", "content": "warm up"}]], [4])
    start = time.perf_counter()
    hyps, _ = translate_segments(backend, texts, "sv", "en", cache=None)
    secs = time.perf_counter() - start
    replies = backend.complete(
        [backend.prompt.messages(SourceItem(t), "sv", "en") for t in texts], [max_new_tokens] * n
    )
    tokens = sum(r.tokens_out for r in replies)
    print(
        f"vllm: {n} segments, {tokens} tokens in {secs:.2f}s: {tokens / secs:.0f} tokens/s ({len(hyps)} hypotheses)"
    )
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["causal", "openai", "vllm"])
    parser.add_argument(
        "--model", help="a causal LM directory or hub id (default: an untrained one built here)"
    )
    parser.add_argument("--segments", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--requests", type=int, default=96)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_model(Path(tmp)))
        if not args.model:
            print(
                "model: untrained Llama-style chat model, hidden 256, 4 layers (output is noise; compute is real)\n"
            )
        ok = True
        if args.only in (None, "causal"):
            ok &= bench_causal(model, args.segments, args.batch_size, args.max_new_tokens)
            print()
        if args.only in (None, "openai"):
            ok &= bench_openai(model, args.requests, min(args.max_new_tokens, 16))
            print()
        if args.only in (None, "vllm"):
            ok &= bench_vllm(model, args.segments * 4, args.max_new_tokens)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
