"""A local OpenAI-compatible Chat Completions server for the tests and the LLM benchmark: the
tiny causal fixture model answers through `hf-causal` (`HFCausalBackend.complete`), so the
`openai` backend is tested with the real `openai` client against a real HTTP server. Without
a model (`backend=None`) it answers `reply` ("Hej.") after `delay`: a server bound by latency, not
compute, for measuring the client's own overhead.

It listens on 127.0.0.1 only, on a port the OS picks, serves one model name, checks the
bearer key, and can be told to misbehave: `faults` is a queue of what the next chat requests
get instead of an answer (`ok`: none, `429` with Retry-After, `500`, `timeout`: an answer later than the
client waits, `malformed`: a 200 whose body is not JSON, `drop`: the connection closed
without a reply). It records every chat request and the most requests it had in flight at
once. Used as a context manager it stops itself; its threads are daemons."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from evalharness.backends.hf_causal import Completion

FAULTS = ("ok", "429", "500", "timeout", "malformed", "drop")


class ChatServer:
    def __init__(
        self,
        backend,
        model: str = "tiny-chat",
        key: str | None = None,
        faults: list[str] | None = None,
        delay: float = 0.0,
        stall: float = 3.0,
        max_tokens: int = 64,
        reply: str = "Hej.",
    ) -> None:
        self.backend, self.model, self.key = backend, model, key
        self.faults = deque(faults or [])
        self.delay, self.stall, self.max_tokens, self.reply = delay, stall, max_tokens, reply
        self.posts: list[dict] = []  # every chat request body, refused ones included
        self.requests: list[dict] = []  # chat request bodies that passed the key and model checks
        self.arrivals: list[float] = []  # their arrival times (time.monotonic)
        self.faults_served: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.model_lock = threading.Lock()  # one generate at a time: the tiny model is not shared-safe
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        if self.backend is not None:
            self.backend.complete([[{"role": "user", "content": "warm up"}]], [1])  # load before serving
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what the server does ------------------------------------------------------------
    def next_fault(self) -> str | None:
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
            if fault not in FAULTS + (None,):
                raise ValueError(f"unknown fault {fault!r}")
            if fault and fault != "ok":
                self.faults_served.append(fault)
            return fault

    def answer(self, body: dict) -> dict:
        limit = min(int(body.get("max_tokens") or body.get("max_completion_tokens") or 16), self.max_tokens)
        if self.backend is None:  # no model: a fixed reply after `delay` (a latency-bound server)
            reply = Completion(self.reply, len(json.dumps(body["messages"])) // 4, 2, True)
        else:
            with self.model_lock:
                (reply,) = self.backend.complete([body["messages"]], [limit])
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_tiny",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop" if reply.finished else "length",
                }
            ],
            "usage": {
                "prompt_tokens": reply.tokens_in,
                "completion_tokens": reply.tokens_out,
                "total_tokens": reply.tokens_in + reply.tokens_out,
            },
        }

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, payload: object, headers: dict | None = None) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, kind: str, headers: dict | None = None) -> None:
                self._send(status, {"error": {"message": message, "type": kind, "code": None}}, headers)

            def _authorised(self) -> bool:
                if server.key is None or self.headers.get("Authorization") == f"Bearer {server.key}":
                    return True
                self._error(401, "Incorrect API key provided.", "invalid_request_error")
                return False

            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/v1/models":
                    return self._error(404, f"no route {self.path}", "not_found")
                if self._authorised():
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._error(404, f"no route {self.path}", "not_found")
                with server.lock:
                    server.posts.append(body)
                if not self._authorised():
                    return
                if body.get("model") != server.model:
                    return self._error(
                        404, f"The model `{body.get('model')}` does not exist.", "NotFoundError"
                    )
                with server.lock:
                    server.requests.append(body)
                    server.arrivals.append(time.monotonic())
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._chat(body)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _chat(self, body: dict) -> None:
                fault = server.next_fault()
                if fault == "429":
                    return self._error(429, "Rate limit reached.", "rate_limit", {"Retry-After": "1"})
                if fault == "500":
                    return self._error(500, "Internal server error.", "server_error")
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "timeout":
                    time.sleep(server.stall)
                if fault == "malformed":
                    return self._send(200, b'{"id": "chatcmpl-x", "choices": [{"message": ')
                if server.delay:
                    time.sleep(server.delay)
                try:
                    self._send(200, server.answer(body))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.close_connection = True

        return Handler


def main() -> None:
    """`python tests/chat_server.py [--model DIR] [--delay S]`: serve until stdin closes
    (a process of its own, as a real server is: the benchmark's client then does not share
    an interpreter with it). Prints the URL on the first line."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a causal LM directory (none: a fixed reply after --delay)")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    backend = None
    if args.model:
        from evalharness.backends.registry import create_backend

        backend = create_backend(f"hf-causal:{args.model}")
    with ChatServer(backend, delay=args.delay, max_tokens=args.max_tokens) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)


if __name__ == "__main__":
    main()
