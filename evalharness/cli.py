"""Command line: parse arguments, call a library function, render the result. Nothing else."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from evalharness.corpus.language import parse_pair
from evalharness.errors import UserError
from evalharness.metrics.registry import default_metrics, headline_metrics, metric_ids, model_metric_ids
from evalharness.reports.formats import json_text
from evalharness.reports.sections import summary_metrics
from evalharness.reports.summary import summary_table
from evalharness.terminal import one_line_safe, terminal_safe

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Machine-translation evaluation harness.",
)


def _version(value: bool) -> None:
    if value:
        from evalharness import __version__

        typer.echo(f"evalharness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Machine-translation evaluation harness."""


testset_app = typer.Typer(no_args_is_help=True, help="Build, import, inspect and export test sets.")
app.add_typer(testset_app, name="testset")
fixtures_app = typer.Typer(no_args_is_help=True, help="Build offline test fixtures.")
app.add_typer(fixtures_app, name="fixtures")

BACKEND_HELP = (
    "passthrough, marian:HUB_ID_OR_DIR, ct2:DIR, pivot:SPEC+SPEC, file:HYPS.txt, tiny-marian, "
    "openai:MODEL, hf-causal:MODEL, hf-seq2seq:MODEL, vllm:MODEL, or a plug-in's name "
    "(`evalharness backends list`)."
)
REFERENCES = Path("references")
BeamsOpt = Annotated[int | None, typer.Option("--beams", min=1, help="Beam size (model backends).")]
MaxNewTokensOpt = Annotated[
    int | None, typer.Option("--max-new-tokens", min=1, help="Most tokens generated per segment.")
]
CACHE = Path("runs/.cache/translations.sqlite")
CacheOpt = Annotated[Path, typer.Option("--cache", help="The translation cache (SQLite).")]
SEEDS = Path("seeds")
RefsOpt = Annotated[Path, typer.Option("--references", help="Where test sets live.")]
BackendOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--backend-opt",
        help="A backend option KEY=VALUE (repeatable), e.g. base_url=http://127.0.0.1:8000/v1, "
        "concurrency=8, prompt=my_prompt.toml, terms=true, context=2.",
    ),
]
ComputeOpt = Annotated[
    str | None,
    typer.Option("--compute-type", help="ct2 backend: int8, float16, float32, ... (default: auto)"),
]


def _error_line(message: str) -> str:
    """An error is one line, whatever a library put in its message."""
    return "error: " + one_line_safe(message)


def _echo(text: str, err: bool = False) -> None:
    """A message for a person: control characters (escape sequences in a file name, a
    hypothesis or a name from a config file) never reach the terminal."""
    typer.echo(terminal_safe(text), err=err)


def _print(text: str) -> None:
    """Data on standard output: whole for a pipe or a file (the same bytes --out writes),
    without control characters for a terminal."""
    sys.stdout.write(terminal_safe(text) if sys.stdout.isatty() else text)


@app.command()
def align(
    src: Path,
    tgt: Path,
    src_lang: Annotated[str, typer.Option("--src-lang", help="Language of SRC (ISO 639-1, e.g. sv).")],
    tgt_lang: Annotated[str, typer.Option("--tgt-lang", help="Language of TGT (ISO 639-1, e.g. hi).")],
    presegmented: Annotated[bool, typer.Option("--presegmented", help="Each line is one unit.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or tsv")] = "jsonl",
) -> None:
    """Align two files; one bead per output line."""
    from evalharness.corpus.align_files import align_files
    from evalharness.corpus.language import check_language

    if fmt not in ("jsonl", "tsv"):
        raise UserError(f"unknown format {fmt!r} (jsonl or tsv)")
    rows = align_files(src, tgt, check_language(src_lang, src), check_language(tgt_lang, tgt), presegmented)
    for row in rows:
        if fmt == "jsonl":
            _echo(json_text(row, indent=None))
        elif presegmented:
            _echo(f"{','.join(map(str, row['src']))}\t{','.join(map(str, row['tgt']))}\t{row['score']}")
        else:
            _echo(f"{row['src']}\t{row['tgt']}\t{row['score']}")


def _build_and_save(
    docs: list[str],
    name: str,
    references: Path,
    pivot: str | None,
    min_confidence: float = 0.5,
    rebuild: bool = False,
) -> str:
    from evalharness.corpus.align import AlignSettings
    from evalharness.corpus.build import parse_doc_arg
    from evalharness.corpus.reuse import build_or_reuse
    from evalharness.corpus.store import check_name
    from evalharness.corpus.summary import summarize
    from evalharness.fileio import ensure_writable_dir

    check_name(name)
    ensure_writable_dir(references / name)
    specs = [parse_doc_arg(d) for d in docs]
    if not 0.0 <= min_confidence <= 1.0:
        raise UserError(f"--min-confidence must be between 0 and 1, got {min_confidence}")
    settings = AlignSettings(min_confidence=min_confidence)
    result = build_or_reuse(specs, name, references, settings, pivot=pivot, rebuild=rebuild)
    return f"{summarize(result.testset)}\n\n{result.folder}: {result.message}"


def _default_docs() -> list[str]:
    docs = sorted(str(p) for p in SEEDS.glob("*.txt"))
    if not docs:
        raise UserError("no documents given and no seeds/*.txt here", SEEDS)
    return docs


@testset_app.command("build")
def testset_build(
    docs: Annotated[
        list[str] | None, typer.Argument(help="Documents; LANG=PATH overrides detection.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The test set's name.")] = "hoalu",
    references: RefsOpt = REFERENCES,
    pivot: Annotated[
        str | None, typer.Option("--pivot", help="Pivot language for multi-way segments.")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Align again even when the inputs are unchanged.")
    ] = False,
) -> None:
    """Build an aligned test set from parallel versions of a document (reused when the
    documents, settings and aligner are unchanged)."""
    _echo(_build_and_save(docs or _default_docs(), name, references, pivot, rebuild=rebuild))


@testset_app.command("import")
def testset_import(
    lang: Annotated[list[str], typer.Option("--lang", help="LANG=FILE, one segment per line.")],
    name: Annotated[str, typer.Option("--name", help="The test set's name (a folder under --references).")],
    references: RefsOpt = REFERENCES,
    trust_lang: Annotated[
        bool, typer.Option("--trust-lang", help="Import files as the languages given, whatever they read as.")
    ] = False,
    allow_blank: Annotated[
        bool,
        typer.Option(
            "--allow-blank", help="Accept lines blank in some files (those pairs lack the segment)."
        ),
    ] = False,
) -> None:
    """Import an already line-parallel test set (FLORES/NTREX style)."""
    from evalharness.corpus.importer import import_parallel, parse_lang_file
    from evalharness.corpus.store import check_name, save_testset
    from evalharness.fileio import ensure_writable_dir

    check_name(name)
    files = [parse_lang_file(a) for a in lang]
    ensure_writable_dir(references / name)
    ts = import_parallel(files, name, trust_languages=trust_lang, allow_blank=allow_blank)
    folder, created = save_testset(ts, references)
    langs = ", ".join(ts.manifest.languages)
    state = "" if created else " (unchanged)"
    _echo(f"{ts.name} @ {ts.version}: {len(ts.segments)} segments, {langs} -> {folder}{state}")


