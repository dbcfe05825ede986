"""mtcheck.segment: news-aware sentence splitting, pinned on sentences of the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtcheck.io import read_text
from mtcheck.segment import has_final_punctuation, segment, segment_lines
from mtcheck.types import Sentence

# The seed article, bundled unedited as the corpus MT.
SEED = Path(__file__).parent.parent / "corpora" / "putin_syria.mt.txt"

HEADLINE = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"


def texts(text: str) -> list[str]:
    return [sentence.text for sentence in segment(text)]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(sentence.kind, sentence.text) for sentence in segment(text)]


def assert_well_formed(article: str, sentences: list[Sentence]) -> None:
    """Offsets index the article, segments are in order, trimmed, and no visible text is lost."""
    previous_end = 0
    for index, sentence in enumerate(sentences):
        assert sentence.index == index
        assert sentence.text == article[sentence.start : sentence.end]
        assert sentence.text == sentence.text.strip() and sentence.text
        assert sentence.start >= previous_end
        assert sentence.kind in {"headline", "dateline", "subhead", "body"}
        previous_end = sentence.end
    visible = "".join(article.split())
    assert "".join("".join(s.text.split()) for s in sentences) == visible


# --- the seed article ------------------------------------------------------------------------------


def test_seed_article_segments_like_an_editor() -> None:
    article = read_text(SEED)
    sentences = segment(article)
    # `pytest -s -k seed_article` shows the segmentation for eyeballing.
    print("\n".join(f"{s.index:3d} {s.kind:8s} {s.text}" for s in sentences))
    assert_well_formed(article, sentences)
    assert (sentences[0].kind, sentences[0].text) == ("headline", HEADLINE)
    assert (sentences[1].kind, sentences[1].text) == ("dateline", "MOSCOW, October 13.")
    assert sentences[2].text.startswith("Work on the settlement in Syria should be translated")
    assert [s.text for s in sentences if s.kind == "subhead"] == [
        "Moscow raises the level of dialogue",
        "From contacts military – to the political process",
        "Russia is fighting against terrorists, not the leadership in Syria",
    ]
    assert [s.kind for s in sentences].count("headline") == 1
    assert [s.kind for s in sentences].count("dateline") == 1
    # 33 body sentences: every ". ! ?" sentence of the seed, quotations split, attributions kept whole.
    assert len(sentences) == 38
    assert sentences[-1].text.startswith("Moreover, as Putin said")
    assert sentences[-1].text.endswith("in this country.")


def test_seed_article_dateline_and_reference_dateline_align() -> None:
    mt = "Headline\n\nMOSCOW, October 13. Work on the settlement in Syria should be translated."
    reference = "Other headline\n\nMoscow, 13 October. The work on Syrian settlement must be moved."
    for text in (mt, reference):
        assert [s.kind for s in segment(text)] == ["headline", "dateline", "body"]


# --- headline, sub-heads, paragraphs ---------------------------------------------------------------


def test_headline_with_a_colon_is_one_segment() -> None:
    assert kinds(f"{HEADLINE}\n\nMOSCOW, October 13. Putin spoke.")[0] == ("headline", HEADLINE)


def test_headline_with_inner_full_stop_is_still_one_segment() -> None:
    assert kinds("Putin: Russia is ready. The U.S. is not\n\nBody.") == [
        ("headline", "Putin: Russia is ready. The U.S. is not"),
        ("body", "Body."),
    ]


def test_first_line_with_a_full_stop_is_body_not_headline() -> None:
    assert kinds("Putin spoke at the forum.\n\nMoscow raises the level of dialogue") == [
        ("body", "Putin spoke at the forum."),
        ("subhead", "Moscow raises the level of dialogue"),
    ]


def test_question_headline() -> None:
    assert kinds("What next for Syria?\n\nPutin spoke.")[0] == ("headline", "What next for Syria?")


def test_subheads_are_short_one_line_paragraphs_without_final_punctuation() -> None:
    text = (
        "Headline\n\n"
        "Moscow raises the level of dialogue\n\n"
        "Putin said so.\n\n"
        "He said:\n\n"  # a lead-in, not a sub-head
        + " ".join(["word"] * 25)  # too long for a sub-head: a body sentence that lost its stop
        + "\n\nLine one without stop\nLine two."  # not alone in its paragraph
    )
    assert [kind for kind, _ in kinds(text)] == [
        "headline",
        "subhead",
        "body",
        "body",
        "body",
        "body",
        "body",
    ]


def test_paragraph_breaks_and_line_ends_are_boundaries() -> None:
    text = "Headline\n\nThe delegation could be headed by\nDmitry Anatolyevich Medvedev.\n\n\n\nPutin said"
    assert texts(text) == [
        "Headline",
        "The delegation could be headed by",
        "Dmitry Anatolyevich Medvedev.",
        "Putin said",
    ]


def test_crlf_input_and_surrounding_whitespace() -> None:
    text = "  Headline  \r\n\r\n\tMOSCOW, October 13.  Putin spoke. \r\n"
    sentences = segment(text)
    assert [(s.kind, s.text) for s in sentences] == [
        ("headline", "Headline"),
        ("dateline", "MOSCOW, October 13."),
        ("body", "Putin spoke."),
    ]
    assert_well_formed(text, sentences)


def test_empty_and_blank_text() -> None:
    assert segment("") == []
    assert segment(" \n\n \n") == []


# --- datelines -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dateline",
    [
        "MOSCOW, October 13.",
        "WASHINGTON (Reuters) -",
        "MOSCOW, Oct 13 —",
        "LONDON, 5 March:",
        "Moscow, 13 October.",
        "Moscow, Oct. 13, 2015 -",
        "NEW YORK, Oct 13 (AP) —",
        "ST. PETERSBURG, June 1 –",
        "SAN FRANCISCO, Calif. (Reuters) -",
        "MOSCOW, October 13. /TASS/.",
        "MOSCOW —",
    ],
)
def test_dateline_is_its_own_segment(dateline: str) -> None:
    body = "Work on the settlement in Syria should be translated into a more substantive level."
    text = f"{HEADLINE}\n\n{dateline} {body} Russia is ready."
    assert kinds(text) == [
        ("headline", HEADLINE),
        ("dateline", dateline),
        ("body", body),
        ("body", "Russia is ready."),
    ]


def test_dateline_alone_on_its_line() -> None:
    assert kinds("Headline\n\nMOSCOW, October 13.\n\nPutin spoke.") == [
        ("headline", "Headline"),
        ("dateline", "MOSCOW, October 13."),
        ("body", "Putin spoke."),
    ]


def test_dated_dateline_is_found_in_any_paragraph() -> None:
    assert kinds("Headline\n\nFirst story.\n\nLONDON, 5 March: Second story.")[2:] == [
        ("dateline", "LONDON, 5 March:"),
        ("body", "Second story."),
    ]


@pytest.mark.parametrize(
    "paragraph",
    [
        "US - Russia talks began today.",  # hyphen after an acronym: no city-only dateline
        "In Moscow, October 13 was a cold day.",
        "Putin, in particular, said that earlier he had informed the USA.",
    ],
)
def test_no_false_dateline(paragraph: str) -> None:
    assert kinds(f"Headline\n\n{paragraph}") == [("headline", "Headline"), ("body", paragraph)]


def test_city_only_dateline_only_opens_the_first_body_paragraph() -> None:
    text = "Headline\n\nFirst paragraph.\n\nNATO — The alliance said no."
    assert kinds(text)[2] == ("body", "NATO — The alliance said no.")


# --- what must not split ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Russia is ready for such work, but partners in the U.S. do not yet meet.",
        "Putin recalled his meeting of 28 September in new York with U.S. President Barack Obama.",
        "The U.N. envoy met Dr. Smith and Mr. Jones on Oct. 5 at No. 10 Downing St. in London.",
        "Gen. Valery Gerasimov and Lt. Gen. Sergei Rudskoi arrived on Jan. 7 with Sen. John McCain.",
        "J. K. Rowling met Chairman of RF government Dmitry A. Medvedev in St. Petersburg.",
        "Growth slowed to 3.5 percent, or $1.2 billion, in version 2.0.1 of the plan.",
        "The meeting is at 5 p.m. in Washington, D.C. on Monday.",
        "He paused... and then went on about the settlement.",
        "The problem is… the military departments.",
        "“We need to transfer this work to a serious level, on subject, if we are to work effectively”, – he stressed.",
        "“No response yet”, – he concluded.",
        '"Yes," said Putin.',
        "“We need to do this,” – he stressed.",
        "“We see the commitment of our partners to work together”, – noted the President of the Russian Federation.",
        "“Stop!” he shouted.",
        '"We will win." he said.',
        "– We are ready, – said Putin.",
        "It seems (the settlement of the Syrian crisis. All of it) concerns us all.",
        "This was stated by the President Vladimir Putin, speaking at the forum VTB “Russia calling!”",
    ],
)
def test_one_sentence(sentence: str) -> None:
    assert texts(f"Headline\n\n{sentence}")[1:] == [sentence]


# --- what must split -------------------------------------------------------------------------------


def test_sentence_after_abbreviation_at_end_of_sentence() -> None:
    assert texts("Headline\n\nHe lives in the U.S. He works there.")[1:] == [
        "He lives in the U.S.",
        "He works there.",
    ]


def test_quotation_with_full_stop_then_attribution_dash_splits_at_the_stop() -> None:
    # An editor (and the human reference) makes this two sentences: `…,” said Putin. “Thought it could be…”`
    paragraph = (
        "“I said that he would be willing to send a large delegation to Washington to discuss, primarily, "
        "issues of the Syrian settlement, said Putin. – Thought it could be a serious representative "
        "delegation from Russia headed by Chairman of RF government Dmitry Anatolyevich Medvedev.”"
    )
    assert texts(f"Headline\n\n{paragraph}")[1:] == [
        "“I said that he would be willing to send a large delegation to Washington to discuss, primarily, "
        "issues of the Syrian settlement, said Putin.",
        "– Thought it could be a serious representative delegation from Russia headed by Chairman of RF "
        "government Dmitry Anatolyevich Medvedev.”",
    ]


def test_multi_sentence_quotation_is_split_into_its_sentences() -> None:
    paragraph = (
        "“We asked: give us the goals that you believe one hundred percent terrorist, no, we were not ready – "
        "was the answer. We thought and asked another question: then, what we need to beat? Also no reply. "
        "This is not a joke, I don’t think they are,” said Putin. “We recently invited the Americans: give us "
        "objects that don’t need to beat – also no response. It seems to me that some of our partners just a "
        "mess,” said Putin."
    )
    assert texts(f"Headline\n\n{paragraph}")[1:] == [
        "“We asked: give us the goals that you believe one hundred percent terrorist, no, we were not ready – "
        "was the answer.",
        "We thought and asked another question: then, what we need to beat?",
        "Also no reply.",
        "This is not a joke, I don’t think they are,” said Putin.",
        "“We recently invited the Americans: give us objects that don’t need to beat – also no response.",
        "It seems to me that some of our partners just a mess,” said Putin.",
    ]


def test_unclosed_quotation_splits_at_the_attribution() -> None:
    paragraph = (
        "“Yes, there’s a lot of mutual suspicion and mutual claims, but if not work if not look for solutions, "
        "they will never be found, – concluded Putin. We hope very much that we will be able to move exactly "
        "along the path of resolving political issues."
    )
    assert len(texts(f"Headline\n\n{paragraph}")[1:]) == 2


@pytest.mark.parametrize(
    "text, expected",
    [
        ('He called it "a mess." Then he left.', ['He called it "a mess."', "Then he left."]),
        (
            "‘We will win,’ he said. ‘Sure.’ Then he left.",
            ["‘We will win,’ he said.", "‘Sure.’", "Then he left."],
        ),
        ("But I think this is not enough”. The end.", ["But I think this is not enough”.", "The end."]),
        ("– We are ready, – said Putin. – Let us go.", ["– We are ready, – said Putin.", "– Let us go."]),
    ],
)
def test_closing_quotes_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert texts(f"Headline\n\n{text}")[1:] == expected


def test_ascii_and_unicode_ellipsis_split_alike() -> None:
    for ellipsis in ("...", "…"):
        assert texts(f"Headline\n\nThen he left{ellipsis} The end.")[1:] == [
            f"Then he left{ellipsis}",
            "The end.",
        ]


# --- offsets on real input -------------------------------------------------------------------------


def test_offsets_index_the_text_read_text_returns(tmp_path: Path) -> None:
    # cp1252 bytes with CRLF, NBSP and a soft hyphen: offsets must index the normalised string.
    raw = (
        "Putin: Russia aims to work\r\n\r\nMOSCOW,\xa0October 13. “No response yet”, – he con\xadcluded. "
        "Partners in the U.S. do not yet meet.\r\n"
    ).encode("cp1252")
    assert b"\x93No response yet\x94, \x96 he con\xadcluded" in raw
    path = tmp_path / "mt.txt"
    path.write_bytes(raw)
    article = read_text(path)
    sentences = segment(article)
    assert_well_formed(article, sentences)
    assert [s.text for s in sentences] == [
        "Putin: Russia aims to work",
        "MOSCOW, October 13.",
        "“No response yet”, – he concluded.",
        "Partners in the U.S. do not yet meet.",
    ]


def test_seed_paragraphs_round_trip_offsets() -> None:
    article = SEED.read_text(encoding="utf-8")
    # Shuffle the layout: extra blank lines, indentation, CRLF; every sentence still indexes the text.
    messy = "\n\n\n".join("   " + paragraph for paragraph in article.split("\n\n")).replace("\n", "\r\n")
    assert_well_formed(messy, segment(messy))
    assert len(segment(messy)) == len(segment(article))


# --- segment_lines ---------------------------------------------------------------------------------


def test_segment_lines_skips_blanks_but_keeps_line_numbers() -> None:
    text = f"{HEADLINE}\n\nMOSCOW, October 13.\n  Putin spoke. Then left.  \n\nMoscow raises the level of dialogue\n"
    sentences = segment_lines(text)
    assert [(s.index, s.kind, s.text) for s in sentences] == [
        (0, "headline", HEADLINE),
        (2, "dateline", "MOSCOW, October 13."),
        (3, "body", "Putin spoke. Then left."),
        (5, "subhead", "Moscow raises the level of dialogue"),
    ]
    assert_offsets_only(text, sentences)


def test_segment_lines_keep_empty_gives_every_line() -> None:
    text = "One.\n\n  \nFour.\n"
    sentences = segment_lines(text, keep_empty=True)
    assert [(s.index, s.text) for s in sentences] == [(0, "One."), (1, ""), (2, ""), (3, "Four.")]
    assert_offsets_only(text, sentences)
    assert segment_lines("One.\nTwo.", keep_empty=True)[-1].text == "Two."  # no final line end needed


def test_segment_lines_empty_input() -> None:
    assert segment_lines("") == []
    assert segment_lines("\n\n") == []
    assert len(segment_lines("\n\n", keep_empty=True)) == 2


def assert_offsets_only(text: str, sentences: list[Sentence]) -> None:
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text


def test_has_final_punctuation() -> None:
    assert has_final_punctuation("This was stated at the forum VTB “Russia calling!”")
    assert has_final_punctuation("But I think this is not enough”.")
    assert has_final_punctuation("Then he left…")
    assert not has_final_punctuation(HEADLINE)
    assert not has_final_punctuation("He said:")


def test_chinese_source_text_splits_at_full_width_stops() -> None:
    # A source text given with --src may be Chinese: 。！？ end sentences there, and offsets stay exact.
    text = "俄罗斯准备开展这项工作。但美国伙伴尚未回应！他说：“我们会等待。”下一步怎么办？"
    sentences = segment(text)
    assert [s.text for s in sentences] == [
        "俄罗斯准备开展这项工作。",
        "但美国伙伴尚未回应！",
        "他说：“我们会等待。”",
        "下一步怎么办？",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


ABBREVIATION_HEAVY = (
    "Dr. Smith met Gen. Ivanov at 5 p.m. on Jan. 5 in St. Petersburg, i.e. in Russia, e.g. at No. 10 Nevsky "
    "Prospekt. He bought an egg. and then art. 12 of the Constitution, pp. 4-5, was read. The U.S. Army "
    "said no. Not now, said Mr. Brown of Acme Inc. He left. Prof. J. R. R. Tolkien, Ph.D. in philology, "
    "wrote it. Sen. Warren asked about fig. 3 and vol. 2. Also no. 7 (the seventh). Capt. Nemo agreed."
)


@pytest.mark.parametrize(
    "text",
    [
        ABBREVIATION_HEAVY,
        " ".join([ABBREVIATION_HEAVY] * 3),
        read_text(SEED.parent / "putin_syria.mt.txt"),
        read_text(SEED.parent / "putin_syria.ref.txt"),
        read_text(SEED.parent / "putin_syria.retrans.txt"),
    ],
)
def test_narrowed_abbreviation_pass_splits_as_pysbd_does(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping the abbreviations a line never follows with "." only saves time: pysbd's own pass over
    every abbreviation gives the same segments, loose matches such as "e.g" on "egg." included."""
    from pysbd.lang.english import English

    import mtcheck.segment as segmentation

    narrowed = segment(text)
    monkeypatch.setattr(segmentation._NewsEnglish, "AbbreviationReplacer", English.AbbreviationReplacer)
    assert segment(text) == narrowed
    assert len(narrowed) > 3
