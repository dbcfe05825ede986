"""mtcheck.io: decoding wire copy from real bytes, HTML to text, normalisation, and refusing bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from mtcheck.io import html_to_text, normalise_text, read_text, read_text_str
from mtcheck.types import InputError

HEADLINE = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"
QUOTE = "“No response yet”, – he concluded."


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- encodings -------------------------------------------------------------------------------------


def test_utf8_plain(tmp_path: Path) -> None:
    text = f"{HEADLINE}\n\nMOSCOW, October 13. {QUOTE}"
    assert read_text(write(tmp_path, "a.txt", text.encode("utf-8"))) == text


def test_cp1252_curly_quotes_and_dashes(tmp_path: Path) -> None:
    # \x93 \x94 are “ ” and \x96 is – in Windows-1252; none of them is valid UTF-8.
    data = b"\x93No response yet\x94, \x96 he concluded. It\x92s caf\xe9 \x85"
    assert read_text(write(tmp_path, "a.txt", data)) == "“No response yet”, – he concluded. It’s café …"


def test_latin1_e_acute(tmp_path: Path) -> None:
    data = "Le café, the résumé and Zoë.".encode("latin-1")
    assert data == b"Le caf\xe9, the r\xe9sum\xe9 and Zo\xeb."
    assert read_text(write(tmp_path, "a.txt", data)) == "Le café, the résumé and Zoë."


def test_byte_undefined_in_cp1252_is_read_as_latin1_not_an_error() -> None:
    # 0x81 has no Windows-1252 meaning: it is the C1 control U+0081 in Latin-1, which is dropped.
    assert read_text_str(b"Caf\xe9\x81 ok.", "a.txt") == "Café ok."


def test_mostly_utf8_with_a_stray_cp1252_byte_keeps_the_utf8() -> None:
    data = "“Café” – it".encode() + b"\x92s fine."
    assert read_text_str(data, "a.txt") == "“Café” – it’s fine."


def test_c1_controls_from_a_latin1_round_trip_become_curly_quotes() -> None:
    # cp1252 bytes decoded as Latin-1 and saved as UTF-8: U+0093/U+0094 instead of “ ”.
    assert read_text_str("He said \x93yes\x94.".encode(), "a.txt") == "He said “yes”."


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + HEADLINE.encode()
    text = read_text(write(tmp_path, "a.txt", data))
    assert text == HEADLINE
    assert not text.startswith("\ufeff")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(tmp_path: Path, codec: str) -> None:
    body = f"{HEADLINE}\r\n\r\n{QUOTE}"
    data = body.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = "\ufeff".encode(codec) + data
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert read_text(write(tmp_path, "a.txt", data)) == f"{HEADLINE}\n\n{QUOTE}"


def test_utf16_without_bom_is_recognised() -> None:
    assert read_text_str("Putin said.\nMOSCOW.".encode("utf-16-le"), "a.txt") == "Putin said.\nMOSCOW."


def test_bom_that_lies_is_refused() -> None:
    with pytest.raises(
        InputError, match=r"UTF-8 byte-order mark but is not valid UTF-8.*re-save it as UTF-8"
    ):
        read_text_str(b"\xef\xbb\xbfabc \xff\xfe def", "bad.txt")


RUSSIAN_COPY = (
    "МОСКВА, 13 октября. Россия не стремится к лидерству в Сирии, заявил президент Владимир Путин "
    'на инвестиционном форуме "Россия зовет!".\n\n'
    "По его словам, Москва предложила провести встречу военных и политических представителей, "
    'но партнеры в США пока не идут навстречу. "Дайте нам цели, которые вы считаете на 100 процентов '
    'террористическими", - сказал Путин.'
)


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r"])
def test_russian_legacy_encodings_are_decoded(codec: str) -> None:
    assert read_text_str(RUSSIAN_COPY.encode(codec), "source.txt") == RUSSIAN_COPY


def test_russian_legacy_encoding_in_html_is_decoded() -> None:
    page = f"<html><body><p>{RUSSIAN_COPY.splitlines()[0]}</p></body></html>"
    assert read_text_str(page.encode("koi8_r"), "source.html") == RUSSIAN_COPY.splitlines()[0]


def test_other_legacy_encodings_are_refused_not_garbled() -> None:
    with pytest.raises(InputError, match="not UTF-8.*re-save it as UTF-8"):
        read_text_str("東京で会議が開かれた。".encode("shift_jis"), "legacy.txt")


# --- HTML ------------------------------------------------------------------------------------------

ARTICLE_HTML = b"""<!DOCTYPE html>
<html><head><title>Site title</title><style>p { color: red }</style>
<script>var x = "<p>not text</p>";</script></head>
<body>
<h1>Putin: Russia aims to work on a settlement in Syria</h1>
<p>MOSCOW, October 13. Work on the settlement in Syria
should be translated into a more substantive level.</p>
<h2>Moscow raises the level of dialogue</h2>
<div>&#8220;No response yet&#8221;, &ndash; he&nbsp;concluded. AT&amp;T<br>said&nbsp;no.</div>
<ul><li>One</li><li>Two</li></ul>
</body></html>"""


def test_html_becomes_paragraphs_with_headings_on_their_own_line(tmp_path: Path) -> None:
    text = read_text(write(tmp_path, "article.html", ARTICLE_HTML))
    assert text == (
        "Putin: Russia aims to work on a settlement in Syria\n\n"
        "MOSCOW, October 13. Work on the settlement in Syria should be translated into a more substantive level.\n\n"
        "Moscow raises the level of dialogue\n\n"
        "“No response yet”, – he concluded. AT&T\nsaid no.\n\n"
        "One\n\nTwo"
    )


def test_html_is_sniffed_without_an_html_suffix() -> None:
    text = read_text_str(b"<p>First &amp; second.</p><p>Third.</p>", "feed.txt")
    assert text == "First & second.\n\nThird."


def test_html_suffix_without_block_tags_still_decodes_entities() -> None:
    assert read_text_str(b"Tom &amp; Jerry &#8220;said&#8221;", "x.htm") == "Tom & Jerry “said”"


def test_html_without_closing_head_keeps_the_body() -> None:
    assert html_to_text("<html><head><title>T</title><body><p>Body text.</p>") == "Body text."


def test_plain_text_decodes_only_terminated_entities() -> None:
    text = read_text_str(b"AT&amp;T said &#8220;no&#8221;; R&D &notice and x < y.", "plain.txt")
    assert text == "AT&T said “no”; R&D &notice and x < y."


def test_html_with_markup_but_no_text_is_refused() -> None:
    with pytest.raises(InputError, match="HTML markup but no text"):
        read_text_str(b"<html><body><p> </p><script>x()</script></body></html>", "empty.html")


# --- normalisation ---------------------------------------------------------------------------------


def test_crlf_and_cr_become_lf_and_line_structure_is_kept(tmp_path: Path) -> None:
    data = b"Headline\r\n\r\nLine one.\r\nLine two.\rLine three.\r\n"
    assert read_text(write(tmp_path, "a.txt", data)) == "Headline\n\nLine one.\nLine two.\nLine three.\n"


def test_blank_lines_are_kept_for_line_parallel_files() -> None:
    text = read_text_str(b"\n\nfirst\n\n\n\nsecond\n", "lines.txt")
    assert text.split("\n") == ["", "", "first", "", "", "", "second", ""]


def test_odd_whitespace_becomes_a_plain_space() -> None:
    # NBSP, tab, thin space, narrow NBSP, em space, ideographic space
    text = "MOSCOW,\u00a0October\t13.\u2009Putin\u202fsaid\u2003it\u3000twice."
    assert normalise_text(text) == "MOSCOW, October 13. Putin said it twice."
    assert read_text_str(text.encode(), "a.txt") == "MOSCOW, October 13. Putin said it twice."


def test_invisible_characters_are_dropped() -> None:
    # zero-width space, soft hyphen, zero-width joiner, word joiner, stray BOM, left-to-right mark
    text = "Med\u00advedev met\u200b Obama\u200d in\u2060 New\ufeff York\u200e."
    assert read_text_str(text.encode(), "a.txt") == "Medvedev met Obama in New York."


def test_trailing_spaces_and_stray_controls_are_dropped() -> None:
    assert read_text_str(b"Putin said.   \nThen\x1a left. \x07\n", "a.txt") == "Putin said.\nThen left.\n"


def test_unicode_line_and_paragraph_separators() -> None:
    assert normalise_text("one\u2028two\u2029three") == "one\ntwo\n\nthree"


def test_nfc() -> None:
    decomposed = "Cafe\u0301 Zoe\u0308."
    assert read_text_str(decomposed.encode(), "a.txt") == "Café Zoë."
    assert len(read_text_str(decomposed.encode(), "a.txt")) == len("Café Zoë.")


# --- bad input -------------------------------------------------------------------------------------


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document>Putin said.</w:document>")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "is empty"),
        (b" \r\n\t\n  \n", "only whitespace"),
        ("\u00a0\u200b\n\u3000".encode(), "only whitespace"),
        (PNG, "PNG image"),
        (docx_bytes(), r"ZIP archive \(e.g. a .docx Word file\).*save the article as plain text"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"Putin said\x00\x00\x01\x02 hello", "binary file .*NUL"),
        (bytes(range(1, 9)) * 10 + b"some text", "binary file .*control characters"),
    ],
    ids=["empty", "whitespace", "unicode-whitespace", "png", "docx", "pdf", "nul", "controls"],
)
def test_bad_input_is_refused_with_a_one_line_message(tmp_path: Path, data: bytes, expected: str) -> None:
    path = write(tmp_path, "article.txt", data)
    with pytest.raises(InputError, match=expected) as raised:
        read_text(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert ";" in message  # what is wrong; what to do


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file; check the path") as raised:
        read_text(tmp_path / "nope.txt")
    assert "\n" not in str(raised.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory; give the path of one article file"):
        read_text(tmp_path)


def test_a_few_stray_controls_do_not_make_a_file_binary() -> None:
    text = "A long enough article sentence, said Putin. " * 10
    assert read_text_str(text.encode() + b"\x1a", "a.txt") == text.rstrip()


def test_read_text_accepts_str_paths(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", b"Hello.")
    assert read_text(str(path)) == read_text(path) == read_text_str(b"Hello.", "x") == "Hello."