@testset_app.command("import-wmt")
def testset_import_wmt(
    file: Annotated[Path, typer.Argument(help="A test set in WMT's XML format (WMT22 on).")],
    name: Annotated[str, typer.Option("--name", help="The test set's name (a folder under --references).")],
    references: RefsOpt = REFERENCES,
    systems: Annotated[
        bool, typer.Option("--systems/--no-systems", help="Score the file's system outputs (hyp) as runs.")
    ] = True,
    metrics: Annotated[str, typer.Option("--metrics", help="Metrics for the system runs.")] = "bleu,chrf,ter",
    runs: Annotated[Path, typer.Option("--runs", help="Where run reports live.")] = Path("runs"),
    cache: CacheOpt = CACHE,
    ci: Annotated[
        bool, typer.Option("--ci/--no-ci", help="95% bootstrap intervals (1000 resamples).")
    ] = True,
) -> None:
    """Import a WMT XML test set: documents, every reference, and its systems as runs."""
    from evalharness.corpus.store import save_testset
    from evalharness.corpus.wmt_xml import read_wmt_xml
    from evalharness.evaluate import score_outputs
    from evalharness.fileio import ensure_writable_dir
    from evalharness.metrics.registry import check_request, parse_metric_list

    metric_ids, checkpoints = parse_metric_list(metrics.split(","))
    check_request(metric_ids, checkpoints)
    ensure_writable_dir(references / name)
    wmt = read_wmt_xml(file, name)
    folder, created = save_testset(wmt.testset, references)
    ts = wmt.testset
    docs = len({s.doc for s in ts.segments})
    _echo(
        f"{ts.name} @ {ts.version}: {len(ts.segments)} segments in {docs} documents, "
        f"{wmt.src_lang}-{wmt.tgt_lang}, {len(wmt.translators)} reference(s), "
        f"{len(wmt.systems)} system(s) -> {folder}{'' if created else ' (unchanged)'}"
    )
    if systems and wmt.systems:
        done = score_outputs(
            ts,
            wmt.src_lang,
            wmt.tgt_lang,
            wmt.systems,
            runs,
            cache,
            tuple(metric_ids),
            ci,
            file.name,
            checkpoints,
        )
        for report, path in done:
            shown = ", ".join(f"{m} {r.score:.2f}" for m, r in report.scores.items())
            _echo(f"  {report.backend.name}: {report.run_id} ({shown}) -> {path}")


TrustLangOpt = Annotated[
    bool, typer.Option("--trust-lang", help="Import texts as the languages given, whatever they read as.")
]


def _save_imported(ts, references: Path) -> None:
    """Publish an imported set and say so in one line."""
    from evalharness.corpus.standard import describe_import
    from evalharness.corpus.store import save_testset

    folder, created = save_testset(ts, references)
    _echo(f"{describe_import(ts)} -> {folder}{'' if created else ' (unchanged)'}")


@testset_app.command("import-sacrebleu")
def testset_import_sacrebleu(
    spec: Annotated[str, typer.Argument(help="TESTSET:SRC-TGT as sacrebleu names it, e.g. wmt23:en-de.")],
    name: Annotated[str | None, typer.Option("--name", help="Default: TESTSET.SRC-TGT.")] = None,
    references: RefsOpt = REFERENCES,
    download: Annotated[
        bool, typer.Option("--download", help="Fetch the set into sacrebleu's cache if it is not there.")
    ] = False,
    all_refs: Annotated[
        bool,
        typer.Option("--all-refs", help="Every translator's reference, not only those sacrebleu scores."),
    ] = False,
) -> None:
    """Import one of sacrebleu's test sets from its cache ($SACREBLEU or ~/.sacrebleu), with
    document ids and references; nothing is downloaded without --download."""
    from evalharness.corpus.sacrebleu_sets import default_name, import_sacrebleu, parse_spec
    from evalharness.corpus.store import check_name
    from evalharness.fileio import ensure_writable_dir

    parsed = parse_spec(spec)
    name = check_name(name or default_name(parsed))
    ensure_writable_dir(references / name)
    _save_imported(import_sacrebleu(parsed, name, download=download, all_refs=all_refs), references)


@testset_app.command("import-flores")
def testset_import_flores(
    folder: Annotated[Path, typer.Argument(help="A FLORES-style folder (DIR/SPLIT/CODE.SPLIT).")],
    lang: Annotated[list[str], typer.Option("--lang", help="LANG=CODE, e.g. sv=swe_Latn (repeat).")],
    name: Annotated[str, typer.Option("--name", help="The test set's name (a folder under --references).")],
    split: Annotated[str, typer.Option("--split", help="dev or devtest.")] = "devtest",
    references: RefsOpt = REFERENCES,
    trust_lang: TrustLangOpt = False,
) -> None:
    """Import a split of a FLORES-style folder; metadata_SPLIT.tsv's URLs become document ids."""
    from evalharness.corpus.flores import import_flores, parse_lang_code
    from evalharness.corpus.store import check_name
    from evalharness.fileio import ensure_writable_dir

    check_name(name)
    codes = [parse_lang_code(a) for a in lang]
    ensure_writable_dir(references / name)
    _save_imported(import_flores(folder, split, codes, name, trust_languages=trust_lang), references)


@testset_app.command("import-tsv")
def testset_import_tsv(
    file: Annotated[Path, typer.Argument(help="A tab-separated file, one segment per line.")],
    name: Annotated[str, typer.Option("--name", help="The test set's name (a folder under --references).")],
    columns: Annotated[
        str,
        typer.Option(
            "--columns",
            help="Each column's role: doc, para, id, - (ignored) or a language; a language "
            "repeated is a further reference, e.g. doc,sv,hi,hi.",
        ),
    ],
    header: Annotated[bool, typer.Option("--header", help="The first line names the columns.")] = False,
    references: RefsOpt = REFERENCES,
    trust_lang: TrustLangOpt = False,
) -> None:
    """Import a TSV test set with a document column and any number of references."""
    from evalharness.corpus.standard import import_tsv
    from evalharness.corpus.store import check_name
    from evalharness.fileio import ensure_writable_dir

    check_name(name)
    ensure_writable_dir(references / name)
    _save_imported(import_tsv(file, name, columns, header=header, trust_languages=trust_lang), references)


