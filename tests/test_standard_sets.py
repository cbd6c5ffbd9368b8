"""Standard test sets in the formats they come in (issue 24): sacrebleu's by name from its
cache, FLORES-style folders, TSV with a document column, Hugging Face datasets on disk or in
the local cache. Every input here is made up in the test (the real test sets are held out:
a fake sacrebleu cache holds our own sentences where sacrebleu expects a set's files), and
nothing is downloaded: sacrebleu's download is replaced by a recorder, sockets are closed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sacrebleu.dataset.base
from conftest import run_cli

from evalharness.corpus.flores import import_flores
from evalharness.corpus.hf import export_hf, load_hf
from evalharness.corpus.sacrebleu_sets import import_sacrebleu, parse_spec
from evalharness.corpus.standard import import_tsv
from evalharness.corpus.store import load_testset
from evalharness.errors import UserError

SV = [
    "Vädret är mycket fint i dag.",
    "Barnen leker i parken.",
    "Jag köpte en ny bok i går.",
    "Tåget kom tio minuter för sent.",
]
HI = ["मौसम आज बहुत अच्छा है।", "बच्चे पार्क में खेल रहे हैं।", "मैंने कल एक नई किताब खरीदी।", "ट्रेन दस मिनट देर से आई।"]
HI_B = [
    "आज मौसम बहुत सुहावना है।",
    "बच्चे उद्यान में खेल रहे हैं।",
    "कल मैंने एक नई पुस्तक खरीदी।",
    "रेलगाड़ी दस मिनट की देरी से पहुँची।",
]
EN = [
    "The weather is very nice today.",
    "The children play in the park.",
    "I bought a new book yesterday.",
    "The train came ten minutes late.",
]
DE_A = [
    "Das Wetter ist heute sehr schön.",
    "Die Kinder spielen im Park.",
    "Ich habe gestern ein neues Buch gekauft.",
    "Der Zug kam zehn Minuten zu spät.",
]
DE_B = [
    "Heute ist das Wetter sehr schön.",
    "Im Park spielen die Kinder.",
    "Gestern kaufte ich ein neues Buch.",
    "Der Zug hatte zehn Minuten Verspätung.",
]
FI_A = [
    "Sää on tänään hyvin kaunis.",
    "Lapset leikkivät puistossa.",
    "Ostin eilen uuden kirjan.",
    "Juna tuli kymmenen minuuttia myöhässä.",
]
FI_B = [
    "Tänään on kaunis sää.",
    "Puistossa leikkivät lapset.",
    "Eilen ostin uuden kirjan.",
    "Juna oli kymmenen minuuttia myöhässä.",
]
DOCS = ["story-1", "story-1", "story-2", "story-2"]
URLS = ["https://example.org/a", "https://example.org/a", "https://example.org/b", "https://example.org/b"]


def _one_error(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


# --- sacrebleu ---------------------------------------------------------------------------

WMT23_EN_DE = "wmt23/raw/wmt23-news-systems-v.0.1/xml/wmttest2023.en-de.all.xml"  # where sacrebleu looks


def _wmt_xml(refs: dict[str, list[str]], drop: tuple[str, int] | None = None) -> str:
    """Our sentences in WMT XML: two documents, a <ref> per translator (`drop`: leave that
    translator's segment out)."""
    docs = []
    for doc, origlang, domain, rows in (
        ("story-1", "en", "news", (0, 1)),
        ("story-2", "de", "speech", (2, 3)),
    ):
        blocks = [("src", 'lang="en"', EN)] + [
            ("ref", f'lang="de" translator="{t}"', texts) for t, texts in refs.items()
        ]
        body = ""
        for tag, attrs, texts in blocks:
            segs = "".join(
                f'<seg id="{n + 1}">{texts[i]}</seg>'
                for n, i in enumerate(rows)
                if not (tag == "ref" and drop and drop == (attrs.split('"')[3], i))
            )
            body += f"<{tag} {attrs}><p>{segs}</p></{tag}>"
        docs.append(f'<doc id="{doc}" origlang="{origlang}" domain="{domain}">{body}</doc>')
    return f'<?xml version="1.0" encoding="utf-8"?>\n<dataset id="t"><collection id="general">{"".join(docs)}</collection></dataset>\n'


@pytest.fixture
def sacrebleu_cache(tmp_path, monkeypatch):
    """An empty sacrebleu cache in SACREBLEU, and every call of sacrebleu's download recorded
    (and refused: nothing may reach the network)."""
    cache = tmp_path / "sacrebleu"
    cache.mkdir()
    monkeypatch.setenv("SACREBLEU", str(cache))
    calls: list[str] = []

    def recorder(self):
        calls.append(self._rawdir)
        raise AssertionError("sacrebleu's download was called")

    monkeypatch.setattr(sacrebleu.dataset.base.Dataset, "maybe_download", recorder)
    return cache, calls


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_sacrebleu_set_from_its_cache_keeps_documents_and_its_references(sacrebleu_cache, tmp_path):
    cache, calls = sacrebleu_cache
    _write(cache / WMT23_EN_DE, _wmt_xml({"refA": DE_A, "refB": DE_B}))
    refs = tmp_path / "refs"
    proc = run_cli("testset", "import-sacrebleu", "wmt23:en-de", "--references", refs)
    assert proc.returncode == 0, proc.stderr
    assert (
        "wmt23.en-de @ " in proc.stdout and "4 segments in 2 documents, en, de, 1 reference(s)" in proc.stdout
    )
    ts = load_testset(refs, "wmt23.en-de")
    assert [s.doc for s in ts.segments] == DOCS and [s.id for s in ts.segments][:2] == ["s00001", "s00002"]
    # sacrebleu scores wmt23 against refA only: the set is what sacrebleu produced from its cache
    produced = (cache / "wmt23" / "wmt23.en-de.ref-refA").read_text(encoding="utf-8").splitlines()
    assert [s.text for s in ts.segments] == [{"en": e, "de": d} for e, d in zip(EN, produced, strict=True)]
    assert produced == DE_A and not any(s.more_refs for s in ts.segments)
    settings = ts.manifest.settings
    assert settings["references"] == ["ref:refA"] and settings["test_set"] == "wmt23"
    assert settings["documents"] == {
        "story-1": {"origlang": "en", "domain": "news"},
        "story-2": {"origlang": "de", "domain": "speech"},
    }
    assert calls == []


def test_sacrebleu_all_refs_keeps_every_translator(sacrebleu_cache, tmp_path):
    cache, _ = sacrebleu_cache
    _write(cache / WMT23_EN_DE, _wmt_xml({"refA": DE_A, "refB": DE_B}))
    ts = import_sacrebleu(parse_spec("wmt23:en-de"), "w", all_refs=True)
    assert [s.references("de") for s in ts.segments] == [[a, b] for a, b in zip(DE_A, DE_B, strict=True)]
    assert ts.manifest.settings["references"] == ["ref:refA", "ref:refB"]


def test_sacrebleu_missing_reference_segment_is_refused(sacrebleu_cache):
    cache, _ = sacrebleu_cache
    _write(cache / WMT23_EN_DE, _wmt_xml({"refA": DE_A, "refB": DE_B}, drop=("refB", 2)))
    with pytest.raises(UserError, match=r"line 3 of wmt23.en-de.src: the 'de' text is empty"):
        import_sacrebleu(parse_spec("wmt23:en-de"), "w", all_refs=True)


def test_sacrebleu_sgml_set_with_two_references(sacrebleu_cache):
    """wmt17/tworefs: the older SGML format, two Finnish references that sacrebleu scores against."""
    cache, calls = sacrebleu_cache

    def sgm(texts, kind):
        docs = ""
        for doc, rows in (("story-1", (0, 1)), ("story-2", (2, 3))):
            segs = "".join(f'<seg id="{n + 1}">{texts[i]}</seg>\n' for n, i in enumerate(rows))
            docs += (
                f'<doc sysid="{kind}" docid="{doc}" genre="news" origlang="en">\n<p>\n{segs}</p>\n</doc>\n'
            )
        return f'<{kind}set setid="t" srclang="any">\n{docs}</{kind}set>\n'

    raw = cache / "wmt17/tworefs/raw/test"
    _write(raw / "newstest2017-enfi-src.en.sgm", sgm(EN, "src"))
    _write(raw / "newstest2017-enfi-ref.fi.sgm", sgm(FI_A, "ref"))
    _write(raw / "newstestB2017-enfi-ref.fi.sgm", sgm(FI_B, "ref"))
    ts = import_sacrebleu(parse_spec("wmt17/tworefs:en-fi"), "two")
    assert [s.references("fi") for s in ts.segments] == [[a, b] for a, b in zip(FI_A, FI_B, strict=True)]
    assert [s.doc for s in ts.segments] == DOCS and ts.manifest.languages == ["en", "fi"]
    assert ts.manifest.settings["documents"]["story-2"] == {"origlang": "en", "genre": "news"}
    assert calls == []


def test_sacrebleu_set_not_in_cache_gives_the_fetch_command(sacrebleu_cache, tmp_path):
    cache, calls = sacrebleu_cache
    proc = run_cli(
        "testset", "import-sacrebleu", "wmt23:en-de", "--name", "w", "--references", tmp_path / "r"
    )
    line = _one_error(proc)
    assert f"error: {cache}: wmt23:en-de is not in sacrebleu's cache" in line
    assert "evalharness testset import-sacrebleu wmt23:en-de --name w --download" in line
    assert "sacrebleu -t wmt23 -l en-de --echo src > /dev/null" in line
    assert calls == [] and not list(tmp_path.rglob("segments.jsonl"))


def test_sacrebleu_download_only_with_download(sacrebleu_cache, tmp_path, monkeypatch):
    cache, _ = sacrebleu_cache
    calls = []

    def fake_download(self):  # what a download leaves: the raw files in the set's raw folder
        calls.append(self._rawdir)
        _write(Path(self._rawdir) / WMT23_EN_DE.split("/raw/")[1], _wmt_xml({"refA": DE_A}))

    monkeypatch.setattr(sacrebleu.dataset.base.Dataset, "maybe_download", fake_download)
    assert (
        run_cli("testset", "import-sacrebleu", "wmt23:en-de", "--references", tmp_path / "r").returncode == 2
    )
    assert calls == []
    proc = run_cli("testset", "import-sacrebleu", "wmt23:en-de", "--download", "--references", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert calls == [str(cache / "wmt23" / "raw")]
    assert [s.text["de"] for s in load_testset(tmp_path / "r", "wmt23.en-de").segments] == DE_A


def test_sacrebleu_unknown_set_or_pair_is_one_line(sacrebleu_cache, tmp_path):
    line = _one_error(run_cli("testset", "import-sacrebleu", "wmt2023:en-de", "--references", tmp_path))
    assert "sacrebleu knows no test set 'wmt2023'" in line and "did you mean" in line
    line = _one_error(run_cli("testset", "import-sacrebleu", "wmt23:sv-hi", "--references", tmp_path))
    assert "sacrebleu's wmt23 has no language pair 'sv-hi'" in line and "en-de" in line
    assert "expected TESTSET:SRC-TGT" in _one_error(
        run_cli("testset", "import-sacrebleu", "wmt23", "--references", tmp_path)
    )


# --- FLORES --------------------------------------------------------------------------------


def _flores(
    root: Path, codes: dict[str, list[str]], split: str = "devtest", metadata: list[str] | None = None
) -> Path:
    for code, lines in codes.items():
        _write(root / split / f"{code}.{split}", "\n".join(lines) + "\n")
    if metadata is not None:
        _write(
            root / f"metadata_{split}.tsv",
            "\n".join(["URL\tdomain\ttopic\thas_image\thas_hyperlink", *metadata]) + "\n",
        )
    return root


def test_flores_folder_with_metadata_has_url_documents(tmp_path):
    meta = [
        f"{url}\twikinews\tweather\t0\t0" if url.endswith("a") else f"{url}\twikivoyage\ttravel\t0\t1"
        for url in URLS
    ]
    root = _flores(
        tmp_path / "flores200_dataset", {"swe_Latn": SV, "hin_Deva": HI, "eng_Latn": EN}, metadata=meta
    )
    refs = tmp_path / "refs"
    proc = run_cli(
        "testset", "import-flores", root, "--split", "devtest", "--lang", "sv=swe_Latn", "--lang", "hi=hin_Deva",
        "--name", "fl", "--references", refs,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "4 segments in 2 documents, sv, hi, 1 reference(s)" in proc.stdout
    ts = load_testset(refs, "fl")
    assert [s.doc for s in ts.segments] == URLS and [s.id for s in ts.segments][0] == "s00001"
    assert [s.text for s in ts.segments] == [{"sv": s, "hi": h} for s, h in zip(SV, HI, strict=True)]
    assert ts.manifest.settings["documents"]["https://example.org/b"] == {
        "domain": "wikivoyage",
        "topic": "travel",
        "has_image": "0",
        "has_hyperlink": "1",
    }
    assert ts.manifest.settings["codes"] == {"sv": "swe_Latn", "hi": "hin_Deva"}


def test_flores101_names_without_metadata_have_no_documents(tmp_path):
    root = _flores(tmp_path / "flores101_dataset", {"swe": SV, "eng": EN}, split="dev")
    ts = import_flores(root / "dev", "dev", [("sv", "swe"), ("en", "eng")], "f101")  # the split folder itself
    assert [s.doc for s in ts.segments] == [None] * 4 and ts.manifest.languages == ["sv", "en"]
    assert ts.manifest.settings["metadata"] is None


def test_flores_problems_name_the_file(tmp_path):
    root = _flores(
        tmp_path / "fl", {"swe_Latn": SV, "eng_Latn": EN}, metadata=[f"{u}\tx\ty\t0\t0" for u in URLS[:3]]
    )
    with pytest.raises(UserError, match=r"metadata_devtest.tsv: 3 rows, but the text files have 4 lines"):
        import_flores(root, "devtest", [("sv", "swe_Latn"), ("en", "eng_Latn")], "f")
    with pytest.raises(
        UserError, match=r"no hin_Deva file for split 'devtest' \(looked for .*hin_Deva.devtest"
    ):
        import_flores(root, "devtest", [("sv", "swe_Latn"), ("hi", "hin_Deva")], "f")
    line = _one_error(
        run_cli("testset", "import-flores", root, "--lang", "sv=../x", "--lang", "en=eng_Latn", "--name", "f")
    )
    assert "'../x' is not a FLORES language code" in line


# --- TSV -----------------------------------------------------------------------------------


def _tsv(path: Path, rows: list[list[str]]) -> Path:
    return _write(path, "".join("\t".join(r) + "\n" for r in rows))


def test_tsv_with_documents_and_two_references(tmp_path):
    sv = ['"Hej," sa hon. ' + SV[0], *SV[1:]]  # a quote is text: QUOTE_NONE
    rows = [["doc", "sv", "hi", "hi"], *([d, s, a, b] for d, s, a, b in zip(DOCS, sv, HI, HI_B, strict=True))]
    path = _tsv(tmp_path / "set.tsv", rows)
    refs = tmp_path / "refs"
    proc = run_cli(
        "testset",
        "import-tsv",
        path,
        "--columns",
        "doc,sv,hi,hi",
        "--header",
        "--name",
        "t",
        "--references",
        refs,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4 segments in 2 documents, sv, hi, 2 reference(s)" in proc.stdout
    ts = load_testset(refs, "t")
    assert [s.text["sv"] for s in ts.segments] == sv
    assert [s.references("hi") for s in ts.segments] == [[a, b] for a, b in zip(HI, HI_B, strict=True)]
    assert [s.doc for s in ts.segments] == DOCS


def test_tsv_wrong_column_count_names_file_and_line(tmp_path):
    rows = [[d, s, h] for d, s, h in zip(DOCS, SV, HI, strict=True)]
    rows[2] = [DOCS[2], SV[2] + "\t" + "extra", HI[2]]
    path = _tsv(tmp_path / "bad.tsv", rows)
    line = _one_error(
        run_cli(
            "testset", "import-tsv", path, "--columns", "doc,sv,hi", "--name", "t", "--references", tmp_path
        )
    )
    assert f"error: {path}: line 3: 4 tab-separated columns, expected 3" in line


def test_tsv_header_without_flag_and_swapped_columns_are_refused(tmp_path):
    rows = [["doc", "sv", "hi"], *([d, s, h] for d, s, h in zip(DOCS, SV, HI, strict=True))]
    path = _tsv(tmp_path / "h.tsv", rows)
    with pytest.raises(UserError, match="line 1 is a header naming the columns: pass --header"):
        import_tsv(path, "t", "doc,sv,hi")
    with pytest.raises(
        UserError, match="given as 'hi' but its text reads as 'sv'.*--columns in the wrong order"
    ):
        import_tsv(path, "t", "doc,hi,sv", header=True)
    assert len(import_tsv(path, "t", "doc,hi,sv", header=True, trust_languages=True).segments) == 4


def test_tsv_missing_reference_and_partial_documents_are_refused(tmp_path):
    rows = [[d, s, a, b] for d, s, a, b in zip(DOCS, SV, HI, HI_B, strict=True)]
    rows[1][3] = ""
    with pytest.raises(UserError, match=r"m.tsv: line 2: the 'hi' text is empty"):
        import_tsv(_tsv(tmp_path / "m.tsv", rows), "t", "doc,sv,hi,hi")
    rows = [[d, s, h] for d, s, h in zip(DOCS, SV, HI, strict=True)]
    rows[3][0] = ""
    with pytest.raises(UserError, match=r"line 4: no document id while line 1 has one"):
        import_tsv(_tsv(tmp_path / "d.tsv", rows), "t", "doc,sv,hi")
    with pytest.raises(UserError, match="names fewer than two languages"):
        import_tsv(tmp_path / "d.tsv", "t", "doc,sv,sv")


# --- Hugging Face --------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_hf_saved_dataset_with_translation_column_and_documents(tmp_path, no_network):
    from datasets import Dataset

    rows = [{"translation": {"sv": s, "hi": h}, "doc": d} for s, h, d in zip(SV, HI, DOCS, strict=True)]
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    refs = tmp_path / "refs"
    proc = run_cli(
        "testset", "import-hf", tmp_path / "ds", "--name", "h", "--doc-field", "doc", "--references", refs
    )
    assert proc.returncode == 0, proc.stderr
    ts = load_testset(refs, "h")
    assert [s.text for s in ts.segments] == [{"sv": s, "hi": h} for s, h in zip(SV, HI, strict=True)]
    assert [s.doc for s in ts.segments] == DOCS and ts.manifest.settings["format"] == "hf"


def test_hf_flat_fields_with_two_references(tmp_path, no_network):
    from datasets import Dataset, DatasetDict

    rows = [{"src": s, "ref1": a, "ref2": b} for s, a, b in zip(SV, HI, HI_B, strict=True)]
    DatasetDict({"validation": Dataset.from_list(rows[:1]), "test": Dataset.from_list(rows)}).save_to_disk(
        str(tmp_path / "dd")
    )
    proc = run_cli(
        "testset", "import-hf", tmp_path / "dd", "--name", "f", "--src-field", "src", "--tgt-field", "ref1",
        "--tgt-field", "ref2", "--pair", "sv-hi", "--references", tmp_path / "refs",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ts = load_testset(tmp_path / "refs", "f")
    assert [s.references("hi") for s in ts.segments] == [[a, b] for a, b in zip(HI, HI_B, strict=True)]
    assert "(no document ids)" in proc.stdout and "2 reference(s)" in proc.stdout
    line = _one_error(
        run_cli(
            "testset",
            "import-hf",
            tmp_path / "dd",
            "--name",
            "f",
            "--split",
            "train",
            "--references",
            tmp_path,
        )
    )
    assert "no split 'train' (it has validation, test)" in line


def test_hf_dataset_from_the_local_cache_only(tmp_path, monkeypatch, no_network):
    """A dataset name is read from the cache `datasets` keeps (as load_dataset leaves it)."""
    import datasets

    class Tiny(datasets.GeneratorBasedBuilder):
        BUILDER_CONFIGS = [datasets.BuilderConfig(name="sv-hi")]

        def _info(self):
            return datasets.DatasetInfo(
                features=datasets.Features(
                    {
                        "translation": datasets.Translation(languages=["sv", "hi"]),
                        "doc": datasets.Value("string"),
                    }
                )
            )

        def _split_generators(self, dl_manager):
            return [datasets.SplitGenerator(name="test", gen_kwargs={})]

        def _generate_examples(self):
            for n, (s, h, d) in enumerate(zip(SV, HI, DOCS, strict=True)):
                yield n, {"translation": {"sv": s, "hi": h}, "doc": d}

    cache = tmp_path / "hf-cache"
    Tiny(
        cache_dir=str(cache),
        config_name="sv-hi",
        dataset_name="tiny_mt",
        repo_id="me/tiny_mt",
        hash="0123abcd",
    ).download_and_prepare()
    env = {"HF_DATASETS_CACHE": str(cache)}
    args = ("--name", "c", "--doc-field", "doc", "--references", tmp_path / "refs")
    proc = run_cli("testset", "import-hf", "me/tiny_mt", "--config", "sv-hi", *args, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    ts = load_testset(tmp_path / "refs", "c")
    assert [s.text["hi"] for s in ts.segments] == HI and [s.doc for s in ts.segments] == DOCS
    line = _one_error(run_cli("testset", "import-hf", "me/other_mt", *args, env_extra=env))
    assert f"error: {cache}: dataset 'me/other_mt' is not in the local Hugging Face cache" in line
    assert "datasets.load_dataset('me/other_mt')" in line and "never fetched at run time" in line


def test_own_export_round_trip_keeps_documents_and_references(tmp_path):
    rows = [[d, s, a, b] for d, s, a, b in zip(DOCS, SV, HI, HI_B, strict=True)]
    ts = import_tsv(_tsv(tmp_path / "set.tsv", rows), "t", "doc,sv,hi,hi")
    out = export_hf(ts, tmp_path / "hf")
    back = load_hf(out)
    assert back.segments == ts.segments and back.version == ts.version
    proc = run_cli("testset", "import-hf", out, "--name", "again", "--references", tmp_path / "refs")
    assert proc.returncode == 0, proc.stderr
    again = load_testset(tmp_path / "refs", "again")
    assert again.version == ts.version and again.segments == ts.segments and again.name == "again"
