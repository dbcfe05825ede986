"""Reading article files the way wire copy really arrives.

`read_text` / `read_text_str` decode bytes (BOM, UTF-8, Windows-1252, Latin-1, and the Cyrillic
Windows-1251 and KOI8-R), turn HTML into plain
text with paragraph breaks, and normalise whitespace and invisible characters. Every offset downstream
(`Sentence.start`/`end`) indexes the string they return, so the normalisation happens here, once.
Anything that is not an article (missing, empty, binary, undecodable) raises `InputError` with a
one-line message that says what is wrong and what to do.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from mtcheck.types import InputError

# Longest match first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BYTE_ORDER_MARKS: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)

# Files people drop in by mistake, recognised by their first bytes, with what to do about them.
_KNOWN_BINARY: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG", "a PNG image", "give the article as a .txt or .html file"),
    (b"\xff\xd8\xff", "a JPEG image", "give the article as a .txt or .html file"),
    (b"GIF8", "a GIF image", "give the article as a .txt or .html file"),
    (b"%PDF", "a PDF document", "copy its text into a .txt file (UTF-8)"),
    (b"PK\x03\x04", "a ZIP archive (e.g. a .docx Word file)", "save the article as plain text (.txt, UTF-8)"),
    (
        b"\xd0\xcf\x11\xe0",
        "an old Microsoft Office (.doc) file",
        "save the article as plain text (.txt, UTF-8)",
    ),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first"),
    (b"{\\rtf", "an RTF document", "save the article as plain text (.txt, UTF-8)"),
)

# More than this share of control characters (besides tab and line breaks) means not text.
_MAX_CONTROL_SHARE = 0.01
# Text decoded as Windows-1252 where more than this share of the visible characters is non-ASCII is
# almost surely another legacy encoding (Windows-1251, KOI8-R, Shift-JIS, ...): detect it or refuse.
_MAX_LEGACY_NON_ASCII_SHARE = 0.3
# The legacy encodings such text is tried in (archives of Russian copy and sources).
_LEGACY_CYRILLIC = ("cp1251", "koi8_r")

_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\u2028]")
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_ODD_WHITESPACE = re.compile(r"[^\S\n]")  # any whitespace but the line break: tab, NBSP, thin space, ...
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# Control characters that plain text does not have (tab, line and page breaks are fine); counted after
# C1 characters are restored to Windows-1252, so of U+0080..U+009F only 1252's five undefined ones count.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\x80-\x84\x86-\x9f]")
_C1 = re.compile("[\x80-\x9f]")
# surrogateescape turns each undecodable byte b into the lone surrogate U+DC00+b.
_STRAY_BYTE = re.compile("[\udc80-\udcff]")
_TRAILING_SPACE = re.compile(r" +$", re.MULTILINE)
# Entities that leak into plain-text feeds; the trailing ';' is required so "&notice" stays as it is.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML_SNIFF = re.compile(
    r"<(?:!doctype\s+html|html|head|body|p|br|div|h[1-6]|ul|ol|li|table|article|section|span|em|strong|b|i)"
    r"\b[^<>]*>|</(?:html|body|p|div|h[1-6]|li|span|em|strong|b|i|a)\s*>",
    re.IGNORECASE,
)
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def read_text(path: str | Path) -> str:
    """Read one article file and return its normalised plain text (see `read_text_str`)."""
    file = Path(path)
    label = _one_line(str(path))
    if not file.exists():
        raise InputError(f"{label}: no such file; check the path.")
    if file.is_dir():
        raise InputError(f"{label}: is a directory; give the path of one article file (.txt or .html).")
    try:
        data = file.read_bytes()
    except PermissionError:
        raise InputError(f"{label}: permission denied; make the file readable and try again.") from None
    except OSError as error:
        raise InputError(f"{label}: cannot be read ({error.strerror}); check the file.") from None
    return read_text_str(data, str(path))


def read_text_str(data: bytes, name: str) -> str:
    """Decode and normalise the bytes of one article; `name` is used in messages and to spot HTML.

    Decoding: a byte-order mark (UTF-8, UTF-16, UTF-32) wins; otherwise UTF-8, then Windows-1252, with
    Latin-1 for the five bytes Windows-1252 leaves undefined; bytes that read as mostly non-Latin
    letters in 1252 are Windows-1251 or KOI8-R, as charset-normalizer judges, or refused. A mostly-UTF-8 file with a few stray
    Windows-1252 bytes (pasted copy) keeps its UTF-8 and has only the stray bytes read as 1252.
    HTML becomes plain text: block elements are separated by a blank line, <br> is a line end.
    Then: C1 controls (Windows-1252 curly quotes and dashes after a Latin-1 round trip) restored;
    line ends to "\\n"; tabs, NBSP and other odd spaces to " "; zero-width characters, soft
    hyphens and control characters dropped; trailing spaces of lines dropped; NFC. The line count of
    plain text is kept, so line-parallel files stay parallel.
    """
    label = _one_line(name)
    if not data:
        raise InputError(f"{label}: the file is empty; give a file that contains the article text.")
    for magic, what, remedy in _KNOWN_BINARY:
        if data.startswith(magic):
            raise InputError(f"{label}: looks like {what}, not text; {remedy}.")
    text = _restore_c1(_decode(data, label))
    _refuse_control_heavy(text, label)
    text = _LINE_BREAKS.sub("\n", text).replace("\u2029", "\n\n")
    if name.lower().endswith(_HTML_SUFFIXES) or _HTML_SNIFF.search(text):
        text = html_to_text(text)
        if not text.strip():
            raise InputError(f"{label}: contains HTML markup but no text; give the article text.")
    else:
        text = _ENTITY.sub(lambda match: html.unescape(match.group()), text)
    text = normalise_text(text)
    if not text.strip():
        raise InputError(f"{label}: contains only whitespace; give a file that contains the article text.")
    return text


def normalise_text(text: str) -> str:
    """Normalise decoded text without changing its line structure (see `read_text_str`)."""
    text = _LINE_BREAKS.sub("\n", _restore_c1(text)).replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = _ODD_WHITESPACE.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return _TRAILING_SPACE.sub("", text)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML document or fragment: blocks and headings become paragraphs."""
    parser = _HtmlToText()
    parser.feed(markup)
    parser.close()
    return parser.text()