@testset_app.command("import-hf")
def testset_import_hf(
    source: Annotated[
        str, typer.Argument(help="A save_to_disk folder, or a dataset name in the local HF cache.")
    ],
    name: Annotated[str, typer.Option("--name", help="The test set's name (a folder under --references).")],
    config: Annotated[str | None, typer.Option("--config", help="The dataset's config (cache).")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Default: the only split, else test.")] = None,
    lang: Annotated[
        list[str] | None, typer.Option("--lang", help="LANG=KEY of the translation column (repeat).")
    ] = None,
    src_field: Annotated[str | None, typer.Option("--src-field", help="Flat source column.")] = None,
    tgt_field: Annotated[
        list[str] | None, typer.Option("--tgt-field", help="Flat reference column (repeat per reference).")
    ] = None,
    pair: Annotated[str | None, typer.Option("--pair", help="SRC-TGT of the flat columns.")] = None,
    doc_field: Annotated[str | None, typer.Option("--doc-field", help="The document id column.")] = None,
    references: RefsOpt = REFERENCES,
    trust_lang: TrustLangOpt = False,
) -> None:
    """Import a Hugging Face dataset already on this machine (never downloaded), or our own
    export (testset export) as it was."""
    from evalharness.corpus.hf_import import HfColumns, import_hf, parse_lang_key
    from evalharness.corpus.store import check_name
    from evalharness.fileio import ensure_writable_dir

    check_name(name)
    cols = HfColumns(
        lang_keys=[parse_lang_key(a) for a in lang or []],
        src_field=src_field,
        tgt_fields=tgt_field or [],
        pair=pair,
        doc_field=doc_field,
    )
    ensure_writable_dir(references / name)
    ts = import_hf(source, name, config=config, split=split, columns=cols, trust_languages=trust_lang)
    _save_imported(ts, references)


@testset_app.command("show")
def testset_show(name: str, references: RefsOpt = REFERENCES) -> None:
    """Summarise a test set (NAME or NAME@VERSION)."""
    from evalharness.corpus.store import load_testset
    from evalharness.corpus.summary import summarize

    _echo(summarize(load_testset(references, name)))


@testset_app.command("list")
def testset_list(references: RefsOpt = REFERENCES) -> None:
    """List test sets and their latest versions."""
    from evalharness.corpus.store import list_testsets

    _existing_dir(references, "test-set folder (--references)")
    found = list_testsets(references)
    for name, version in found:
        _echo(f"{name}\t{version}")
    if not found:
        _echo(f"no test sets in {references}", err=True)


@testset_app.command("export")
def testset_export(
    name: str,
    out: Annotated[Path, typer.Option("--out", help="Directory to create.")],
    fmt: Annotated[
        str, typer.Option("--format", help="hf: a Hugging Face datasets folder (load_from_disk).")
    ] = "hf",
    references: RefsOpt = REFERENCES,
) -> None:
    """Export to Hugging Face datasets (`datasets.load_from_disk(OUT)`)."""
    from evalharness.corpus.hf import export_hf
    from evalharness.corpus.store import load_testset

    if fmt != "hf":
        raise UserError(f"unknown export format {fmt!r} (supported: hf)")
    ts = load_testset(references, name)
    export_hf(ts, out)
    _echo(f"{ts.name} @ {ts.version}: {len(ts.segments)} segments -> {out} (datasets.load_from_disk)")


@app.command()
def translate(
    testset: Annotated[str, typer.Option("--testset", help="NAME or NAME@VERSION")],
    backend: Annotated[str, typer.Option("--backend", help=BACKEND_HELP)],
    pair: Annotated[str, typer.Option("--pair", help="SRC-TGT, e.g. sv-hi")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Hypotheses, one per line (default: stdout).")
    ] = None,
    details: Annotated[
        Path | None, typer.Option("--details", help="JSON lines with flags and pivot text.")
    ] = None,
    references: RefsOpt = REFERENCES,
    cache: CacheOpt = CACHE,
    num_beams: BeamsOpt = None,
    max_new_tokens: MaxNewTokensOpt = None,
    batch_tokens: Annotated[
        int | None, typer.Option("--batch-tokens", min=1, help="Tokens per batch (model backends).")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda")] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help="float32, float16 or bfloat16")] = None,
    compute_type: ComputeOpt = None,
    via: Annotated[str, typer.Option("--via", help="Pivot language(s), comma-separated.")] = "en",
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1, help="Segments per committed batch.")
    ] = 64,
    backend_opt: BackendOpt = None,
    glossary: Annotated[
        Path | None,
        typer.Option("--glossary", help="Required terms for prompts that read them (terms=true)."),
    ] = None,
    terms: Annotated[
        Path | None, typer.Option("--terms", help="Per-segment term annotations (JSONL) for such prompts.")
    ] = None,
) -> None:
    """Translate a test set's segments with a backend (cached, resumable)."""
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, translate_testset
    from evalharness.fileio import check_output_file, dumps_jsonl, ensure_writable_dir, write_text_atomic

    if out is not None and details is not None and out.resolve() == details.resolve():
        raise UserError("--out and --details name the same file; give two", out)
    for target in (out, details):
        if target is not None:
            check_output_file(target)
            ensure_writable_dir(target.parent)
    src, tgt = parse_pair(pair)
    ts = load_testset(references, testset)
    options = _options(
        num_beams=num_beams,
        max_new_tokens=max_new_tokens,
        batch_tokens=batch_tokens,
        device=device,
        dtype=dtype,
        compute_type=compute_type,
        via=via if backend.startswith("pivot:") else None,
    )
    request = RunRequest(
        testset=ts,
        backend_spec=backend,
        src=src,
        tgt=tgt,
        backend_options=_backend_options(options, backend_opt),
        glossary=glossary,
        annotations=terms,
    )
    done = translate_testset(request, cache, chunk_size)
    hyps, stats = done.translation.hypotheses, done.translation.stats
    if out is None:
        _print(done.text())
    else:
        write_text_atomic(out, done.text())
    if details is not None:
        write_text_atomic(details, dumps_jsonl(done.details(src)))
    flagged = sum(1 for h in hyps if h.flags)
    _echo(
        f"{ts.name}@{ts.version} {src}-{tgt} with {backend}: {stats.segments} segments, "
        f"{stats.from_cache} from cache, {stats.translated} translated, {flagged} flagged, {stats.seconds:.1f}s",
        err=True,
    )


backends_app = typer.Typer(no_args_is_help=True, help="Translation backends: list them, check a conversion.")
app.add_typer(backends_app, name="backends")


@backends_app.command("list")
def backends_list() -> None:
    """Backend names usable in --backend specs (built-in and installed plug-ins)."""
    from evalharness.backends.registry import available_backends

    _echo("\n".join(sorted(available_backends())))


metrics_app = typer.Typer(no_args_is_help=True, help="Metrics: what there is and which checkpoints are here.")
app.add_typer(metrics_app, name="metrics")


