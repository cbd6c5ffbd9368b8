"""The `openai` backend with the real `openai` client against a local OpenAI-compatible server
(tests/chat_server.py) that serves the tiny causal model through hf-causal: what it answers
is what hf-causal says; injected faults (429 with Retry-After, 500, a timeout, malformed
JSON, a dropped connection) end in translated segments or one line; the concurrency limit
holds; a killed run resumes without asking again for a cached segment; the API key reaches
no file and no output."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from chat_server import ChatServer
from conftest import EN_HOALU, ROOT, SV, content_lines, run_cli

from evalharness.backends.base import SourceItem
from evalharness.backends.cache import TranslationCache, source_key
from evalharness.backends.registry import create_backend
from evalharness.backends.runner import translate_segments
from evalharness.corpus.importer import import_parallel
from evalharness.corpus.store import save_testset
from evalharness.errors import UserError

pytest.importorskip(
    "openai", reason="the openai client is not installed: pip install -e '.[llm]' (dev has it)"
)

KEY = "sk-test-9f8e7d6c5b4a-never-written"
KEY_ENV = "EVALHARNESS_TEST_API_KEY"
SOURCES = [f"{n}. {line[: 30 + 7 * n]}" for n, line in enumerate(content_lines(SV)[:8])]


@pytest.fixture(scope="module")
def chat_model(llm_models):
    backend = create_backend(f"hf-causal:{llm_models['causal']}", max_new_tokens=8)
    yield backend
    backend.close()


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def _client(server: ChatServer, model: str = "tiny-chat", **options):
    options = {"base_url": server.url, "api_key_env": KEY_ENV, "max_tokens": 8, "timeout": 5.0} | options
    return create_backend(f"openai:{model}", **options)


def test_replies_are_the_served_models_translations_through_every_fault(chat_model, key_env):
    faults = ["429", "500", "timeout", "malformed", "drop"]
    with ChatServer(chat_model, key=KEY, faults=faults, stall=2.5) as server:
        backend = _client(server, concurrency=1, timeout=1.0)
        hyps = backend.translate(SOURCES, "sv", "en")
        usage = backend.usage()
        gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert server.faults_served == faults
    direct = chat_model.translate(SOURCES, "sv", "en")
    assert [h.raw for h in hyps] == [h.raw for h in direct]  # same prompt, same model, same reply
    assert [h.text for h in hyps] == [h.text for h in direct]
    assert all("truncated" in h.flags for h in hyps)  # noise never ends its turn within 8 tokens
    assert usage["segments"] == len(SOURCES)
    assert usage["retries"] == 5 and usage["malformed_replies"] == 1
    assert usage["requests"] == 1 + len(SOURCES) + 5  # the preflight's model list, each segment, each retry
    assert usage["tokens_out"] == 8 * len(SOURCES) and usage["tokens_in"] > 0
    assert usage["latency_p99_s"] >= 1.0 > usage["latency_p50_s"]
    assert gaps[0] >= 1.0  # Retry-After: 1 was honoured (the client's own backoff starts at 0.5 s)


def test_the_concurrency_limit_holds(chat_model, key_env):
    with ChatServer(chat_model, delay=0.15) as server:
        backend = _client(server, concurrency=3)
        hyps = backend.translate(SOURCES * 2, "sv", "en")
    assert len(hyps) == 16 and server.max_in_flight == 3


def test_a_segment_that_keeps_failing_stops_the_run_and_what_finished_is_kept(chat_model, tmp_path, key_env):
    cache = TranslationCache(tmp_path / "cache.sqlite")
    try:
        with ChatServer(chat_model, faults=["ok", "ok", "500", "500"]) as server:
            backend = _client(server, concurrency=1, max_retries=1)
            with pytest.raises(UserError) as err:
                translate_segments(backend, SOURCES, "sv", "en", cache)
            assert str(err.value) == f"{server.url}: HTTP 500: Internal server error."
            again = _client(server, concurrency=1)
            hyps, stats = translate_segments(again, SOURCES, "sv", "en", cache)
        assert stats.from_cache == 2 and stats.translated == len(SOURCES) - 2
        assert all(h.raw is not None for h in hyps)  # raw output comes back from the cache too
    finally:
        cache.close()


def test_answers_in_flight_when_a_segment_fails_are_kept(tmp_path, key_env):
    """concurrency 4, the first request fails for good: the three in flight are answered,
    paid for and cached; no request is sent after the failure."""
    cache = TranslationCache(tmp_path / "cache.sqlite")
    try:
        with ChatServer(None, faults=["500"], delay=0.5) as server:
            backend = _client(server, concurrency=4, max_retries=0)
            with pytest.raises(UserError, match="HTTP 500"):
                translate_segments(backend, SOURCES, "sv", "en", cache)
            assert len(server.posts) == 4  # the four in flight, then nothing new
            _, stats = translate_segments(_client(server, concurrency=4), SOURCES, "sv", "en", cache)
        assert stats.from_cache == 3 and stats.translated == len(SOURCES) - 3
    finally:
        cache.close()


def test_a_wrong_model_or_key_is_one_line_before_any_translation(chat_model, monkeypatch):
    with ChatServer(chat_model, key=KEY) as server:
        monkeypatch.setenv(KEY_ENV, "sk-wrong")
        with pytest.raises(UserError) as err:
            _client(server).translate(SOURCES, "sv", "en")
        assert str(err.value) == (
            f"{server.url} refused the API key (HTTP 401); set the environment variable {KEY_ENV} (option api_key_env)"
        )
        assert server.posts == []  # refused at the model list: no chat request at all
        monkeypatch.setenv(KEY_ENV, KEY)
        with pytest.raises(UserError) as err:
            _client(server, model="tiny-chta").translate(SOURCES, "sv", "en")
        assert "model 'tiny-chta' not found (HTTP 404)" in str(err.value)
        assert str(err.value).endswith("(it serves: tiny-chat)")
        assert [p["max_tokens"] for p in server.posts] == [1]  # the preflight's probe, no translation
        monkeypatch.delenv(KEY_ENV)
        with pytest.raises(UserError, match=f"environment variable {KEY_ENV} .* is not set"):
            _client(server).translate(SOURCES, "sv", "en")
    with pytest.raises(UserError, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        create_backend("openai:m", base_url="http://127.0.0.1:9/v1", max_retries=0).translate(
            ["x"], "sv", "en"
        )


def test_the_prompt_building_and_extraction_code_is_in_the_fingerprint(monkeypatch):
    from evalharness import versions

    before = create_backend("openai:m", base_url="https://api.example.com/v1").fingerprint().digest
    original = versions._module_text
    monkeypatch.setattr(
        versions,
        "_module_text",
        lambda name: original(name) + ("# changed" if name == "evalharness.backends.llm_output" else ""),
    )
    assert create_backend("openai:m", base_url="https://api.example.com/v1").fingerprint().digest != before


def test_fingerprint_holds_what_decides_the_output_and_no_credentials():
    base = create_backend("openai:m", base_url="https://user:sk-secret@api.example.com/v1?k=sk-2")
    fp = base.fingerprint().as_dict()
    assert fp["base_url"] == "https://api.example.com/v1" and "sk-" not in str(fp)
    same = create_backend("openai:m", base_url="https://api.example.com/v1", concurrency=2, timeout=9.0)
    assert same.fingerprint().digest == base.fingerprint().digest  # how we ask is not what is answered
    assert create_backend("openai:claude-3-5-sonnet@20240620").model == "claude-3-5-sonnet@20240620"
    for other in (
        create_backend("openai:m", base_url="https://api.example.com/v1", label="2025-06"),
        create_backend("openai:m", base_url="https://api.example.com/v1", temperature=0.7),
        create_backend("openai:m", base_url="https://api.example.com/v1", seed=1),
        create_backend("openai:n", base_url="https://api.example.com/v1"),
    ):
        assert other.fingerprint().digest != base.fingerprint().digest


@pytest.fixture
def sv_en_testset(tmp_path):
    """48 distinct sv-en segments made from the seed article's lines."""
    sv, en = content_lines(SV), content_lines(EN_HOALU)
    a, b = tmp_path / "t.sv", tmp_path / "t.en"
    a.write_text("".join(f"{n}. {sv[n % 10][: 30 + n]}\n" for n in range(48)), encoding="utf-8")
    b.write_text("".join(f"{n}. {en[n % 10][: 30 + n]}\n" for n in range(48)), encoding="utf-8")
    testset = import_parallel([("sv", a), ("en", b)], "llm")
    save_testset(testset, tmp_path / "refs")
    return tmp_path / "refs", [s.text["sv"] for s in testset.segments_for("sv", "en")]


