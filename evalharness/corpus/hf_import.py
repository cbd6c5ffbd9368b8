"""Test sets from Hugging Face datasets already on this machine: a folder written by
`save_to_disk`, or a dataset name (and config) from the local `datasets` cache. Never a
download: the cache is read with `datasets`' own offline reader (the `cache` builder, what
`load_dataset` falls back to with HF_DATASETS_OFFLINE=1), so an evaluation does not depend
on the network or on a dataset changing upstream between runs.

Two layouts: the common MT one, a `translation` column `{lang: text}` (every language
imported, or those `--lang OURS=KEY` picks and renames), and flat columns (`--src-field`,
`--tgt-field` once per reference, with `--pair`). `--doc-field` names the document column.
Our own exports (`testset export`) come back whole, version included."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from evalharness.corpus.hf import MANIFEST_NAME, load_hf
from evalharness.corpus.ingest import max_segments
from evalharness.corpus.language import check_language, parse_pair
from evalharness.corpus.standard import ImportOptions, Row, SourceFile, rows_to_testset
from evalharness.corpus.store import TestSet, check_name
from evalharness.errors import UserError


@dataclass(frozen=True)
class HfColumns:
    """Which columns hold what (see the module's docstring)."""

    lang_keys: list[tuple[str, str]] = field(default_factory=list)  # (ours, key in `translation`)
    src_field: str | None = None
    tgt_fields: list[str] = field(default_factory=list)
    pair: str | None = None  # SRC-TGT, with the flat fields
    doc_field: str | None = None


@dataclass(frozen=True)
class _Opened:
    dataset: object  # a datasets.Dataset
    label: str  # what the manifest calls the input
    where: object  # what an error line names


def parse_lang_key(arg: str) -> tuple[str, str]:
    """`sv=swe_Latn` -> ("sv", "swe_Latn"): our language and its key in `translation`."""
    lang, sep, key = arg.partition("=")
    if not sep or not lang or not key:
        raise UserError(f"expected LANG=KEY such as sv=swe_Latn, got {arg!r}")
    return check_language(lang, "--lang"), key


def hf_cache_dir() -> Path:
    """The `datasets` cache as `datasets` finds it, read now (it reads it once, at import)."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "datasets"
    import datasets

    return Path(datasets.config.HF_DATASETS_CACHE)


@contextmanager
def _offline():
    """`datasets` in offline mode whatever the environment said when it was imported."""
    import datasets

    saved = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = saved


def _looks_like_path(source: str) -> bool:
    return source.startswith((".", "/", "~")) or source.count("/") > 1 or os.sep in source.replace("/", "")


def _from_disk(folder: Path):
    from datasets import load_from_disk

    try:
        with _offline():
            return load_from_disk(str(folder))
    except FileNotFoundError as exc:
        raise UserError(
            "not a dataset written by save_to_disk (no dataset_info.json, state.json or dataset_dict.json)",
            folder,
        ) from exc


def _from_cache(name: str, config: str | None):
    """The cached dataset `name`/`config`: the newest prepared copy in the cache, or one line
    giving the command that fetches it."""
    from datasets.packaged_modules.cache.cache import Cache

    cache = hf_cache_dir()
    fetch = f"import datasets; datasets.load_dataset({name!r}" + (f", {config!r})" if config else ")")
    try:
        with _offline():
            builder = Cache(
                cache_dir=str(cache),
                dataset_name=name.split("/")[-1],
                repo_id=name,
                config_name=config,
                version="auto",
                hash="auto",
            )
    except (ValueError, FileNotFoundError) as exc:
        found = " ".join(str(exc).split())
        raise UserError(
            f"dataset {name!r} is not in the local Hugging Face cache ({found}); fetch it once with: "
            f'python -c "{fetch}" (never fetched at run time)',
            cache,
        ) from exc
    return builder


def _pick_split(splits: list[str], split: str | None, where: object) -> str:
    if split is None and len(splits) == 1:
        return splits[0]
    if split is None and "test" in splits:
        return "test"
    if split not in splits:
        wanted = f"no split {split!r}" if split else "several splits"
        raise UserError(f"{wanted} (it has {', '.join(splits)}): choose one with --split", where)
    return split


def _open(source: str, config: str | None, split: str | None) -> _Opened | TestSet:
    """The dataset split to import, or our own export as it was saved."""
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / MANIFEST_NAME).is_file():
            return load_hf(path)
        data = _from_disk(path)
        if hasattr(data, "keys"):  # a DatasetDict
            chosen = _pick_split(list(data.keys()), split, path)
            return _Opened(data[chosen], f"{path.name}[{chosen}]", path)
        return _Opened(data, path.name, path)
    if path.exists():
        raise UserError("a file: give a folder written by save_to_disk, or a dataset name", path)
    if _looks_like_path(source):
        raise UserError("no such folder", path)
    builder = _from_cache(source, config)
    chosen = _pick_split(list(builder.info.splits or {}), split, hf_cache_dir())
    with _offline():
        data = builder.as_dataset(split=chosen)
    return _Opened(data, f"{source}:{builder.config.name}[{chosen}]", hf_cache_dir())


def _texts(value: object) -> list[str]:
    """A cell as references: a text, or a list of texts (one per translator)."""
    if isinstance(value, (list, tuple)):
        return [str(v) if v is not None else "" for v in value]
    return [] if value is None else [str(value)]


def _require(columns: list[str], wanted: list[str], where: object) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UserError(f"no column {missing[0]!r} (columns: {', '.join(columns)})", where)


def _translation_keys(data, cols: HfColumns, where: object) -> list[tuple[str, str]]:
    """(our language, key in `translation`): those given, else every key as a language."""
    feature = data.features["translation"]
    keys = list(getattr(feature, "languages", None) or feature.keys())
    if cols.lang_keys:
        _require(keys, [k for _, k in cols.lang_keys], f"{where} (translation keys)")
        return cols.lang_keys
    try:
        return [(check_language(k), k) for k in keys]
    except UserError as exc:
        raise UserError(f"{exc} among the translation keys: map them with --lang OURS=KEY", where) from exc


def _rows(data, cols: HfColumns, where: object) -> tuple[list[str], list[Row]]:
    """The languages and the rows of a dataset split, in either layout."""
    columns = list(data.column_names)
    if cols.doc_field:
        _require(columns, [cols.doc_field], where)
    if cols.src_field or cols.tgt_fields or cols.pair:
        if not (cols.src_field and cols.tgt_fields and cols.pair):
            raise UserError(
                "flat columns need --src-field, --tgt-field (once per reference) and --pair together"
            )
        _require(columns, [cols.src_field, *cols.tgt_fields], where)
        src, tgt = parse_pair(cols.pair)
        fields = {src: [cols.src_field], tgt: cols.tgt_fields}
        pick = [(lang, f) for lang, names in fields.items() for f in names]
    else:
        _require(columns, ["translation"], f"{where} (or name flat columns with --src-field/--tgt-field)")
        pick = [(lang, ("translation", key)) for lang, key in _translation_keys(data, cols, where)]
    rows = []
    for n, example in enumerate(data):
        texts: dict[str, list[str]] = {}
        for lang, f in pick:
            value = (example[f[0]] or {}).get(f[1]) if isinstance(f, tuple) else example[f]
            texts.setdefault(lang, []).extend(_texts(value))
        doc = example[cols.doc_field] if cols.doc_field else None
        rows.append(Row(texts=texts, where=f"example {n}", doc=None if doc is None else str(doc)))
    return list(dict.fromkeys(lang for lang, _ in pick)), rows


def import_hf(
    source: str,
    name: str,
    config: str | None = None,
    split: str | None = None,
    columns: HfColumns | None = None,
    trust_languages: bool = False,
) -> TestSet:
    """A test set from a saved folder or a cached dataset name (never downloaded)."""
    check_name(name)
    cols = columns or HfColumns()
    opened = _open(source, config, split)
    if isinstance(opened, TestSet):  # our own export: as it was, under the name asked for
        return TestSet(manifest=opened.manifest.model_copy(update={"name": name}), segments=opened.segments)
    if len(opened.dataset) > max_segments():
        raise UserError(
            f"{len(opened.dataset):,} examples, more than {max_segments():,} (EVALHARNESS_MAX_SEGMENTS raises the limit)",
            opened.where,
        )
    langs, rows = _rows(opened.dataset, cols, opened.where)
    sha = hashlib.sha256(json.dumps([r.texts for r in rows], ensure_ascii=False).encode("utf-8")).hexdigest()
    settings = {
        "format": "hf",
        "dataset": opened.label,
        "translation_keys": dict(cols.lang_keys) or None,
        "fields": {"src": cols.src_field, "tgt": cols.tgt_fields, "doc": cols.doc_field},
    }
    options = ImportOptions(
        trust_languages=trust_languages,
        swap_hint="are the languages mapped to the wrong columns? (--trust-lang imports them as given)",
        segmenter="none (one segment per example)",
        settings=settings,
    )
    sources = [SourceFile(opened.label, sha, lang) for lang in langs]
    return rows_to_testset(rows, name, langs, sources, opened.where, options)