@metrics_app.command("list")
def metrics_list() -> None:
    """Every metric (built-in and plug-in): direction, what it reads, and for model metrics
    the default checkpoint and whether it is here (offline: nothing is downloaded)."""
    from evalharness.metrics.registry import availability

    for row in availability():
        _echo("  ".join(row))


@backends_app.command("check-fidelity")
def backends_check_fidelity(
    model: Annotated[str, typer.Argument(help="A Marian model: hub id or local directory.")],
    testset: Annotated[str, typer.Option("--testset", help="NAME or NAME@VERSION")] = "hoalu",
    pair: Annotated[str, typer.Option("--pair", help="SRC-TGT")] = "sv-hi",
    compute_type: Annotated[
        str, typer.Option("--compute-type", help="ct2 compute type to check: int8, float16, float32, ...")
    ] = "float32",
    num_beams: Annotated[int, typer.Option("--beams", min=1, help="Beam size (model backends).")] = 1,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", min=1, help="Most tokens generated per segment.")
    ] = 256,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    references: RefsOpt = REFERENCES,
) -> None:
    """Translate a test set's sources with transformers and with CTranslate2 and say how far
    apart they are. Exits 1 when float32 greedy output differs, or when the converted
    model's output is far from the original's (BLEU < 50)."""
    from evalharness.backends.fidelity import check_fidelity
    from evalharness.corpus.store import load_testset

    if fmt not in ("text", "json"):
        raise UserError(f"unknown format {fmt!r} (text or json)")
    src, tgt = parse_pair(pair)
    sources = [s.text[src] for s in load_testset(references, testset).segments_for(src, tgt)]
    report = check_fidelity(model, sources, src, tgt, compute_type, num_beams, max_new_tokens)
    if fmt == "json":
        _echo(json_text({**report.model_dump(mode="json"), "ok": report.ok}))
    else:
        _echo(report.summary())
        for d in report.differences:
            _echo(
                f"  source:       {d.source}\n  transformers: {d.transformers}\n  ctranslate2:  {d.ctranslate2}"
            )
    if not report.ok:
        raise typer.Exit(1)


@fixtures_app.command("tiny-marian")
def fixtures_tiny_marian(
    out: Annotated[Path, typer.Option("--out", help="Directory to create.")],
    src: Annotated[str, typer.Option("--src", help="Source language of the fixture.")] = "sv",
    tgt: Annotated[str, typer.Option("--tgt", help="Target language of the fixture.")] = "hi",
    seeds: Annotated[Path, typer.Option("--seeds", help="Text to train the tokenizers on.")] = SEEDS,
) -> None:
    """Build a tiny UNTRAINED MarianMT model (real tokenizers, noise output) for offline tests."""
    from evalharness.backends.fixtures import build_tiny_marian
    from evalharness.corpus.language import check_language

    path = build_tiny_marian(out, check_language(src), check_language(tgt), seeds)
    _echo(f"{path}: untrained {src}-{tgt} MarianMT fixture (its output is noise)")


@fixtures_app.command("tiny-llm")
def fixtures_tiny_llm(
    out: Annotated[Path, typer.Option("--out", help="Directory to create.")],
    kind: Annotated[
        str, typer.Option("--kind", help="chat (for hf-causal), nllb or m2m100 (for hf-seq2seq)")
    ] = "chat",
    seeds: Annotated[Path, typer.Option("--seeds", help="Text to train the tokenizer on.")] = SEEDS,
) -> None:
    """Build a tiny UNTRAINED chat or multilingual seq2seq model (real tokenizer, noise output)."""
    from evalharness.backends import llm_fixtures

    builders = {
        "chat": llm_fixtures.build_tiny_causal,
        "nllb": llm_fixtures.build_tiny_nllb,
        "m2m100": llm_fixtures.build_tiny_m2m100,
    }
    if kind not in builders:
        raise UserError(f"unknown fixture kind {kind!r} (chat, nllb or m2m100)")
    path = builders[kind](out, seeds=seeds)
    backend = "hf-causal" if kind == "chat" else "hf-seq2seq"
    _echo(f"{path}: untrained {kind} fixture for {backend}:{path} (its output is noise)")


RUNS = Path("runs")
RunsOpt = Annotated[Path, typer.Option("--runs", help="Where run reports live.")]
DEFAULT_METRICS, HEADLINE_METRICS = ",".join(default_metrics()), ",".join(headline_metrics())
MetricsOpt = Annotated[
    str,
    typer.Option(
        "--metrics",
        help=f"Comma-separated: {','.join(metric_ids())}; a model metric may name its checkpoint "
        "(hub id or folder): comet=DIR",
    ),
]
OptOpt = Annotated[
    list[str] | None,
    typer.Option("--opt", help="metric option KEY=VALUE, e.g. tokenize=intl, neural_device=cuda"),
]
SCORE_CACHE = Path("runs/.cache/scores.sqlite")


def _read_lines(path: Path) -> list[str]:
    """Lines as sacrebleu's command line reads them (trailing whitespace stripped)."""
    from evalharness.corpus.ingest import read_text_input, split_lines

    return [line.rstrip() for line in split_lines(read_text_input(path))]


def _score_json(scores: dict) -> dict:
    out = {}
    for metric, sc in scores.items():
        entry = {"score": sc.score, "signature": sc.signature, "verbose": sc.verbose}
        if sc.interval is not None:
            entry["interval"] = dict(sc.interval.__dict__)
            entry["detectable_difference"] = sc.detectable_difference
        out[metric] = entry
    return out