class _HtmlToText(HTMLParser):
    """Collects text, turning block structure into blank lines as a browser would lay it out."""

    _BLOCKS = frozenset(
        [
            "p",
            "div",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "li",
            "ul",
            "ol",
            "dl",
            "dt",
            "dd",
            "blockquote",
            "pre",
            "table",
            "tr",
            "thead",
            "tbody",
            "tfoot",
            "caption",
            "article",
            "section",
            "header",
            "footer",
            "aside",
            "nav",
            "main",
            "figure",
            "figcaption",
            "address",
            "hr",
            "form",
            "fieldset",
        ]
    )
    _HIDDEN = frozenset(["head", "title", "script", "style", "template", "noscript"])
    _PARAGRAPH_BREAK = "\n\n"

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # a missing </head> must not hide the whole article
            self._hidden_depth = 0
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag == "br":
            self._parts.append("\n")
        elif tag in self._BLOCKS:
            self._parts.append(self._PARAGRAPH_BREAK)
            if tag == "pre":
                self._pre_depth += 1
        elif tag in ("td", "th"):
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCKS:
            self._parts.append(self._PARAGRAPH_BREAK)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        # Outside <pre>, HTML whitespace (line ends included) is one space.
        self._parts.append(data if self._pre_depth else re.sub(r"[ \t\n\r\f]+", " ", data))

    def text(self) -> str:
        text = "".join(self._parts)
        text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip("\n ")


