"""Backends over the seed test set: passthrough, marian (real transformers path on a tiny
untrained fixture), pivot and file; fingerprints, cache and bad input."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

from evalharness.backends.base import Hypothesis
from evalharness.backends.cache import TranslationCache
from evalharness.backends.registry import available_backends, create_backend, parse_spec
from evalharness.backends.runner import translate_segments
from evalharness.corpus.store import load_testset
from evalharness.errors import UserError


@pytest.fixture(scope="session")
def seed_sources():
    ts = load_testset(ROOT / "references", "hoalu")
    return [s.text["sv"] for s in ts.pair("sv", "hi")]


@pytest.fixture
def cache(tmp_path):
    c = TranslationCache(tmp_path / "cache.sqlite")
    yield c
    c.close()


def run(backend, sources, cache, pair=("sv", "hi"), **kw):
    return translate_segments(backend, sources, *pair, cache, **kw)


def test_passthrough_returns_the_source(seed_sources, cache):
    hyps, stats = run(create_backend("passthrough"), seed_sources, cache)
    assert [h.text for h in hyps] == seed_sources
    assert stats.translated == 10 and stats.from_cache == 0


def test_marian_fixture_runs_the_real_generate_path(fixture_models, seed_sources, cache):
    backend = create_backend(f"marian:{fixture_models['sv-hi']}", num_beams=1, max_new_tokens=16)
    hyps, _ = run(backend, seed_sources, cache)
    assert len(hyps) == 10 and all(h.text for h in hyps)
    assert all("untrained-fixture" in h.flags for h in hyps)  # noise is labelled as such
    assert backend.segments_generated == 10 and backend.generate_calls >= 1
    # Seed sentences are longer than the fixture's 128 positions: truncated and flagged, no crash.
    lengths = [len(backend.tokenizer(s)["input_ids"]) for s in seed_sources]
    assert [("truncated" in h.flags) for h in hyps] == [n > 128 for n in lengths]
    again = backend.translate(seed_sources[:3], "sv", "hi")
    assert [h.text for h in again] == [h.text for h in hyps[:3]]  # deterministic


def test_batches_are_length_sorted_within_the_token_budget(fixture_models):
    backend = create_backend(f"marian:{fixture_models['sv-hi']}", batch_tokens=100, max_batch_size=3)
    lengths = [50, 10, 30, 10, 20, 90, 5]
    batches = backend.batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)
    for b in batches:
        assert len(b) <= 3 and (len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 100)


def test_empty_segments_never_reach_the_model(fixture_models):
    backend = create_backend(f"marian:{fixture_models['sv-hi']}", num_beams=1, max_new_tokens=8)
    out = backend.translate(["", "   ", "Hej."], "sv", "hi")
    assert out[0].text == "" and out[1].text == "" and backend.segments_generated == 1


def test_pivot_keeps_the_intermediate_text(fixture_models, seed_sources, cache):
    spec = f"pivot:marian:{fixture_models['sv-en']}+marian:{fixture_models['en-hi']}"
    backend = create_backend(spec, num_beams=1, max_new_tokens=12)
    hyps, _ = run(backend, seed_sources, cache)
    assert all(len(h.intermediate) == 1 and h.intermediate[0] for h in hyps)
    first, second = backend.stages
    assert first.segments_generated == 10 and second.segments_generated == 10
    direct = second.translate([hyps[0].intermediate[0]], "en", "hi")[0]
    assert direct.text == hyps[0].text  # the final text is stage 2 applied to the kept pivot text
    fp = backend.fingerprint().as_dict()
    assert [s["kind"] for s in fp["stages"]] == ["marian", "marian"] and fp["via"] == ["en"]


def test_file_backend(tmp_path, seed_sources, cache):
    hyp_file = tmp_path / "hyps.txt"
    hyp_file.write_text("".join(f"hyp {i}\n" for i in range(10)), encoding="utf-8")
    hyps, _ = run(create_backend(f"file:{hyp_file}"), seed_sources, cache)
    assert [h.text for h in hyps] == [f"hyp {i}" for i in range(10)]
    short = tmp_path / "short.txt"
    short.write_text("only one\n", encoding="utf-8")
    with pytest.raises(UserError, match="has 1 lines but the test set has 10 segments"):
        run(create_backend(f"file:{short}"), seed_sources, cache)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café\n".encode("latin-1") * 10)
    with pytest.raises(UserError, match="not valid UTF-8"):
        create_backend(f"file:{latin1}")


def test_fingerprint_changes_with_every_setting_and_the_weights(fixture_models, tmp_path):
    path = fixture_models["sv-hi"]
    base = create_backend(f"marian:{path}", num_beams=2).fingerprint().digest
    assert create_backend(f"marian:{path}", num_beams=2).fingerprint().digest == base
    for option in ({"num_beams": 3}, {"max_new_tokens": 20}, {"batch_tokens": 512}, {"dtype": "bfloat16"}):
        assert create_backend(f"marian:{path}", **{"num_beams": 2, **option}).fingerprint().digest != base, (
            option
        )
    changed = tmp_path / "changed"
    shutil.copytree(path, changed)
    from safetensors.torch import load_file, save_file

    weights = load_file(changed / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] + 0.001
    save_file(weights, changed / "model.safetensors", metadata={"format": "pt"})
    other = create_backend(f"marian:{changed}", num_beams=2).fingerprint()
    assert (
        other.fields["weights_sha256"]
        != create_backend(f"marian:{path}").fingerprint().fields["weights_sha256"]
    )
    assert other.digest != base


def test_cache_avoids_retranslation(fixture_models, seed_sources, cache):
    spec = f"marian:{fixture_models['sv-hi']}"
    first = create_backend(spec, num_beams=1, max_new_tokens=8)
    hyps, stats = run(first, seed_sources, cache)
    assert stats.translated == 10 and first.segments_generated == 10
    second = create_backend(spec, num_beams=1, max_new_tokens=8)
    again, stats = run(second, seed_sources, cache)
    assert stats.from_cache == 10 and stats.translated == 0
    assert second.generate_calls == 0  # the model was not even called
    assert [h.text for h in again] == [h.text for h in hyps] and again[0].flags == hyps[0].flags
    # Another test set sharing segments: only the new ones are translated.
    third = create_backend(spec, num_beams=1, max_new_tokens=8)
    _, stats = run(third, seed_sources[:4] + ["En helt ny mening.", "Och en till."], cache)
    assert stats.translated == 2 and third.segments_generated == 2
    # A different setting is a different system: nothing comes from the cache.
    fourth = create_backend(spec, num_beams=2, max_new_tokens=8)
    _, stats = run(fourth, seed_sources, cache)
    assert stats.translated == 10


def test_duplicates_are_translated_once(cache):
    class Counting(type(create_backend("passthrough"))):
        seen: list[str] = []

        def translate(self, segments, src_lang, tgt_lang):
            self.seen.extend(segments)
            return [Hypothesis(s.upper()) for s in segments]

    backend = Counting()
    hyps, stats = run(backend, ["a", "b", "a", "", "b"], cache)
    assert [h.text for h in hyps] == ["A", "B", "A", "", "B"]
    assert sorted(backend.seen) == ["a", "b"] and stats.unique == 3


def test_registry_and_specs():
    assert {"passthrough", "marian", "pivot", "file"} <= set(available_backends())
    assert parse_spec("marian:Helsinki-NLP/opus-mt-sv-en") == ("marian", "Helsinki-NLP/opus-mt-sv-en")
    with pytest.raises(UserError, match="unknown backend 'nope'"):
        create_backend("nope")
    for bad in ("", "Marian:x", "marian:", ":x"):
        with pytest.raises(UserError, match="malformed backend spec"):
            create_backend(bad)
    with pytest.raises(UserError, match="pivot:SPEC\\+SPEC"):
        create_backend("pivot:passthrough")


def _model_dir(tmp_path, fixture, drop=(), add=()):
    d = tmp_path / "model"
    shutil.copytree(fixture, d)
    for name in drop:
        (d / name).unlink()
    for name in add:
        (d / name).write_bytes(b"not really a pickle")
    return d


@pytest.mark.parametrize(
    "drop, add, message",
    [
        (("config.json",), (), "config.json is missing"),
        (("source.spm",), (), "tokenizer file(s) source.spm missing"),
        (("model.safetensors",), ("pytorch_model.bin",), "only pickled weights (pytorch_model.bin)"),
        (("model.safetensors",), (), "no model weights"),
    ],
)
def test_incomplete_or_pickled_model_dirs(tmp_path, fixture_models, drop, add, message):
    d = _model_dir(tmp_path, fixture_models["sv-hi"], drop, add)
    with pytest.raises(UserError) as err:
        create_backend(f"marian:{d}")
    assert message in str(err.value) and str(d) in str(err.value)


def test_missing_model_dir_and_wrong_language_pair(tmp_path, fixture_models, cache):
    with pytest.raises(UserError, match="model directory does not exist"):
        create_backend(f"marian:{tmp_path / 'nope'}")
    backend = create_backend(f"marian:{fixture_models['sv-hi']}")
    with pytest.raises(UserError, match="translates sv-hi, not hi-sv"):
        run(backend, ["एक वाक्य।"], cache, pair=("hi", "sv"))
    assert backend.generate_calls == 0


def test_uncached_hub_model_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(UserError) as err:
        create_backend("marian:Helsinki-NLP/opus-mt-sv-en")
    assert "hf download Helsinki-NLP/opus-mt-sv-en" in str(err.value)


def test_the_truncation_warning_names_the_system_and_the_pair(fixture_models, tmp_path, capsys):
    """A whole document is longer than the fixture model's 128 positions: the run says which
    system and pair lost text, and the segments are flagged."""
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation

    request = RunRequest(
        testset=load_testset(ROOT / "references", "hoalu"),
        backend_spec=f"marian:{fixture_models['sv-hi']}",
        src="sv",
        tgt="hi",
        metrics=("chrf",),
        ci=False,
        name="tiny sv-hi",
        unit="document",
        backend_options={"num_beams": 1, "max_new_tokens": 8},
    )
    report, _ = run_evaluation(request, tmp_path / "runs", tmp_path / "cache.sqlite", argv=["test"])
    err = capsys.readouterr().err
    assert "warning: tiny sv-hi sv-hi: 10 of 10 segments were truncated" in err
    assert all("truncated" in s.flags for s in report.segments)