@app.command()
def score(
    hyp: Annotated[
        list[Path],
        typer.Option(
            "--hyp", help="Hypotheses, one per line; repeat to score several systems, each on its own."
        ),
    ],
    ref: Annotated[
        list[Path] | None,
        typer.Option("--ref", help="References, one per line; repeat for more (QE metrics need none)."),
    ] = None,
    lang_pair: Annotated[
        str | None, typer.Option("--lang-pair", help="SRC-TGT: picks the tokenizer.")
    ] = None,
    metrics: MetricsOpt = HEADLINE_METRICS,
    opt: OptOpt = None,
    ci: Annotated[bool, typer.Option("--ci", help="95% bootstrap intervals (1000, seed 12345).")] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    width: Annotated[int, typer.Option("--width", min=0, max=10, help="Decimals in text output.")] = 1,
    src: Annotated[
        Path | None, typer.Option("--src", help="Sources, one per line (model metrics read them).")
    ] = None,
    score_cache: Annotated[
        Path, typer.Option("--score-cache", help="Where model metrics cache segment scores.")
    ] = SCORE_CACHE,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Score every segment with the model now.")
    ] = False,
) -> None:
    """Score files directly, with sacrebleu's numbers and signatures (and model metrics')."""
    from evalharness.metrics.neural.metric import ScoringContext
    from evalharness.metrics.registry import parse_request
    from evalharness.metrics.scoring import score_all

    if fmt not in ("text", "json"):
        raise UserError(f"unknown format {fmt!r} (text or json)")
    ids, options = parse_request(metrics, opt or [])
    tgt = parse_pair(lang_pair)[1] if lang_pair else None
    systems = [(path, _read_lines(path)) for path in hyp]
    refs = [_read_lines(r) for r in ref or []]
    if not refs and (needs := [m for m in ids if m not in model_metric_ids()]):
        raise UserError(f"{', '.join(needs)} compare with references: give them with --ref FILE")
    sources = _read_lines(src) if src is not None else None
    if sources is None and (needs := [m for m in ids if m in model_metric_ids()]):
        raise UserError(f"{', '.join(needs)} read the source segments: give them with --src FILE")
    first, n = systems[0][0], len(systems[0][1])
    for path, lines in [*systems[1:], *zip(ref or [], refs, strict=True), *([(src, sources)] if src else [])]:
        if len(lines) != n:
            raise UserError(f"has {len(lines)} lines but {first} has {n}", path)
    context = ScoringContext(None if no_cache else score_cache, label="scoring")
    results = [
        (
            path,
            score_all(
                ids, hyps, refs, tgt, options, ci=ci, per_segment=False, sources=sources, context=context
            ),
        )
        for path, hyps in systems
    ]
    if fmt == "json":
        data = [_score_json(scores) for _, scores in results]
        _echo(
            json_text(
                data[0] if len(data) == 1 else {str(p): d for (p, _), d in zip(results, data, strict=True)}
            )
        )
        return
    for path, scores in results:
        for sc in scores.values():
            line = f"{sc.signature} = {sc.score:.{width}f}"
            detail = sc.verbose.split(" = ", 1)[1].split(" ", 1)
            if len(detail) > 1:
                line += f" {detail[1]}"
            if sc.interval is not None:
                line += f" (μ = {sc.interval.mean:.{width}f} ± {sc.interval.half_width:.{width}f})"
            _echo(f"{path}: {line}" if len(results) > 1 else line)


def _options(**kw) -> dict:
    return {k: v for k, v in kw.items() if v is not None}


def _backend_options(flags: dict, pairs: list[str] | None) -> dict:
    """The options given as flags (--beams ...) and as --backend-opt KEY=VALUE; one given both
    ways is an error, not a silent choice of one."""
    from evalharness.backends.options import parse_pairs

    given = parse_pairs(pairs)
    if twice := sorted(k for k in given if flags.get(k) is not None):
        raise UserError(f"backend option {twice[0]} is given twice (as a flag and as --backend-opt)")
    return {**flags, **given}


@app.command()
def run(
    testset: Annotated[str, typer.Option("--testset", help="NAME or NAME@VERSION")],
    backend: Annotated[str, typer.Option("--backend", help=BACKEND_HELP)],
    pair: Annotated[str, typer.Option("--pair", help="SRC-TGT")],
    name: Annotated[str | None, typer.Option("--name", help="System name in reports.")] = None,
    metrics: MetricsOpt = DEFAULT_METRICS,
    opt: OptOpt = None,
    ci: Annotated[
        bool, typer.Option("--ci/--no-ci", help="95% bootstrap intervals (1000 resamples).")
    ] = True,
    resample: Annotated[
        str,
        typer.Option(
            "--resample",
            help="The intervals' unit: segments, documents (a test set with documents), or both "
            "(segment intervals, and document intervals beside them).",
        ),
    ] = "segments",
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            help="What the backend translates: segment, or whole paragraph or document (its output is "
            "re-segmented onto the reference segments by the aligner).",
        ),
    ] = "segment",
    references: RefsOpt = REFERENCES,
    runs: RunsOpt = RUNS,
    cache: CacheOpt = CACHE,
    num_beams: BeamsOpt = None,
    max_new_tokens: MaxNewTokensOpt = None,
    device: Annotated[
        str | None, typer.Option("--device", help="auto, cpu or cuda (model backends).")
    ] = None,
    via: Annotated[
        str | None, typer.Option("--via", help="Pivot backends: the language in between, e.g. en.")
    ] = None,
    compute_type: ComputeOpt = None,
    glossary: Annotated[
        Path | None, typer.Option("--glossary", help="Terminology checks against this glossary.")
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Translate every segment now; neither read nor write the cache."),
    ] = False,
    terms: Annotated[
        Path | None,
        typer.Option("--terms", help="Per-segment term annotations (JSONL, one line per segment)."),
    ] = None,
    control: Annotated[
        bool,
        typer.Option("--random-glossary-control", help="Also score terms against randomly paired terms."),
    ] = False,
    backend_opt: BackendOpt = None,
) -> None:
    """Translate a test set with a backend, score it, and write runs/RUN_ID/."""
    from evalharness.corpus.store import load_testset
    from evalharness.evaluate import RunRequest, run_evaluation
    from evalharness.metrics.registry import parse_request

    src, tgt = parse_pair(pair)
    ids, options = parse_request(metrics, opt or [])
    request = RunRequest(
        testset=load_testset(references, testset),
        backend_spec=backend,
        src=src,
        tgt=tgt,
        metrics=tuple(ids),
        metric_options=options,
        backend_options=_backend_options(
            _options(
                num_beams=num_beams,
                max_new_tokens=max_new_tokens,
                device=device,
                via=via,
                compute_type=compute_type,
            ),
            backend_opt,
        ),
        ci=ci,
        resample=resample,
        unit=unit,
        name=name,
        glossary=glossary,
        use_cache=not no_cache,
        annotations=terms,
        term_control=control,
    )
    if request.terms is not None:
        request.terms.validate()  # a broken glossary or annotation file fails before any translation
    report, folder = run_evaluation(request, runs, cache, argv=sys.argv)
    _echo(summary_table([report], []))
    _echo(f"\n{folder}/report.json, report.md, report.html")


runs_app = typer.Typer(no_args_is_help=True, help="Past runs.")
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(runs: RunsOpt = RUNS) -> None:
    """Past runs: id, test set and version, backend, pair, headline scores."""
    from evalharness.reports.store import list_runs

    _existing_dir(runs, "runs folder (--runs)")
    reports = list_runs(runs)
    if not reports:
        _echo(f"no runs in {runs}", err=True)
    for r in reports:
        heads = "  ".join(f"{m} {r.scores[m].score:.1f}" for m in summary_metrics(reports) if m in r.scores)
        _echo(
            f"{r.run_id}  {r.testset.name}@{r.testset.version}  {r.testset.src_lang}-{r.testset.tgt_lang}  {r.backend.name}  {heads}"
        )


def _existing_dir(path: Path, what: str) -> None:
    """A folder we are asked to list must be there: a misspelt one is not an empty one."""
    if not path.is_dir():
        raise UserError(f"no such {what}" if not path.exists() else f"not a folder ({what})", path)


# What --format of `runs show`, `runs history` and `compare` offers, checked as arguments are parsed.
OUTPUT_FORMATS = ("text", "md", "json", "view-json", "html", "csv", "latex")