def _decode(data: bytes, label: str) -> str:
    for mark, codec, family in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data[len(mark) :].decode(codec)
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{label}: starts with a {family} byte-order mark but is not valid {family} "
                    f"(bad bytes at offset {error.start + len(mark)}); re-save it as UTF-8."
                ) from None
            return text
    if b"\x00" in data:
        text = _decode_bomless_utf16(data)
        if text is None:
            raise InputError(
                f"{label}: looks like a binary file (it contains NUL bytes), not text; "
                "give the article as plain text (UTF-8) or HTML."
            )
        return text
    return _decode_utf8_or_1252(data, label)


def _decode_utf8_or_1252(data: bytes, label: str) -> str:
    """UTF-8, else Windows-1252 (Latin-1 for its undefined bytes); a few stray bytes in UTF-8 are 1252."""
    as_utf8 = data.decode("utf-8", errors="surrogateescape")
    stray_bytes = len(_STRAY_BYTE.findall(as_utf8))
    if not stray_bytes:
        return as_utf8
    utf8_chars = sum(1 for char in as_utf8 if char > "\x7f" and not "\udc80" <= char <= "\udcff")
    if utf8_chars > stray_bytes:
        return _STRAY_BYTE.sub(lambda match: _byte_as_1252(ord(match.group()) - 0xDC00), as_utf8)
    text = _latin1_for_escapes(data.decode("cp1252", errors="surrogateescape"))
    visible = [char for char in text if not char.isspace()]
    non_ascii = sum(1 for char in visible if char > "\x7f")
    if visible and non_ascii / len(visible) > _MAX_LEGACY_NON_ASCII_SHARE:
        return _decode_cyrillic(data, label)
    return text


def _decode_cyrillic(data: bytes, label: str) -> str:
    """Russian copy from old archives: Windows-1251 or KOI8-R, told apart by charset-normalizer (which
    scores each reading for mess and language coherence); anything else is refused, not garbled."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_LEGACY_CYRILLIC)).best()
    if best is None:
        raise InputError(
            f"{label}: is not UTF-8 and reads as none of Windows-1252, Windows-1251 or KOI8-R (another "
            "legacy encoding such as Shift-JIS?); re-save it as UTF-8."
        )
    return str(best)


def _restore_c1(text: str) -> str:
    """U+0080..U+009F in decoded text are Windows-1252 punctuation (curly quotes, dashes) that went
    through a Latin-1 round trip; restore them. The five bytes 1252 leaves undefined stay controls."""
    return _C1.sub(lambda match: _byte_as_1252(ord(match.group())), text)


def _byte_as_1252(byte: int) -> str:
    return _latin1_for_escapes(bytes([byte]).decode("cp1252", errors="surrogateescape"))


def _latin1_for_escapes(text: str) -> str:
    """Bytes Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) read as Latin-1, as browsers do."""
    return _STRAY_BYTE.sub(lambda match: chr(ord(match.group()) - 0xDC00), text)


def _decode_bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark (mostly-ASCII text has a NUL in every other byte), else None."""
    if len(data) < 4 or len(data) % 2:
        return None
    half = len(data) // 2
    even_nuls, odd_nuls = data[0::2].count(0), data[1::2].count(0)
    if odd_nuls > 0.6 * half and even_nuls < 0.05 * half:
        codec = "utf-16-le"
    elif even_nuls > 0.6 * half and odd_nuls < 0.05 * half:
        codec = "utf-16-be"
    else:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _refuse_control_heavy(text: str, label: str) -> None:
    controls = len(_BINARY_CONTROL.findall(text))
    if controls >= 3 and controls > _MAX_CONTROL_SHARE * len(text):
        raise InputError(
            f"{label}: looks like a binary file ({controls} control characters), not text; "
            "give the article as plain text (UTF-8) or HTML."
        )


def _one_line(name: str) -> str:
    return re.sub(r"[\r\n]+", " ", name) or "<input>"
