"""`openai`: any OpenAI-compatible Chat Completions server (`vllm serve`, llama.cpp's
`llama-server`, Ollama, TGI, hosted APIs) through the official `openai` client
(`pip install 'evalharness[llm]'`). Spec: `openai:MODEL` (the name as the server knows it, `@`
included); the `label` option names a model version the server cannot tell us (bump it when
a hosted model changes: cached translations of the old one are then not reused).

- The API key is read from the environment variable the `api_key_env` option names
  (OPENAI_API_KEY by default). Only the variable's name is ever recorded; the key reaches no
  report, log, page or cache key.
- Before the first translation request, one preflight checks that the server answers, takes
  the key and serves the model: a wrong model name or a refused key is one line, not a
  hundred failed requests.
- Requests run `concurrency` at a time. The client retries 408, 409, 429, 5xx, timeouts and
  dropped connections with exponential backoff and jitter, honouring Retry-After; a reply that
  is not the JSON it should be is asked again the same way. A segment that still fails
  stops the run with one line; what finished before it is already cached.
- Finished segments go to the translation cache as they arrive (`Backend.streams`), so a
  killed run never asks again for a segment it has an answer for.
- `usage()` reports requests, retries, tokens in and out, and latency percentiles.

The fingerprint holds what decides the output: server URL (without credentials), model and
label, prompt, temperature, seed and token limits; not concurrency, timeouts or retries."""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from evalharness.backends.base import Backend, Hypothesis, SourceItem, item_of
from evalharness.backends.llm_output import extract
from evalharness.backends.options import checked
from evalharness.backends.options import redact as public_url
from evalharness.backends.prompts import load_prompt
from evalharness.backends.registry import register_backend
from evalharness.errors import UserError, optional_module

INSTALL_HINT = "the openai backend needs the openai client: pip install 'evalharness[llm]'"
DEFAULT_URL = "https://api.openai.com/v1"
OPTIONS = {
    "base_url": "",  # default: $OPENAI_BASE_URL, else OpenAI's API
    "api_key_env": "OPENAI_API_KEY",
    "temperature": 0.0,
    "seed": 0,
    "max_tokens": 2048,  # the most a segment may generate
    "length_ratio": 2.0,  # tokens allowed per source character (+32), under max_tokens
    "max_tokens_field": "max_tokens",  # or max_completion_tokens (newer hosted models)
    "concurrency": 8,
    "max_retries": 6,
    "timeout": 120.0,  # seconds per request
    "preflight": True,
    "label": "",  # a model version the server cannot tell us: bump it when a hosted model changes
    "prompt": "",
    "terms": False,
    "context": 0,
}
TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")


@dataclass
class Usage:
    """What the service was asked and how it answered; shared by the request threads."""

    calls: int = 0  # translation requests that succeeded
    requests: int = 0  # HTTP requests sent, retries and preflight included
    retries: int = 0
    malformed: int = 0  # replies that were not the JSON they should be (asked again)
    tokens_in: int = 0
    tokens_out: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per segment, retries included
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                if name == "latency":
                    self.latencies.append(value)
                else:
                    setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, math.ceil(p / 100 * len(lat)) - 1)], 4) if lat else None

        return {
            "requests": self.requests,
            "retries": self.retries,
            "malformed_replies": self.malformed,
            "segments": self.calls,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_p50_s": pct(50),
            "latency_p99_s": pct(99),
            "seconds": round(self.seconds, 3),
        }


