"""News-aware sentence segmentation with exact character offsets.

`segment` splits an article as a news editor would: the headline, the dateline and sub-heads are
segments of their own, body paragraphs are split into sentences by pysbd with news rules on top
(quotations with attributions stay whole, multi-sentence quotations are split). `segment_lines` takes
pre-split input, one segment per line. Every `Sentence` satisfies `text[start:end] == sentence.text`
for the `text` given (the string `mtcheck.io.read_text` returns).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from itertools import pairwise
from types import SimpleNamespace

from pysbd.between_punctuation import BetweenPunctuation
from pysbd.lang.english import English
from pysbd.processor import Processor

from mtcheck.types import Sentence

SENTENCE_FINAL = ".!?…。！？"
# Chinese and Japanese sentence ends (a source text given with --src), with any closing brackets/quotes:
# pysbd's English rules never break there.
_CJK_SENTENCE_END = re.compile(r"[。！？]+[」』”’）)]*")
# A sub-head is a short line; a longer line without final punctuation is a body sentence missing its stop.
MAX_SUBHEAD_WORDS = 20

_CLOSERS = "\"'”’»›)]"
_DASHES = "-–—"
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x85\u2028\u2029]")
# A line ending in these leads into what follows (`He said:`), it is no sub-head.
_LEAD_IN_ENDINGS = (":", ",", ";") + tuple(_DASHES)

# Datelines: "MOSCOW, October 13.", "WASHINGTON (Reuters) -", "MOSCOW, Oct 13 —", "LONDON, 5 March:",
# "Moscow, Oct. 13, 2015 -", "NEW YORK, Oct 13 (AP) —", "MOSCOW, October 13. /TASS/.".
_MONTH_WORD = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = rf"(?:(?:{_WEEKDAY},?\s+)?(?:{_MONTH_WORD}\.?\s+{_DAY}|{_DAY}\s+{_MONTH_WORD}\.?)(?:,?\s+\d{{4}})?|{_WEEKDAY})"
_CITY_CAPS = r"[A-Z][A-Z.'’\-]+(?:\s+(?:[A-Z][A-Z.'’\-]*|de|da|del|do|la|le))*?"
_CITY_TITLE = r"[A-Z][a-z'’\-]+(?:\s+(?:[A-Z][a-z'’\-]+|de|da|del|do|la|le)){0,3}?"
# ", Calif." / ", Syria" after the city, but not the date itself.
_REGION = rf"(?:,\s+(?!{_MONTH_WORD}\b|{_WEEKDAY}\b)[A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*){{0,2}}?)"
_AGENCY = r"(?:\s*\([A-Z][\w.&’' -]{0,30}\))"
_TASS_AGENCY = r"(?:\s*/[A-Z][\w.&’' -]{0,30}/\.?)"
_TERMINATOR = r"(?:\s*[.:]|\s*[–—]+|\s+-+)"
_DATELINE_WITH_DATE = re.compile(
    rf"(?:{_CITY_CAPS}|{_CITY_TITLE}){_REGION}?{_AGENCY}?,?\s+{_DATE}{_AGENCY}?{_TERMINATOR}{_TASS_AGENCY}?"
    r"(?=\s|$)"
)
_DATELINE_WITH_AGENCY = re.compile(
    rf"{_CITY_CAPS}{_REGION}?(?:{_AGENCY}{_TERMINATOR}|{_TERMINATOR}{_TASS_AGENCY})(?=\s|$)"
)
# "MOSCOW — Text" with neither date nor agency: believed only at the start of the first body paragraph,
# and only with a real dash, so "US - Russia talks began" is not taken for one.
_DATELINE_CITY_ONLY = re.compile(rf"{_CITY_CAPS}{_REGION}?\s*[–—]+(?=\s+[A-Z“\"‘'«]|\s*$)")


class _QuotationSplitting(BetweenPunctuation):
    """pysbd shields all punctuation between quotes, so a quotation of several sentences stays one
    segment. Editors (and human references) split it; shield only brackets, and let
    `_editorial_cut` keep attributions (`"Yes," said Putin.`) with their quotation."""

    def sub_punctuation_between_quotes_and_parens(self, txt: str) -> str:
        return self.sub_punctuation_between_parens(self.sub_punctuation_between_square_brackets(txt))


class _PresentAbbreviations(English.AbbreviationReplacer):
    """pysbd's abbreviation pass, run only over the abbreviations that can change this line.

    pysbd tries each of its ~190 abbreviations on every line, and every word that merely starts like one
    ("no" in "not") costs a regex pass over the whole line, quadratic in its length: two thirds of the
    segmentation time on news paragraphs. Every replacement it makes turns the full stop right after an
    abbreviation into a placeholder, so an abbreviation never followed by "." in the line is skipped
    here. Those with regex characters ("u.s", "e.g") are always tried, since pysbd also matches them
    loosely ("e.g" matches "egg"): the result is the same text, only faster.
    """

    # Each abbreviation with what the line must contain for pysbd to change anything (None: always tried).
    _NEEDS = [
        (abbreviation, None if re.escape(stem) != stem else f"{stem}.")
        for abbreviation in English.Abbreviation.ABBREVIATIONS
        for stem in [abbreviation.strip()]
    ]

    def search_for_abbreviations_in_string(self, text: str) -> str:
        folded = text.casefold()  # at least as loose as the IGNORECASE search pysbd runs
        table = self.lang.Abbreviation
        present = SimpleNamespace(
            ABBREVIATIONS=[
                abbreviation for abbreviation, needs in self._NEEDS if needs is None or needs in folded
            ],
            PREPOSITIVE_ABBREVIATIONS=table.PREPOSITIVE_ABBREVIATIONS,
            NUMBER_ABBREVIATIONS=table.NUMBER_ABBREVIATIONS,
        )
        narrowed = copy.copy(self)
        narrowed.lang = SimpleNamespace(Abbreviation=present)
        return super(_PresentAbbreviations, narrowed).search_for_abbreviations_in_string(text)


class _NewsEnglish(English):
    """pysbd's English with quotation splitting (pysbd looks the classes up on the language)."""

    BetweenPunctuation = _QuotationSplitting
    AbbreviationReplacer = _PresentAbbreviations


