from __future__ import annotations

from conftest import EN_OTHER, HI, SV

from evalharness.corpus.boilerplate import strip_boilerplate
from evalharness.corpus.ingest import read_document


def _clean(*paths):
    return strip_boilerplate([read_document(p) for p in paths])


def test_seed_article_lines_are_kept_and_furniture_dropped():
    sv, hi, en = _clean(SV, HI, EN_OTHER)
    article = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]
    assert [ln.number for ln in sv.kept] == article
    assert [ln.number for ln in hi.kept] == article
    assert {d.line.text for d in sv.dropped} == {"Hong Giang - Duc Lam", "Källa", "Kommentar (0)"}
    assert {d.line.number for d in hi.dropped} == {12, 13, 14}
    en_kept = {ln.text for ln in en.kept}
    assert all(
        not t.startswith(("Gia Vien District Party Committee summarizes", "Vietnam.vn")) for t in en_kept
    )
    assert "No data" not in en_kept and "Same tag" not in en_kept and "Comment (0)" not in en_kept
    assert not any("Intervision" in t or "red flag lanterns" in t for t in en_kept)
    assert len(en.kept) == 13  # the article's paragraphs and its photo caption


def test_each_rule_reports_its_reason():
    _, _, en = _clean(SV, HI, EN_OTHER)
    reasons = {d.line.number: d.reason for d in en.dropped}
    assert reasons[5].startswith("date line")  # "Việt NamViệt Nam08/08/2023"
    assert reasons[27].startswith("repeated title")
    assert reasons[34].startswith("line repeated across documents")  # byline shared with sv
    assert reasons[39].startswith("counter line")
    assert reasons[41].startswith("line repeated within the document")  # "No data" twice
    assert reasons[49].startswith("outside the main text block")  # a teaser that ends with '?'
    assert all(d.reason for d in en.dropped)


def test_rules_generalise_to_an_unseen_page(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(
        "\n".join(
            [
                "Startseite | Politik | Kultur",
                "Der Stadtrat beschließt den neuen Haushalt",
                "05.01.2024 14:32",
                "Der Stadtrat hat am Montag den Haushalt für das kommende Jahr beschlossen.",
                "Die Opposition kritisierte die geplanten Ausgaben scharf.",
                "Der Bürgermeister verteidigte den Plan in einer langen Rede.",
                "Foto: Archiv",
                "Kommentare (12)",
                "Mehr zum Thema",
                "Teilen",
                "Warum steigen die Mieten in der Stadt so schnell?",
            ]
        ),
        encoding="utf-8",
    )
    (clean,) = _clean(page)
    assert [ln.number for ln in clean.kept] == [4, 5, 6]
    reasons = {d.line.number: d.reason for d in clean.dropped}
    assert reasons[3].startswith("date line") and reasons[8].startswith("counter line")
    assert reasons[11].startswith("outside the main text block")


def test_a_plain_text_without_boilerplate_loses_nothing(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("First sentence here.\nSecond one, longer, with a comma.\nThird!\n", encoding="utf-8")
    (clean,) = _clean(path)
    assert len(clean.kept) == 3 and not clean.dropped