def _cached_keys(db) -> set[str]:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return {k for (k,) in con.execute("SELECT source_sha256 FROM translations")}
    except sqlite3.OperationalError:
        return set()


def test_a_killed_run_resumes_without_asking_again_for_a_cached_segment(chat_model, sv_en_testset, tmp_path):
    refs, sources = sv_en_testset
    db, out = tmp_path / "cache.sqlite", tmp_path / "hyps.txt"
    with ChatServer(chat_model, key=KEY, delay=0.1) as server:
        args = [sys.executable, "-m", "evalharness", "translate", "--testset", "llm", "--references", refs,
                "--pair", "sv-en", "--backend", "openai:tiny-chat", "--cache", db, "--out", out,
                "--backend-opt", f"base_url={server.url}", "--backend-opt", f"api_key_env={KEY_ENV}",
                "--backend-opt", "concurrency=2", "--backend-opt", "max_tokens=8"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), KEY_ENV: KEY}
        proc = subprocess.Popen(
            [str(a) for a in args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.time() + 120
        while len(_cached_keys(db)) < 6 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cached = _cached_keys(db)
        assert 6 <= len(cached) < 48 and not out.exists()
        server.requests.clear()
        resumed = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        asked = [r["messages"][-1]["content"] for r in server.requests]
    by_key = {source_key(s): s for s in sources}
    for key in cached:
        assert not any(f"Swedish: {by_key[key]}\n" in content for content in asked), by_key[key]
    assert len(asked) == 48 - len(cached)  # each segment not cached asked once, none twice
    assert f"{len(cached)} from cache, {48 - len(cached)} translated" in resumed.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 48


def test_the_key_reaches_no_file_and_no_output(chat_model, sv_en_testset, tmp_path):
    refs, _ = sv_en_testset
    with ChatServer(chat_model, key=KEY) as server:  # refuses requests without the key
        result = run_cli(
            "run", "--testset", "llm", "--references", refs, "--pair", "sv-en", "--backend", "openai:tiny-chat",
            "--metrics", "bleu,chrf", "--runs", tmp_path / "runs", "--cache", tmp_path / "cache.sqlite",
            "--backend-opt", f"base_url={server.url}", "--backend-opt", f"api_key_env={KEY_ENV}",
            "--backend-opt", "max_tokens=8", env_extra={KEY_ENV: KEY},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    assert len(server.requests) == 48


def test_the_report_records_the_service_and_the_raw_output(chat_model, sv_en_testset, tmp_path, key_env):
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation
    from evalharness.reports.formats import render_markdown
    from evalharness.reports.run_page import run_page

    refs, _ = sv_en_testset
    with ChatServer(chat_model, key=KEY, faults=["500"]) as server:
        options = {"base_url": server.url, "api_key_env": KEY_ENV, "max_tokens": 8}
        request = RunRequest(
            testset=load_testset(refs, "llm"), backend_spec="openai:tiny-chat", src="sv", tgt="en",
            metrics=("bleu", "chrf"), backend_options=options,
        )  # fmt: skip
        report, _ = run_evaluation(request, tmp_path / "runs", tmp_path / "cache.sqlite", argv=["test"])
        assert report.schema_version == 7
        assert report.service is not None and report.service.segments == 48 and report.service.retries == 1
        assert report.service.requests == 1 + 48 + 1
        assert report.backend.fingerprint["base_url"] == server.url
        assert all(s.raw is None or s.raw != s.hypothesis for s in report.segments)
        page = render_markdown(run_page(report))
        assert "## LLM output" in page and "requests: 50, retries: 1" in page
        # a second run is answered by the cache: the service is not asked, and nothing is reported for it
        server.requests.clear()
        again, _ = run_evaluation(request, tmp_path / "runs2", tmp_path / "cache.sqlite", argv=["test"])
        assert server.requests == []
    assert again.service is None and again.translation["from_cache"] == 48


def test_required_terms_reach_the_prompt(chat_model, tmp_path, key_env):
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, translate_in_process

    testset = load_testset(ROOT / "references", "hoalu")
    sources = [s.text["hi"] for s in testset.segments_for("hi", "sv")]
    with ChatServer(chat_model, key=KEY) as server:
        request = RunRequest(
            testset=testset, backend_spec="openai:tiny-chat", src="hi", tgt="sv",
            glossary=ROOT / "references" / "glossary" / "hoalu.yaml",
            backend_options={"base_url": server.url, "api_key_env": KEY_ENV, "max_tokens": 4, "terms": True, "context": 1},
        )  # fmt: skip
        translate_in_process(request, sources, tmp_path / "cache.sqlite")
        asked = [r["messages"][-1]["content"] for r in server.requests]
    with_term = [c for c in asked if "कुशल जन जुटाव → Skicklig massmobilisering" in c]
    assert with_term and len(with_term) == sum("कुशल जन जुटाव" in s for s in sources)
    assert sum("It continues this text" in c for c in asked) == len([s for s in sources if s.strip()]) - 1
    assert SourceItem("x").key() != SourceItem("x", (("a", "b"),)).key()


def test_a_document_unit_reaches_the_llm_whole_with_its_terms(chat_model, tmp_path, key_env):
    """`--unit document`: the served model is asked once for the whole source document (its
    paragraphs on their own lines) with every required term of it; its reply is
    re-segmented onto every segment, each with a placement confidence."""
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    testset = load_testset(ROOT / "references", "hoalu")
    segments = testset.segments_for("hi", "sv")
    with ChatServer(chat_model, key=KEY) as server:
        request = RunRequest(
            testset=testset, backend_spec="openai:tiny-chat", src="hi", tgt="sv", metrics=("chrf",),
            glossary=ROOT / "references" / "glossary" / "hoalu.yaml", unit="document",
            backend_options={"base_url": server.url, "api_key_env": KEY_ENV, "max_tokens": 8, "terms": True, "context": 1},
        )  # fmt: skip
        report, _ = run_evaluation(request, tmp_path / "runs", tmp_path / "cache.sqlite", argv=["test"])
        asked = [r["messages"][-1]["content"] for r in server.requests]
    assert len(asked) == 1 and len(segments) == 10
    assert "\n".join(s.text["hi"] for s in segments) in asked[0]  # one paragraph per line
    assert "कुशल जन जुटाव → Skicklig massmobilisering" in asked[0]
    assert report.config["unit"] == "document" and len(report.units.outputs) == 1
    assert report.units.outputs[0].segments == [s.id for s in segments]
    assert all(s.placement is not None and "resegmented" in s.flags for s in report.segments)