def _format_choice(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        raise typer.BadParameter(f"unknown format {value!r} (choose from {', '.join(OUTPUT_FORMATS)})")
    return value


FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="[" + "|".join(OUTPUT_FORMATS) + "]",
        callback=_format_choice,
        help="text, md or html: the page; json: the data (numbers as numbers; schemas/*.v1.json); "
        "view-json: the page as JSON; csv or latex: a table of the scores, one row per system.",
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of printing.")]


def _emit(text: str, out: Path | None) -> None:
    """Print a page, or write it atomically to `out` and say where."""
    from evalharness.fileio import write_text_atomic

    if out is None:
        _print(text)
        return
    write_text_atomic(out, text)
    _echo(f"wrote {out}", err=True)


def _page_format(fmt: str) -> str:
    """The page renderer's format for a --format that shows the page (view-json: its JSON)."""
    return "json" if fmt == "view-json" else fmt


@runs_app.command("show")
def runs_show(run_id: str, runs: RunsOpt = RUNS, fmt: FormatOpt = "text", out: OutOpt = None) -> None:
    """A run's report page: scores, change since the previous run, sanity, terminology,
    buckets, segments, provenance. RUN_ID may also be a run folder or a report file."""
    from evalharness.reports.formats import render
    from evalharness.reports.records import run_record
    from evalharness.reports.run_page import run_page
    from evalharness.reports.store import reading, resolve_run
    from evalharness.reports.tables import DATA_FORMATS, render_record

    run = resolve_run(run_id, runs)
    if fmt in DATA_FORMATS:
        _emit(render_record(run_record(run.report), fmt), out)
        return
    with reading([run.path]):
        page = render(run_page(run.report, str(run.path) if run.path else None), _page_format(fmt))
    _emit(page, out)


@runs_app.command("history")
def runs_history(
    system: Annotated[str | None, typer.Option("--system", help="Only this system (its name).")] = None,
    pair: Annotated[str | None, typer.Option("--pair", help="Only this language pair (SRC-TGT).")] = None,
    runs: RunsOpt = RUNS,
    fmt: FormatOpt = "text",
    out: OutOpt = None,
) -> None:
    """A leaderboard of each system's latest run (against the best, paired bootstrap), one
    chart per metric with every system over time, and each series run by run with the
    change against the previous run and terminology drift."""
    from evalharness.reports.formats import render
    from evalharness.reports.history import history_page, load_history
    from evalharness.reports.records import history_record
    from evalharness.reports.store import REPORT_FILE, reading
    from evalharness.reports.tables import DATA_FORMATS, render_record

    _existing_dir(runs, "runs folder (--runs)")
    with reading(sorted(runs.glob(f"*/{REPORT_FILE}"))):
        history = load_history(runs, system, pair)
        if fmt in DATA_FORMATS:
            page = render_record(history_record(history, system), fmt)
        else:
            page = render(history_page(history, str(runs), system, pair), _page_format(fmt))
    _emit(page, out)


export_app = typer.Typer(no_args_is_help=True, help="Export runs to experiment trackers.")
app.add_typer(export_app, name="export")


@export_app.command("mlflow")
def export_mlflow(
    run_ids: Annotated[
        list[str], typer.Argument(help="RUN [RUN ...]: run ids, run folders or report .json files")
    ],
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking store, e.g. sqlite:///mlflow.db or http://host:5000 (default: MLflow's, "
            "MLFLOW_TRACKING_URI).",
        ),
    ] = None,
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment (created if new).")
    ] = "evalharness",
    runs: RunsOpt = RUNS,
) -> None:
    """One MLflow run per run: parameters, scores and intervals, sanity and terminology
    numbers, and report.json, the run page and segments.csv as artifacts. A run exported
    before is skipped (pip install 'evalharness\\[mlflow]')."""
    from evalharness.reports.mlflow_export import MlflowSettings, export_runs
    from evalharness.reports.store import resolve_run

    loaded = [resolve_run(ref, runs) for ref in run_ids]  # every run is there before any export
    settings = MlflowSettings(tracking_uri=tracking_uri, experiment=experiment)
    for done in export_runs(loaded, settings):
        _echo(done.line())


def _mlflow_after_eval(settings, reports: list, runs: Path) -> bool:
    """eval.toml's [mlflow]: export the finished runs; False (and why) when that failed, the
    runs themselves being saved either way."""
    if settings is None or not reports:
        return True
    from evalharness.reports.mlflow_export import export_runs
    from evalharness.reports.statistics import LoadedRun
    from evalharness.reports.store import REPORT_FILE

    try:
        for done in export_runs([LoadedRun(r, runs / r.run_id / REPORT_FILE) for r in reports], settings):
            _echo(done.line())
    except UserError as exc:
        ids = " ".join(r.run_id for r in reports)
        _echo(f"MLflow export failed: {exc}; the runs are saved: evalharness export mlflow {ids}", err=True)
        return False
    return True


@app.command("eval")
def run_eval(
    config: Annotated[Path, typer.Option("--config", help="The evaluation to run (eval.toml).")] = Path(
        "eval.toml"
    ),
    references: RefsOpt = REFERENCES,
    runs: RunsOpt = RUNS,
    cache: CacheOpt = CACHE,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Align the test set again even when its inputs are unchanged.")
    ] = False,
    executor: Annotated[
        str,
        typer.Option("--executor", help="local (in this process) or ray (pip install 'evalharness\\[ray]')."),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", help="ray: the cluster to join (default: RAY_ADDRESS, else a local Ray)."),
    ] = None,
    actors: Annotated[
        int, typer.Option("--actors", min=1, help="ray: at most this many actors per job.")
    ] = 1,
) -> None:
    """The default evaluation (`make eval`): build or reuse the test set, run every system of
    eval.toml on every pair, write one report each and print a summary. Exits 1 when a
    system failed or none ran."""
    from evalharness.suite import load_suite, run_suite

    if executor not in ("local", "ray"):
        raise UserError(f"unknown executor {executor!r} (local or ray)")
    settings = None
    if executor == "ray":
        from evalharness.backends.ray_runner import RaySettings

        settings = RaySettings(address=address, actors=actors)
    suite = load_suite(config)
    if suite.mlflow is not None:  # not installed: say so before any work
        from evalharness.reports.mlflow_export import require_mlflow

        require_mlflow()
    result = run_suite(
        suite,
        references,
        runs,
        cache,
        argv=sys.argv,
        rebuild=rebuild,
        executor=executor,
        ray_settings=settings,
    )
    ts = result.testset
    _echo(f"test set {ts.name}@{ts.version}: {result.testset_state}")
    _echo("")
    skipped = [(o.system, o.pair, o.reason) for o in result.outcomes if o.status == "skipped"]
    _echo(summary_table(result.reports, skipped, result.skipped_metrics))
    if result.reports:
        _echo(f"\neach run's page: {runs}/RUN_ID/report.html; scores over time: evalharness runs history")
    exported = _mlflow_after_eval(suite.mlflow, result.reports, runs)
    for o in result.failed:
        _echo(f"failed: {o.system} ({o.pair}): {o.reason}", err=True)
    if result.failed or not result.reports or not exported:
        why = f"{len(result.failed)} system(s) failed" if result.failed else "no system ran"
        why = why if result.failed or not result.reports else "the MLflow export failed"
        typer.echo(_error_line(why), err=True)
        raise typer.Exit(1)


