from __future__ import annotations

import unicodedata

import pytest

from evalharness.corpus.ingest import read_document
from evalharness.errors import UserError


def test_bom_crlf_zero_width_and_nfd_are_normalised(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Källa för åtgärd.")
    raw = "\ufeffFörsta raden.\r\n\r\nTre\u200bdje " + decomposed + "\r\nsista\u200d rad\r\n"
    path = tmp_path / "doc.txt"
    path.write_bytes(raw.encode("utf-8"))
    doc = read_document(path)
    assert [ln.number for ln in doc.lines] == [1, 2, 3, 4]
    assert doc.lines[0].text == "Första raden."
    assert doc.lines[1].text == ""
    assert doc.lines[2].text == "Tredje " + unicodedata.normalize("NFC", decomposed)
    assert unicodedata.is_normalized("NFC", doc.lines[2].text)
    assert doc.lines[3].text == "sista rad"
    assert [ln.number for ln in doc.nonblank()] == [1, 3, 4]


def test_lone_cr_line_ends(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes(b"one.\rtwo.\r")
    assert [ln.text for ln in read_document(path).lines] == ["one.", "two."]


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "file is empty"),
        (b"  \n\n \t\n", "file is empty"),
        (b"\xe2\x80\x8b\n\xef\xbb\xbf\n", "no text"),
        (b"PK\x03\x04\x00\x00binary", "binary"),
        (b"caf\xe9 au lait\n", "not valid UTF-8 (byte 0xe9 at offset 3)"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_document(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_document(tmp_path / "nope.txt")


def test_directory_is_not_a_document(tmp_path):
    with pytest.raises(UserError, match="not a regular file"):
        read_document(tmp_path)