def segment(text: str) -> list[Sentence]:
    """Split an article into headline, dateline, sub-head and body sentences.

    Paragraph breaks and line ends are always boundaries. The first non-empty line without
    sentence-final punctuation is the headline; a later paragraph of one short line without it is a
    sub-head; a dateline opening a paragraph is a segment of its own.
    """
    spans: list[tuple[int, int, str]] = []
    seen_first_line = False
    seen_body = False
    for paragraph in _paragraphs(text):
        for line_number, (line_start, line_end) in enumerate(paragraph):
            line = text[line_start:line_end]
            kind = _line_kind(
                line,
                first_in_article=not seen_first_line,
                alone_in_paragraph=len(paragraph) == 1,
                city_only_dateline=not seen_body,
            )
            seen_first_line = True
            if kind != "body":
                spans.append((line_start, line_end, kind))
                continue
            body_start = line_start
            if line_number == 0:
                dateline = _match_dateline(line, city_only_allowed=not seen_body)
                if dateline:
                    spans.append((line_start, line_start + dateline.end(), "dateline"))
                    body_start = line_start + dateline.end()
            seen_body = True
            spans.extend((start, end, "body") for start, end in _split_body(text, body_start, line_end))
    return _sentences(text, spans)


def segment_lines(text: str, keep_empty: bool = False) -> list[Sentence]:
    """One segment per line of pre-split input; `index` is the 0-based line number.

    With keep_empty=False blank lines are skipped (indices keep counting them); with keep_empty=True
    every line is a segment, blank ones as empty text, for line-parallel files. A final line end does
    not start another line. Kinds follow `segment`: headline, a line that is only a dateline, and
    sub-heads (a one-line paragraph between blank lines); everything else is body.
    """
    lines = list(_lines(text))
    blank = [not text[start:end].strip() for start, end in lines]
    sentences: list[Sentence] = []
    seen_first_line = False
    for number, (line_start, line_end) in enumerate(lines):
        start, end = _strip_span(text, line_start, line_end)
        if blank[number]:
            if keep_empty:
                sentences.append(Sentence(number, "", line_start, line_start, "body"))
            continue
        alone = (number == 0 or blank[number - 1]) and (number + 1 == len(lines) or blank[number + 1])
        kind = _line_kind(
            text[start:end],
            first_in_article=not seen_first_line,
            alone_in_paragraph=alone,
            city_only_dateline=False,
        )
        seen_first_line = True
        sentences.append(Sentence(number, text[start:end], start, end, kind))
    return sentences


def has_final_punctuation(line: str) -> bool:
    """True if the line ends a sentence: . ! ? … possibly followed by closing quotes or brackets."""
    stripped = line.rstrip().rstrip(_CLOSERS).rstrip()
    return stripped.endswith(tuple(SENTENCE_FINAL))


def _line_kind(line: str, first_in_article: bool, alone_in_paragraph: bool, city_only_dateline: bool) -> str:
    stripped = line.strip()
    whole_dateline = _match_dateline(stripped, city_only_allowed=city_only_dateline)
    if whole_dateline and whole_dateline.end() == len(stripped):
        return "dateline"
    # Only a dated or credited dateline makes a line body copy: "US - Russia talks" stays a sub-head.
    if _match_dateline(stripped, city_only_allowed=False):
        return "body"
    short_alone = alone_in_paragraph and len(stripped.split()) <= MAX_SUBHEAD_WORDS
    if first_in_article and (not has_final_punctuation(stripped) or (short_alone and _is_question(stripped))):
        return "headline"
    if has_final_punctuation(stripped):
        return "body"
    if short_alone and not stripped.endswith(_LEAD_IN_ENDINGS):
        return "subhead"
    return "body"