@app.command()
def compare(
    run_ids: Annotated[
        list[str], typer.Argument(help="BASELINE RUN [RUN ...]: run ids, run folders or report .json files")
    ],
    fmt: FormatOpt = "text",
    out: OutOpt = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="Comma-separated metrics (default: those every run has).")
    ] = None,
    n_ar: Annotated[
        int,
        typer.Option(
            "--ar-trials", min=0, max=10_000_000, help="Approximate randomisation trials (0: skip)."
        ),
    ] = 10_000,
    n_bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=1, max=1_000_000, help="Paired bootstrap resamples.")
    ] = 1000,
    all_pairs: Annotated[
        bool,
        typer.Option(
            "--all-pairs", help="Every run against every other, with clusters (always for 3+ runs)."
        ),
    ] = False,
    correction: Annotated[
        str, typer.Option("--correction", help="For all pairs: holm, bonferroni or none.")
    ] = "holm",
    resample: Annotated[
        str,
        typer.Option(
            "--resample",
            help="What the paired tests draw and swap: segments, or whole documents (runs with documents).",
        ),
    ] = "segments",
    freq_corpus: Annotated[
        Path | None,
        typer.Option(
            "--freq-corpus",
            help="Training corpus (plain text) whose word frequencies bucket the word accuracy "
            "(default: the test set's references).",
        ),
    ] = None,
    tags: Annotated[
        Path | None,
        typer.Option(
            "--tags",
            help='JSONL, one object per segment ({"id": "s0001", "domain": "news"}): '
            "scores and paired tests per tag value.",
        ),
    ] = None,
    analysis: Annotated[
        bool,
        typer.Option(
            "--analysis/--no-analysis",
            help="compare-mt's analyses: word accuracy, n-grams, buckets, length, scatter.",
        ),
    ] = True,
    runs: RunsOpt = RUNS,
) -> None:
    """Compare runs against the first: scores, intervals, paired significance, what moved,
    and where (compare-mt's analyses)."""
    from evalharness.metrics.neural.metric import ScoringContext
    from evalharness.metrics.registry import parse_metric_list
    from evalharness.metrics.significance import CORRECTIONS
    from evalharness.reports.analysis import read_frequencies, read_tags
    from evalharness.reports.compare import compare_runs
    from evalharness.reports.comparison_page import comparison_page
    from evalharness.reports.formats import render
    from evalharness.reports.records import comparison_record
    from evalharness.reports.store import reading, resolve_run
    from evalharness.reports.tables import DATA_FORMATS, render_record

    if correction not in CORRECTIONS:
        raise UserError(f"unknown correction {correction!r} ({', '.join(CORRECTIONS)})")
    ids, checkpoints = parse_metric_list(metrics) if metrics else (None, {})
    frequencies = read_frequencies(freq_corpus) if freq_corpus and analysis else None
    segment_tags = read_tags(tags) if tags and analysis else None
    loaded = [resolve_run(r, runs) for r in run_ids]
    with reading([r.path for r in loaded if r.path]):
        comp = compare_runs(
            loaded,
            ids,
            n_bootstrap=n_bootstrap,
            n_ar=n_ar,
            pairs=all_pairs or len(loaded) > 2,
            correction=correction,
            checkpoints=checkpoints,
            context=ScoringContext(runs / ".cache" / "scores.sqlite", label="scoring"),
            resample=resample,
            frequencies=frequencies,
            tags=segment_tags,
            analysis=analysis,
        )
        if fmt in DATA_FORMATS:
            page = render_record(comparison_record(comp), fmt)
        else:
            paths = [str(r.path) if r.path else None for r in loaded]
            page = render(comparison_page(comp, paths), _page_format(fmt))
    _emit(page, out)


@app.command()
def gate(
    config: Annotated[Path, typer.Option("--config", help="gates.toml or pyproject.toml")] = Path(
        "gates.toml"
    ),
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Replace the baselines with new runs.")
    ] = False,
    only: Annotated[str | None, typer.Option("--only", help="One gate by name.")] = None,
) -> None:
    """Run the regression gates (as `make test` does through pytest), or replace baselines.
    Exits 1 when any gate fails."""
    from evalharness.gates.config import load_gates
    from evalharness.gates.runner import failure_help, run_gate
    from evalharness.gates.runner import update_baseline as replace

    cfg = load_gates(config)
    gates = [g for g in cfg.gates if only in (None, g.name)]
    if not gates:
        raise UserError(f"no gate named {only!r}", config)
    failed = 0
    for g in gates:
        if update_baseline:
            _echo(f"{g.name}: new baseline {replace(cfg, g)}")
            continue
        try:
            result = run_gate(cfg, g)
        except UserError as exc:
            failed += 1
            _echo(f"FAIL {g.name}: {exc}")
            continue
        for message in result.warnings:
            _echo(f"warning: {message}", err=True)
        for d in result.decisions:
            failed += not d.passed
            _echo(f"{'PASS' if d.passed else 'FAIL'} {g.name} {d.rule}: {d.message}")
        if not result.passed:
            _echo("\n".join(f"  {line}" for line in failure_help(result)))
    if failed:
        typer.echo(f"error: {failed} gate check(s) failed", err=True)
        raise typer.Exit(1)


terms_app = typer.Typer(no_args_is_help=True, help="Terminology: check, audit, suggest.")
app.add_typer(terms_app, name="terms")


def _print_flags(flags: list[dict], fmt: str) -> None:
    if fmt not in ("text", "jsonl"):
        raise UserError(f"unknown format {fmt!r} (text or jsonl)")
    for f in flags:
        if fmt == "jsonl":
            _echo(json_text(f, indent=None))
        else:
            where = f["segment_id"] if "segment_id" in f else f["segment"]
            lang = f" [{f['lang']}]" if f.get("lang") else ""
            expected = f" (expected: {' / '.join(f['expected'])})" if f["expected"] else ""
            extra = f" {f['detail']['renditions']}" if f.get("detail", {}).get("renditions") else ""
            _echo(f"{where}{lang} {f['kind']:<12} {f['concept']}: {f['found'] or '—'}{expected}{extra}")