class OpenAIBackend(Backend):
    kind = "openai"
    streams = True
    code_modules = (
        "evalharness.backends.prompts",
        "evalharness.backends.llm_output",
        "evalharness.backends.languages",
    )

    def __init__(self, model: str, **options) -> None:
        self.options = checked(self.kind, options, OPTIONS)
        o = self.options
        if o["concurrency"] < 1:
            raise UserError("backend openai: concurrency must be 1 or more")
        if o["max_tokens"] < 1 or o["timeout"] <= 0:
            raise UserError("backend openai: max_tokens and timeout must be more than 0")
        if o["max_tokens_field"] not in TOKEN_FIELDS:
            raise UserError(f"backend openai: max_tokens_field must be one of {', '.join(TOKEN_FIELDS)}")
        self.model, self.label = model, o["label"] or None
        self.base_url = (o["base_url"] or os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL).rstrip("/")
        if urlsplit(self.base_url).scheme not in ("http", "https") or not urlsplit(self.base_url).hostname:
            raise UserError("backend openai: base_url is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
        self.prompt = load_prompt(o["prompt"] or None)
        self.reads = frozenset({"terms"} if o["terms"] else set()) | ({"context"} if o["context"] else set())
        self.context_segments = o["context"]
        self.usage_record = Usage()
        self.checked_server = False

    @cached_property
    def client(self):
        openai = optional_module("openai", INSTALL_HINT)
        env = self.options["api_key_env"]
        key = os.environ.get(env)
        if key is None and env != OPTIONS["api_key_env"]:
            raise UserError(f"backend openai: environment variable {env} (api_key_env) is not set")
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=key or "no-key",  # local servers started without --api-key take any
            timeout=self.options["timeout"],
            max_retries=self.options["max_retries"],
        )

    # -- contract ------------------------------------------------------------------------
    def describe(self) -> dict:
        o = self.options
        return {
            "base_url": public_url(self.base_url),
            "model": self.model,
            "label": self.label,
            "prompt": {
                "name": self.prompt.name,
                "version": self.prompt.version,
                "sha256": self.prompt.digest(),
            },
            "temperature": o["temperature"],
            "seed": o["seed"],
            "max_tokens": o["max_tokens"],
            "length_ratio": o["length_ratio"],
            "max_tokens_field": o["max_tokens_field"],
            "terms": o["terms"],
            "context": o["context"],
        }

    def determinism(self) -> dict:
        return {
            "deterministic": None,
            "settings": {"temperature": self.options["temperature"], "seed": self.options["seed"]},
            "note": "a served model is usually but not always repeatable at temperature 0: the server's "
            "batching and kernels may change it; the translation cache keeps the first answer",
        }

    def usage(self) -> dict:
        return self.usage_record.as_dict() if self.usage_record.requests else {}

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()

    # -- the service ---------------------------------------------------------------------
    def _call(self, **kwargs):
        """One request through the client's retries; returns (completion, HTTP requests sent)."""
        raw = self.client.chat.completions.with_raw_response.create(**kwargs)
        return raw, raw.retries_taken + 1

    def _explain(self, exc: Exception) -> str:
        """One line for a failed request, naming the server and never the key."""
        openai = optional_module("openai", INSTALL_HINT)
        url = public_url(self.base_url)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return (
                f"{url} refused the API key (HTTP {exc.status_code}); "
                f"set the environment variable {self.options['api_key_env']} (option api_key_env)"
            )
        if isinstance(exc, openai.NotFoundError):
            return f"{url}: model {self.model!r} not found (HTTP 404): {_message(exc)}"
        if isinstance(exc, openai.APITimeoutError):
            return (
                f"{url}: no answer within {self.options['timeout']:g}s, {self.options['max_retries']} retries"
            )
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach {url}: {_message(exc)} (after {self.options['max_retries']} retries)"
        if isinstance(exc, openai.APIStatusError):
            return f"{url}: HTTP {exc.status_code}: {_message(exc)}"
        return f"{url}: {type(exc).__name__}: {exc}"

    def preflight(self) -> None:
        """The server answers, takes the key and serves the model, or one line says why not."""
        openai = optional_module("openai", INSTALL_HINT)
        try:
            served = [m.id for m in self.client.models.list()]
            self.usage_record.add(requests=1)
        except openai.NotFoundError:  # a server without /models: the probe below decides
            served = []
        except openai.APIError as exc:
            raise UserError(self._explain(exc)) from None
        if self.model in served:
            return
        try:  # not listed (or no list): ask for one token; a wrong name fails here
            _, sent = self._call(**self._request([{"role": "user", "content": "Hi"}], 1))
            self.usage_record.add(requests=sent, retries=sent - 1)
        except openai.APIError as exc:
            listed = f" (it serves: {', '.join(sorted(served)[:8])})" if served else ""
            raise UserError(self._explain(exc) + listed) from None

    def _request(self, messages: list[dict], limit: int) -> dict:
        o = self.options
        return {
            "model": self.model,
            "messages": messages,
            "temperature": o["temperature"],
            "seed": o["seed"],
            o["max_tokens_field"]: limit,
        }

    def token_limit(self, source: str) -> int:
        return max(
            1, min(self.options["max_tokens"], math.ceil(self.options["length_ratio"] * len(source)) + 32)
        )

    def translate_one(self, item: SourceItem, src_lang: str, tgt_lang: str) -> Hypothesis:
        openai = optional_module("openai", INSTALL_HINT)
        request = self._request(self.prompt.messages(item, src_lang, tgt_lang), self.token_limit(item.text))
        start = time.perf_counter()
        for attempt in range(self.options["max_retries"] + 1):
            try:
                raw, sent = self._call(**request)
            except openai.APIError as exc:
                sent = self.options["max_retries"] + 1 if _retried(exc) else 1
                self.usage_record.add(requests=sent, retries=sent - 1)
                raise UserError(self._explain(exc)) from None
            self.usage_record.add(requests=sent, retries=sent - 1)
            try:
                completion = raw.parse()
                choice = completion.choices[0]
                content, finish = choice.message.content, choice.finish_reason
                if content is not None and not isinstance(content, str):
                    raise TypeError("content is not text")
                break
            except (ValueError, TypeError, AttributeError, IndexError, KeyError):
                # Not the JSON a Chat Completions reply is: a server or proxy hiccup.
                self.usage_record.add(malformed=1, retries=1)
                if attempt == self.options["max_retries"]:
                    raise UserError(
                        f"{public_url(self.base_url)}: {attempt + 1} replies were not a Chat Completions "
                        f"JSON object (status {raw.http_response.status_code})"
                    ) from None
                time.sleep(min(8.0, 0.5 * 2**attempt) * (1 - 0.25 * random.random()))
        usage = getattr(completion, "usage", None)
        self.usage_record.add(
            calls=1,
            tokens_in=(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=(getattr(usage, "completion_tokens", 0) or 0),
            latency=time.perf_counter() - start,
        )
        refusal = getattr(choice.message, "refusal", None)
        text, flags = extract(content or "", item.text, tgt_lang)
        if refusal and "refusal" not in flags:
            flags += ("refusal",)
        if finish == "length":
            flags += ("truncated",)
        elif finish == "content_filter":
            flags += ("content-filter",)
        return Hypothesis(text, flags, raw=content if content is not None else (refusal or ""))

    def stream(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> Iterator[list[tuple[int, Hypothesis]]]:
        """Requests `concurrency` at a time; each group is what finished since the last. When
        a segment fails for good, no new request is sent; those in flight are waited for and
        what they bring is yielded (it is paid for and gets cached), then the error is raised."""
        if not segments:
            return
        if self.options["preflight"] and not self.checked_server:
            self.preflight()
            self.checked_server = True
        items = [item_of(s) for s in segments]
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=self.options["concurrency"], thread_name_prefix="openai")
        pending: dict[Future, int] = {}
        queue = iter(range(len(items)))
        failure: BaseException | None = None
        finished = False
        try:
            while True:
                while failure is None and len(pending) < self.options["concurrency"]:
                    i = next(queue, None)  # keep at most `concurrency` requests in flight
                    if i is None:
                        break
                    pending[pool.submit(self.translate_one, items[i], src_lang, tgt_lang)] = i
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                group = []
                for future in done:
                    i = pending.pop(future)
                    if future.exception() is None:
                        group.append((i, future.result()))
                    elif failure is None:
                        failure = future.exception()
                if group:
                    yield group
            finished = True
        finally:
            # an interrupted run (Ctrl-C, a consumer that stopped) does not wait for answers
            pool.shutdown(wait=finished, cancel_futures=True)
            self.usage_record.add(seconds=time.perf_counter() - started)
        if failure is not None:
            raise failure

    def translate(
        self, segments: Sequence[str | SourceItem], src_lang: str, tgt_lang: str
    ) -> list[Hypothesis]:
        out: list[Hypothesis | None] = [None] * len(segments)
        for group in self.stream(segments, src_lang, tgt_lang):
            for i, hyp in group:
                out[i] = hyp
        return out  # type: ignore[return-value]


def _retried(exc: Exception) -> bool:
    """Whether the client retried this error before giving up (its own rule: timeouts,
    dropped connections, 408, 409, 429 and 5xx)."""
    status = getattr(exc, "status_code", None)
    return status is None or status in (408, 409, 429) or status >= 500


def _message(exc: Exception) -> str:
    """The server's own error message when it sent one, else the exception's; one line."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        msg = inner.get("message") if isinstance(inner, dict) else inner
        if msg:
            return " ".join(str(msg).split())[:300]
    cause = exc.__cause__ or exc.__context__
    text = str(exc) if not cause else f"{exc} ({type(cause).__name__})"
    return " ".join(text.split())[:300]


@register_backend("openai", options=OPTIONS)
def make_openai(argument: str | None = None, **options) -> OpenAIBackend:
    if not argument:
        raise UserError("the openai backend needs a model: openai:MODEL (e.g. openai:gpt-4o-mini)")
    return OpenAIBackend(argument, **options)  # a model id may hold "@" (e.g. Vertex's): no revision here