def _is_question(line: str) -> bool:
    """Headlines may ask or exclaim ("What next for Syria?"); they never end in a full stop."""
    return line.rstrip(_CLOSERS + " ").endswith(("?", "!"))


def _match_dateline(line: str, city_only_allowed: bool) -> re.Match[str] | None:
    """The dateline opening `line` (leading whitespace included in the match), if any."""
    indent = len(line) - len(line.lstrip())
    patterns = [_DATELINE_WITH_DATE, _DATELINE_WITH_AGENCY]
    if city_only_allowed:
        patterns.append(_DATELINE_CITY_ONLY)
    for pattern in patterns:
        match = pattern.match(line, indent)
        if match:
            return match
    return None


def _split_body(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentence spans of text[start:end] (one line): pysbd's boundaries filtered by `_editorial_cut`."""
    region = text[start:end]
    if not region.strip():
        return
    cuts = [0]
    cjk_ends = {match.end() for match in _CJK_SENTENCE_END.finditer(region)}
    for sentence_end in sorted(set(_pysbd_sentence_ends(region)) | cjk_ends):
        cut = _editorial_cut(region, sentence_end)
        if cut is not None and cut > cuts[-1] and _has_word(region[cuts[-1] : cut]):
            cuts.append(cut)
    if len(cuts) > 1 and not _has_word(region[cuts[-1] :]):
        cuts.pop()  # a trailing `”` or `)` belongs to the last sentence
    cuts.append(len(region))
    for left, right in pairwise(cuts):
        yield start + left, start + right


def _pysbd_sentence_ends(region: str) -> list[int]:
    """Offsets in `region` just after each sentence pysbd finds.

    pysbd breaks after "..." before a capital but never after "…"; MT systems and translators use
    either, so "…" is shown to pysbd as "..." and the offsets mapped back. pysbd's own char_span
    search silently drops a sentence it rewrote; here such a sentence only loses its boundary (it
    merges with the next), so no text is ever lost.
    """
    shown = region.replace("…", "...")
    # region offset of each offset in `shown` (an offset inside an expanded "..." maps past the "…")
    to_region: list[int] = []
    for position, char in enumerate(region):
        to_region.extend([position, position + 1, position + 1] if char == "…" else [position])
    to_region.append(len(region))
    ends: list[int] = []
    cursor = 0
    for sentence in Processor(shown, _NewsEnglish).process():
        piece = sentence.strip()
        found = shown.find(piece, cursor) if piece else -1
        if found >= 0:
            cursor = found + len(piece)
            ends.append(to_region[cursor])
    return ends


def _editorial_cut(region: str, sentence_end: int) -> int | None:
    """Where to cut after a pysbd sentence end, or None where an editor would not break.

    The cut moves past closing quotes (`…a mess.”`). No break before an attribution that goes on in
    lower case (`“Stop!” he shouted.`, `“…effectively.” – he stressed.`, `"…yet.", – he concluded.`);
    a break before a dash that opens a new sentence (`…said Putin. – Thought it could be…”`).
    """
    cut = sentence_end
    while cut < len(region) and region[cut] in _CLOSERS:
        cut += 1
    following = region[cut:].lstrip()
    if not following:
        return None
    if following[0] in _DASHES:
        following = following.lstrip(_DASHES + " ")
        if not following or following[0].islower():
            return None
    elif following[0].islower() or following[0] in ",;:":
        return None
    return cut


def _has_word(piece: str) -> bool:
    return any(char.isalnum() for char in piece)


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, the line break excluded; a final line break ends the last line."""
    start = 0
    for line_break in _LINE_BREAK.finditer(text):
        yield start, line_break.start()
        start = line_break.end()
    if start < len(text):
        yield start, len(text)


def _paragraphs(text: str) -> Iterator[list[tuple[int, int]]]:
    """Runs of non-blank lines."""
    paragraph: list[tuple[int, int]] = []
    for start, end in _lines(text):
        if text[start:end].strip():
            paragraph.append((start, end))
        elif paragraph:
            yield paragraph
            paragraph = []
    if paragraph:
        yield paragraph


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sentences(text: str, spans: list[tuple[int, int, str]]) -> list[Sentence]:
    sentences: list[Sentence] = []
    for raw_start, raw_end, kind in spans:
        start, end = _strip_span(text, raw_start, raw_end)
        if start < end:
            sentences.append(Sentence(len(sentences), text[start:end], start, end, kind))
    return sentences
