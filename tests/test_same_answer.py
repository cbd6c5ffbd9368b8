"""Same answer on every machine: test-set versions name what is scored, unchanged builds are
reused, gates run on their baseline's version and never read the translation cache, the
cache key follows the code, and the same system gives the same output run after run."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest
from conftest import EN_OTHER, HI, ROOT, SV

from evalharness.backends.marian import MarianBackend
from evalharness.corpus import build
from evalharness.corpus.build import DocSpec, build_testset
from evalharness.corpus.embed import unit_rows
from evalharness.corpus.importer import import_parallel
from evalharness.corpus.reuse import INDEX_FILE, build_or_reuse
from evalharness.corpus.store import content_version, legacy_version, load_testset, save_testset
from evalharness.errors import UserError
from evalharness.evaluate import RunRequest, run_evaluation
from evalharness.gates.config import load_gates
from evalharness.gates.runner import baseline_of, run_gate, update_baseline

REFS = ROOT / "references"
SEEDS = [DocSpec(SV), DocSpec(HI), DocSpec(EN_OTHER)]  # what eval.toml builds, in its order


class NoisyEncoder:
    """Another machine: the same model, embeddings off by about 1e-4 (BLAS, threads, CPU)."""

    def __init__(self, inner, scale: float = 1e-4) -> None:
        self.inner, self.name, self.scale = inner, inner.name, scale
        self.rng = np.random.default_rng(7)

    def encode(self, texts):
        vecs = self.inner.encode(texts)
        return unit_rows(vecs + self.rng.normal(0.0, self.scale, vecs.shape))


# ---------------------------------------------------------------- versions


def test_confidence_noise_keeps_the_version(seed_testset, encoder):
    noisy = build_testset(SEEDS, "hoalu", encoder=NoisyEncoder(encoder))
    assert [s.confidence for s in noisy.segments] != [s.confidence for s in seed_testset.segments]
    assert noisy.version == seed_testset.version
    assert legacy_version(noisy.segments) != legacy_version(seed_testset.segments)  # schema 1 would differ


def test_committed_seed_testset_is_rebuilt_exactly(seed_testset):
    committed = (REFS / "hoalu" / "LATEST").read_text(encoding="utf-8").strip()
    assert seed_testset.version == committed
    on_disk = load_testset(REFS, "hoalu")
    assert [(s.id, s.text) for s in on_disk.segments] == [(s.id, s.text) for s in seed_testset.segments]


def test_schema_1_testsets_still_load_and_keep_their_folder():
    legacy_root = ROOT / "tests" / "data" / "legacy_v1"
    old = load_testset(legacy_root, "hoalu")
    assert old.version == "9399d8b54265" and old.manifest.schema_version == 2 and old.manifest.inputs is None
    # Built elsewhere, with other confidences: the same segments, so the same identity today.
    assert content_version(old.segments) == load_testset(REFS, "hoalu").version


def test_schema_1_tampering_is_still_detected(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "legacy_v1", tmp_path / "refs")
    seg = tmp_path / "refs" / "hoalu" / "9399d8b54265" / "segments.jsonl"
    seg.write_text(seg.read_text(encoding="utf-8").replace("0.973", "0.999", 1), encoding="utf-8")
    with pytest.raises(UserError, match="do not match the manifest"):
        load_testset(tmp_path / "refs", "hoalu")


def test_edited_confidence_is_detected_although_the_version_ignores_it(tmp_path):
    shutil.copytree(REFS / "hoalu", tmp_path / "refs" / "hoalu")
    version = load_testset(REFS, "hoalu").version
    seg = tmp_path / "refs" / "hoalu" / version / "segments.jsonl"
    rows = [json.loads(line) for line in seg.read_text(encoding="utf-8").splitlines()]
    rows[0]["confidence"] = 0.123
    seg.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(UserError, match="do not match the manifest"):
        load_testset(tmp_path / "refs", "hoalu")


def test_a_version_under_another_folder_name_is_refused(tmp_path):
    shutil.copytree(REFS / "hoalu", tmp_path / "refs" / "hoalu")
    version = load_testset(REFS, "hoalu").version
    (tmp_path / "refs" / "hoalu" / version).rename(tmp_path / "refs" / "hoalu" / "abcdef123456")
    with pytest.raises(UserError, match="does not match its folder name"):
        load_testset(tmp_path / "refs", "hoalu@abcdef123456")


# ---------------------------------------------------------------- build once, reuse


def _no_alignment(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the aligner ran although the inputs were unchanged")

    monkeypatch.setattr(build, "align_sentences", boom)
    monkeypatch.setattr(build, "default_encoder", boom)


def test_unchanged_inputs_are_reused_without_aligning(tmp_path, encoder, monkeypatch):
    refs = tmp_path / "refs"
    first = build_or_reuse(SEEDS, "hoalu", refs, encoder=encoder)
    assert first.state == "written"
    assert first.testset.manifest.inputs.documents[0].file == SV.name
    (refs / "hoalu" / "LATEST").write_text("0123456789ab\n", encoding="utf-8")  # LATEST elsewhere
    _no_alignment(monkeypatch)
    again = build_or_reuse(SEEDS, "hoalu", refs, encoder=encoder)
    assert again.state == "reused" and again.testset.version == first.testset.version
    assert (refs / "hoalu" / "LATEST").read_text(encoding="utf-8") == "0123456789ab\n"  # untouched


def test_changed_document_builds_a_new_version(tmp_path, encoder, seeds_copy):
    refs = tmp_path / "refs"
    docs = [DocSpec(seeds_copy / p.name) for p in (SV, HI, EN_OTHER)]
    first = build_or_reuse(docs, "hoalu", refs, encoder=encoder)
    sv = seeds_copy / SV.name
    sv.write_text(sv.read_text(encoding="utf-8").replace("337", "338", 1), encoding="utf-8")
    second = build_or_reuse(docs, "hoalu", refs, encoder=encoder)
    assert second.state == "written" and second.testset.version != first.testset.version
    assert (refs / "hoalu" / "LATEST").read_text(encoding="utf-8").strip() == second.testset.version
    assert (refs / "hoalu" / first.testset.version).is_dir()  # the old version stays


def test_code_change_without_new_segments_is_remembered(tmp_path, encoder, monkeypatch):
    refs = tmp_path / "refs"
    first = build_or_reuse(SEEDS, "hoalu", refs, encoder=encoder)
    monkeypatch.setattr(build, "code_digest", lambda *modules: "0" * 64)  # "our corpus code changed"
    rebuilt = build_or_reuse(SEEDS, "hoalu", refs, encoder=encoder)
    assert rebuilt.state == "unchanged" and rebuilt.testset.version == first.testset.version
    assert (refs / INDEX_FILE).is_file()  # local, not tracked: the manifest stays immutable
    _no_alignment(monkeypatch)
    assert build_or_reuse(SEEDS, "hoalu", refs, encoder=encoder).state == "reused"


# ---------------------------------------------------------------- gates and versions


@pytest.fixture
def gate_workspace(tmp_path, monkeypatch):
    """The repo's test set and a file-backend gate whose baseline is its current output."""
    work = tmp_path / "w"
    shutil.copytree(REFS / "hoalu", work / "references" / "hoalu")
    ts = load_testset(work / "references", "hoalu")
    pairs = ts.pair("sv", "hi")
    (work / "current.txt").write_text("".join(s.text["hi"] + "\n" for s in pairs), encoding="utf-8")
    (work / "gates.toml").write_text(
        'references = "references"\nruns = "runs/gates"\n[[gate]]\nname = "sys"\nbackend = "file:current.txt"\n'
        'testset = "hoalu"\npair = "sv-hi"\nbaseline = "baselines/sys.json"\n'
        "[gate.rules]\nmax_drop = { chrf = 1.0 }\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(work)
    cfg = load_gates(work / "gates.toml")
    update_baseline(cfg, cfg.gates[0])
    return work, cfg, ts


def _new_version(work, ts):
    """Another version of `hoalu` (one Hindi word changed), which becomes LATEST."""
    rows = [dict(s.text) for s in ts.segments]
    rows[0]["hi"] = rows[0]["hi"] + " नया"
    for lang in ("sv", "hi"):
        (work / f"new.{lang}").write_text("".join(r[lang] + "\n" for r in rows), encoding="utf-8")
    new = import_parallel([("sv", work / "new.sv"), ("hi", work / "new.hi")], "hoalu")
    save_testset(new, work / "references")
    return new.version


def test_newer_latest_is_a_warning_naming_both_versions(gate_workspace):
    work, cfg, ts = gate_workspace
    newer = _new_version(work, ts)
    result = run_gate(cfg, cfg.gates[0])
    assert result.passed and result.current.testset.version == ts.version
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert f"hoalu@{ts.version}" in warning and f"hoalu@{newer}" in warning
    assert "evalharness gate --only sys --update-baseline" in warning


def test_missing_baseline_version_says_what_to_do(gate_workspace):
    work, cfg, ts = gate_workspace
    newer = _new_version(work, ts)
    shutil.rmtree(work / "references" / "hoalu" / ts.version)
    with pytest.raises(UserError) as err:
        run_gate(cfg, cfg.gates[0])
    assert (
        f"baseline was made on hoalu@{ts.version}, the test set is now hoalu@{newer}; "
        "review, then `evalharness gate --only sys --update-baseline`" in str(err.value)
    )
    update_baseline(cfg, cfg.gates[0])  # what the message says to do
    assert baseline_of(cfg, cfg.gates[0]).report.testset.version == newer
    assert run_gate(cfg, cfg.gates[0]).warnings == ()


def test_pinned_version_is_used_and_checked_against_the_baseline(gate_workspace):
    work, cfg, ts = gate_workspace
    newer = _new_version(work, ts)
    toml = (work / "gates.toml").read_text(encoding="utf-8")
    (work / "gates.toml").write_text(toml.replace('testset = "hoalu"', f'testset = "hoalu@{ts.version}"'))
    pinned = load_gates(work / "gates.toml")
    result = run_gate(pinned, pinned.gates[0])
    assert result.passed and result.current.testset.version == ts.version
    assert f"hoalu@{newer}" in result.warnings[0] and "pinned" in result.warnings[0]
    (work / "gates.toml").write_text(toml.replace('testset = "hoalu"', f'testset = "hoalu@{newer}"'))
    moved = load_gates(work / "gates.toml")
    with pytest.raises(UserError, match=f"the gate pins hoalu@{newer}"):
        run_gate(moved, moved.gates[0])


# ---------------------------------------------------------------- honest gates and cache keys


def _poison(cache_path, text: str) -> int:
    db = sqlite3.connect(cache_path)
    with db:
        n = db.execute(
            "UPDATE translations SET hypothesis = ?",
            (json.dumps({"text": text, "flags": [], "intermediate": []}),),
        ).rowcount
    db.close()
    return n


@pytest.fixture
def marian_gate(tmp_path, monkeypatch, fixture_models):
    work = tmp_path / "m"
    shutil.copytree(REFS / "hoalu", work / "references" / "hoalu")
    (work / "gates.toml").write_text(
        'references = "references"\nruns = "runs/gates"\n[[gate]]\nname = "fixture"\n'
        f'backend = "marian:{fixture_models["sv-hi"]}"\ntestset = "hoalu"\npair = "sv-hi"\n'
        'baseline = "baselines/fixture.json"\noptions = { num_beams = 1, max_new_tokens = 8 }\n'
        "[gate.rules]\nmax_copy_rate = 0.5\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(work)
    cfg = load_gates(work / "gates.toml")
    update_baseline(cfg, cfg.gates[0])
    return work, cfg


def _cached_run(cfg, work, **options):
    gate = cfg.gates[0]
    request = RunRequest(
        testset=load_testset(work / "references", "hoalu"),
        backend_spec=gate.backend,
        src="sv",
        tgt="hi",
        metrics=("chrf",),
        backend_options={**gate.options, **options},
        ci=False,
    )
    return run_evaluation(request, work / "runs", cfg.cache)[0]


def test_gate_never_reads_the_warm_cache(marian_gate):
    work, cfg = marian_gate
    baseline = baseline_of(cfg, cfg.gates[0]).report
    assert baseline.translation["cache"] == "bypassed"
    _cached_run(cfg, work)  # warm the cache with the same fingerprint
    assert _poison(cfg.cache, "POISON") == 10
    assert {s.hypothesis for s in _cached_run(cfg, work).segments} == {"POISON"}  # a cached run reads it
    result = run_gate(cfg, cfg.gates[0])
    hyps = [s.hypothesis for s in result.current.segments]
    assert "POISON" not in hyps and hyps == [s.hypothesis for s in baseline.segments]


def test_changed_decoding_code_reruns_the_gate_and_misses_the_cache(marian_gate, monkeypatch):
    work, cfg = marian_gate
    baseline = baseline_of(cfg, cfg.gates[0]).report
    _cached_run(cfg, work)
    original = MarianBackend.translate

    def translate(self, segments, src_lang, tgt_lang):  # "a line of the decoding code changed"
        return [
            h.__class__(h.text + " ÄNDRAD", h.flags) for h in original(self, segments, src_lang, tgt_lang)
        ]

    monkeypatch.setattr(MarianBackend, "translate", translate)
    result = run_gate(cfg, cfg.gates[0])
    assert all(s.hypothesis.endswith(" ÄNDRAD") for s in result.current.segments)  # (a) the gate sees it
    assert result.current.backend.fingerprint["digest"] != baseline.backend.fingerprint["digest"]
    after = _cached_run(cfg, work)
    assert after.translation["from_cache"] == 0 and after.translation["translated"] == 10  # (b) no old output
    assert all(s.hypothesis.endswith(" ÄNDRAD") for s in after.segments)


def test_changed_decoding_option_misses_the_cache(marian_gate):
    work, cfg = marian_gate
    assert _cached_run(cfg, work).translation["translated"] == 10
    assert _cached_run(cfg, work).translation["from_cache"] == 10
    other = _cached_run(cfg, work, max_new_tokens=4)
    assert other.translation["from_cache"] == 0 and other.translation["translated"] == 10


# ---------------------------------------------------------------- determinism


def test_same_system_gives_identical_output_and_scores(fixture_models, tmp_path):
    import torch

    ts = load_testset(REFS, "hoalu")
    threads = torch.get_num_threads()
    reports = []
    for n in (1, 2):  # thread count must not change the output either
        torch.set_num_threads(n)
        request = RunRequest(
            testset=ts,
            backend_spec=f"marian:{fixture_models['sv-hi']}",
            src="sv",
            tgt="hi",
            metrics=("bleu", "chrf"),
            backend_options={"num_beams": 2, "max_new_tokens": 16},
            use_cache=False,
        )
        reports.append(run_evaluation(request, tmp_path / "runs", tmp_path / "c.sqlite")[0])
    torch.set_num_threads(threads)
    a, b = reports
    assert [s.hypothesis for s in a.segments] == [s.hypothesis for s in b.segments]
    assert {m: s.score for m, s in a.scores.items()} == {m: s.score for m, s in b.scores.items()}
    assert a.determinism["deterministic"] is True
    settings = a.determinism["settings"]
    assert settings["seed"] == 0 and settings["deterministic_algorithms"] is True
    assert settings["torch_num_threads"] == 1 and b.determinism["settings"]["torch_num_threads"] == 2