@terms_app.command("check")
def terms_check(
    file: Path,
    lang: Annotated[str, typer.Option("--lang", help="Language of FILE (ISO 639-1).")],
    glossary: Annotated[Path | None, typer.Option("--glossary", help="Glossary (YAML, TSV or TBX).")] = None,
    terms: Annotated[
        Path | None,
        typer.Option("--terms", help="Per-segment term annotations (JSONL, one line per line of FILE)."),
    ] = None,
    src: Annotated[Path | None, typer.Option("--src", help="Line-aligned source file.")] = None,
    src_lang: Annotated[
        str | None, typer.Option("--src-lang", help="Language of SRC (ISO 639-1, e.g. sv).")
    ] = None,
    control: Annotated[
        bool, typer.Option("--random-glossary-control", help="Also score against randomly paired terms.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or jsonl")] = "text",
) -> None:
    """Check a text file (one segment per line) against a glossary and/or per-segment annotations."""
    from evalharness.terminology.languages import check_term_language as check_language
    from evalharness.terminology.section import TermSource, terminology_section

    if fmt not in ("text", "jsonl"):
        raise UserError(f"unknown format {fmt!r} (text or jsonl)")
    if glossary is None and terms is None:
        raise UserError("give --glossary, --terms, or both")
    lang = check_language(lang)
    source = TermSource(glossary, terms, control)
    source.validate()
    lines = _read_lines(file)
    sources = [""] * len(lines)
    if src is not None:
        if not src_lang:
            raise UserError("--src needs --src-lang")
        check_language(src_lang, src)  # validated; terms of every language are looked for in the source
        sources = _read_lines(src)
        if len(sources) != len(lines):
            raise UserError(f"has {len(sources)} lines but {file} has {len(lines)}", src)
    ids = [str(n) for n in range(1, len(lines) + 1)]
    if terms is not None:  # a file has no segment ids: the annotations' own ids stand in for them
        from evalharness.terminology.annotations import load_annotations

        items = load_annotations(terms)
        if len(items) == len(lines):
            ids = [item.id or str(n) for n, item in enumerate(items, start=1)]
    section = terminology_section(source, ids, sources, lines, src_lang or "und", lang)
    # segments are named as everywhere else: by id (the line number, or the annotation's id),
    # and the 1-based line of FILE; never a 0-based index
    keep = ("segment_id", "concept", "kind", "found", "expected") + (("detail",) if fmt == "text" else ())
    flags = [{k: v for k, v in f.items() if k in keep} | {"line": f["segment"] + 1} for f in section["flags"]]
    _print_flags(flags, fmt)
    if fmt == "text":
        for line in _term_summary(section, str(file)):
            _echo(line, err=True)


def _term_summary(section: dict, name: str) -> list[str]:
    def pct(x) -> str:
        return "–" if x is None else f"{x:.0%}"

    out = [
        f"{name}: {len(section['flags'])} flags; term accuracy {pct(section['term_accuracy'])}, "
        f"consistency {pct(section['consistency'])}"
    ]
    if rate := section.get("success_rate"):
        out.append(
            f"term success rate: {pct(rate['exact_or_inflected'])} exact or inflected, {pct(rate['exact'])} exact, "
            f"of {rate['required']} required terms ({rate['definition']})"
        )
    if control := section.get("control"):
        chance = control.get("success_rate", {}).get("exact_or_inflected")
        out.append(
            f"random-glossary control ({control['note']}): term accuracy {pct(control['term_accuracy'])}"
            + (f", term success rate {pct(chance)}" if "success_rate" in control else "")
        )
    out += [f"matching: {line}" for line in section.get("matching", [])]
    return out


@terms_app.command("audit")
def terms_audit(
    testset: Annotated[str, typer.Option("--testset", help="NAME or NAME@VERSION.")],
    glossary: Annotated[Path, typer.Option("--glossary", help="Glossary (YAML, TSV or TBX).")],
    fmt: Annotated[str, typer.Option("--format", help="text or jsonl")] = "text",
    references: RefsOpt = REFERENCES,
) -> None:
    """Check the references themselves: each language against the others in its segment."""
    from evalharness.corpus.store import load_testset
    from evalharness.terminology.checks import check_segments
    from evalharness.terminology.glossary import load_glossary

    gl = load_glossary(glossary)
    ts = load_testset(references, testset)
    out = []
    for lang in ts.manifest.languages:
        segs = [s for s in ts.segments if lang in s.text]
        others = [[s.text[o] for o in s.text if o != lang] for s in segs]
        report = check_segments(
            [s.text[lang] for s in segs],
            lang,
            gl,
            sources=others,
        )
        for f in report.flags:
            out.append({**f.as_dict(), "segment_id": segs[f.segment].id})
    _print_flags(out if fmt == "text" else [{k: v for k, v in f.items() if k != "detail"} for f in out], fmt)


@terms_app.command("suggest")
def terms_suggest(
    testset: Annotated[str, typer.Option("--testset", help="NAME or NAME@VERSION.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the draft YAML here (default: stdout).")
    ] = None,
    min_count: Annotated[
        int, typer.Option("--min-count", min=1, help="Least occurrences for a suggestion.")
    ] = 2,
    references: RefsOpt = REFERENCES,
) -> None:
    """Propose a draft glossary from an aligned test set."""
    from evalharness.corpus.store import load_testset
    from evalharness.fileio import write_text_atomic
    from evalharness.terminology.suggest import draft_yaml, suggest_terms

    ts = load_testset(references, testset)
    concepts = suggest_terms(ts.segments, ts.manifest.languages, min_count)
    text = draft_yaml(concepts)
    if out is None:
        _print(text)
    else:
        write_text_atomic(out, text)
    multi = [c for c in concepts if c["multiple"]]
    typer.echo(f"{len(concepts)} candidate concepts, {len(multi)} with several renditions", err=True)


def main() -> None:
    """Exit codes: 0 success, 1 a failed check or an operating-system error (disk full,
    permission denied), 2 bad input or usage, 130 interrupted. Never a traceback: an error we
    did not foresee is one line saying so (EVALHARNESS_TRACEBACK=1 shows the traceback)."""
    try:
        # Without standalone mode, click returns the exit code of `typer.Exit` instead of
        # exiting with it: pass it on, or a failing command would exit 0.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as exc:
        for line in exc.details:
            typer.echo("  " + one_line_safe(line), err=True)
        typer.echo(_error_line(str(exc)), err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(_error_line(where + (exc.strerror or str(exc))), err=True)
        sys.exit(1)
    except Exception as exc:
        # Usage errors (typer vendors click, so match by shape): one line, exit 2.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            typer.echo(_error_line(exc.format_message()), err=True)
            sys.exit(2)
        if os.environ.get("EVALHARNESS_TRACEBACK"):
            raise
        typer.echo(
            _error_line(
                f"internal error ({type(exc).__name__}: {str(exc)[:300]}); this is a bug in evalharness: "
                "rerun with EVALHARNESS_TRACEBACK=1 and report the traceback"
            ),
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
