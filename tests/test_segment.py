from __future__ import annotations

import pytest
from conftest import HI, SV, content_lines

from evalharness.corpus.segment import segmenter_for, split_sentences


def test_swedish_abbreviations_do_not_split():
    text = "Han kom bl.a. från Stockholm, t.ex. med tåg. Sedan åkte han hem, dvs. till Uppsala."
    assert split_sentences(text, "sv") == [
        "Han kom bl.a. från Stockholm, t.ex. med tåg.",
        "Sedan åkte han hem, dvs. till Uppsala.",
    ]
    assert segmenter_for("sv") == "sentence-splitter"


def test_hindi_danda_and_closing_quote_stay_with_their_sentence():
    text = 'उन्होंने कहा, "यह अच्छा है।" फिर वे चले गए। क्या यह सच है?'
    assert split_sentences(text, "hi") == ['उन्होंने कहा, "यह अच्छा है।"', "फिर वे चले गए।", "क्या यह सच है?"]


def test_english_keeps_titles_and_times_together():
    text = "Dr. Smith arrived at 5 p.m. on Monday. He left early! Did he?"
    assert split_sentences(text, "en") == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He left early!",
        "Did he?",
    ]


def test_language_without_a_splitter_falls_back_to_punctuation():
    assert segmenter_for("vi") == "punctuation-regex"
    assert split_sentences("Hoa Lư đẹp. Ninh Bình xa!  Vâng.", "vi") == [
        "Hoa Lư đẹp.",
        "Ninh Bình xa!",
        "Vâng.",
    ]


@pytest.mark.parametrize("path, lang", [(SV, "sv"), (HI, "hi")])
def test_each_seed_line_is_one_sentence_and_no_text_is_lost(path, lang):
    for line in content_lines(path):
        parts = split_sentences(line, lang)
        assert len(parts) == 1
        assert "".join(parts).replace(" ", "") == line.replace(" ", "")


def test_multi_sentence_line_is_split_without_losing_characters():
    line = content_lines(SV)[0] + " " + content_lines(SV)[1]
    parts = split_sentences(line, "sv")
    assert len(parts) == 2 and " ".join(parts) == line
