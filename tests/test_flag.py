"""Flag stage: each detector on seed-like sentences, negative cases, offsets, verdict rule.

Strings come from the seed article (corpora/putin_syria.mt.txt) and its reference, inlined so the
tests need neither /work/shared nor a model. Scores are hand-built `UnitScores`.
"""

from __future__ import annotations

import pytest

from mtcheck.detectors.base import words_of
from mtcheck.detectors.garble import FEATURES as GARBLE_FEATURES
from mtcheck.detectors.garble import GarbleDetector
from mtcheck.detectors.numbers import quantities
from mtcheck.flag import DEFAULT_THRESHOLDS, Flagger
from mtcheck.types import SEVERITIES, VERDICTS, Flag, TokenSpan, UnitScores

HEADLINE_MT = "Putin: Russia aims to work on a settlement in Syria, the leaders don’t have"
HEADLINE_REF = "Putin: Russia not seeking leadership in Syria, aims to work on settlement"
OBAMA_MT = (
    "Putin recalled his meeting of 28 September in new York with U.S. President Barack Obama. "
    "According to him, the conversation was very Frank."
)
OBAMA_REF = (
    "Putin recalled his Sept. 28 meeting with U.S. President Barack Obama in New York, "
    "saying the conversation had been very frank."
)
SALAD_MT = (
    "If we want to be effective, do not just want to shoot and rocket attacks to inflict, "
    "and to achieve a political settlement, we should encourage those forces."
)
SALAD_REF = (
    "If we want to be effective, if we do not just want to shoot and deliver missile strikes but want "
    "to achieve a political settlement, we need to encourage the various forces inside Syria."
)
CLEAN = "Russia is ready for such work, President Vladimir Putin said."


@pytest.fixture(scope="module")
def flagger() -> Flagger:
    """The hand-set defaults, all given explicitly so fitted thresholds cannot move these tests."""
    return Flagger(dict(DEFAULT_THRESHOLDS))


def by_detector(flags: list[Flag], name: str) -> list[Flag]:
    return [f for f in flags if f.detector == name]


def assert_offsets(mt: str, flags: list[Flag]) -> None:
    for f in flags:
        assert mt[f.start : f.end] == f.text, f
        assert f.severity in SEVERITIES
        assert f.reason and f.category.count("/") == 1


def surprisal(text: str, hot_words: dict[str, float], base: float = 2.0) -> list[TokenSpan]:
    """One token per word; words in `hot_words` get their surprisal, the rest `base` bits."""
    from mtcheck.detectors.base import words_of

    return [TokenSpan(w.start, w.end, w.text, hot_words.get(w.text, base)) for w in words_of(text)]


def spans(text: str, words: dict[str, float]) -> list[TokenSpan]:
    """Token spans of the given words (first occurrence each) with their values."""
    from mtcheck.detectors.base import words_of

    return [TokenSpan(w.start, w.end, w.text, words[w.text]) for w in words_of(text) if w.text in words]


# -- truncation ---------------------------------------------------------------------------------------
def test_truncated_headline_is_major(flagger: Flagger) -> None:
    scores = UnitScores(features={"eos_bits": 6.6})
    flags = flagger.flag(HEADLINE_MT, HEADLINE_REF, scores, kind="headline")
    trunc = by_detector(flags, "truncation")
    assert len(trunc) == 1
    assert trunc[0].severity == "major" and trunc[0].category == "fluency/truncation"
    assert trunc[0].text.endswith("don’t have") and "'have'" in trunc[0].reason
    assert_offsets(HEADLINE_MT, flags)


@pytest.mark.parametrize(
    "mt",
    [
        "Putin said the talks would focus on the",
        "The delegation will include representatives of",
    ],
)
def test_truncation_on_determiner_or_of_without_lm(flagger: Flagger, mt: str) -> None:
    flags = by_detector(flagger.flag(mt, "", UnitScores()), "truncation")
    assert [f.severity for f in flags] == ["major"]


def test_complete_headline_and_ellipsis_not_truncated(flagger: Flagger) -> None:
    for mt, kind in [
        ("Moscow raises the level of dialogue", "subhead"),
        ("Russia is fighting against terrorists, not the leadership in Syria", "headline"),
        ("We will work with them, as we always have.", "body"),
        (CLEAN, "body"),
    ]:
        assert not by_detector(
            flagger.flag(mt, "", UnitScores(features={"eos_bits": 2.0}), kind=kind), "truncation"
        )


# -- word salad -----------------------------------------------------------------------------------------
def test_word_salad_merges_hot_words_into_one_span(flagger: Flagger) -> None:
    hot = {"shoot": 9.0, "and": 4.0, "rocket": 15.0, "attacks": 13.0, "to": 7.0, "inflict": 18.0}
    scores = UnitScores(mt_surprisal=surprisal(SALAD_MT, hot))
    salad = by_detector(flagger.flag(SALAD_MT, SALAD_REF, scores), "word_salad")
    assert len(salad) == 1
    assert salad[0].text == "rocket attacks to inflict"
    assert salad[0].severity == "major"
    assert_offsets(SALAD_MT, salad)


def test_names_in_reference_do_not_make_word_salad(flagger: Flagger) -> None:
    mt = "Putin recalled his meeting with U.S. President Barack Obama in New York."
    hot = {"Barack": 16.0, "Obama": 14.0}
    scores = UnitScores(mt_surprisal=surprisal(mt, hot))
    assert not by_detector(flagger.flag(mt, OBAMA_REF, scores), "word_salad")
    # The same surprisal on ordinary words is flagged.
    mt2 = "Putin recalled his meeting with U.S. President barely orange in New York."
    scores2 = UnitScores(mt_surprisal=surprisal(mt2, {"barely": 16.0, "orange": 14.0}))
    assert by_detector(flagger.flag(mt2, OBAMA_REF, scores2), "word_salad")


# -- mismatch / omission ---------------------------------------------------------------------------------
def test_mismatch_names_the_reference_words(flagger: Flagger) -> None:
    scores = UnitScores(
        mt_unmatched=spans(SALAD_MT, {"rocket": 0.30, "attacks": 0.35, "inflict": 0.20}),
        ref_unmatched=spans(SALAD_REF, {"deliver": 0.3, "missile": 0.35, "strikes": 0.3}),
    )
    flags = by_detector(flagger.flag(SALAD_MT, SALAD_REF, scores), "mismatch")
    assert [f.text for f in flags] == ["rocket attacks to inflict"]
    assert flags[0].category == "accuracy/mistranslation"
    assert "deliver missile strikes" in flags[0].reason


def test_omission_anchored_next_to_the_gap(flagger: Flagger) -> None:
    mt = "The Russian leader said Moscow is not seeking some kind of leadership."
    ref = "The Russian leader said Moscow is not seeking leadership in Syria, he said."
    scores = UnitScores(ref_unmatched=spans(ref, {"Syria": 0.2}))
    flags = by_detector(flagger.flag(mt, ref, scores), "omission")
    assert len(flags) == 1
    f = flags[0]
    assert f.category == "accuracy/omission" and "'Syria'" in f.reason
    assert f.text == "leadership" and "marked at 'leadership'" in f.reason
    assert_offsets(mt, flags)


def test_well_matched_unit_has_no_alignment_flags(flagger: Flagger) -> None:
    scores = UnitScores(mt_unmatched=spans(CLEAN, {"such": 0.7}), ref_unmatched=[])
    flags = flagger.flag(CLEAN, CLEAN, scores)
    assert not by_detector(flags, "mismatch") and not by_detector(flags, "omission")


# -- numbers, dates, names ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, values",
    [
        ("one hundred percent terrorist", [100]),
        ("$1.2 billion", [1.2e9]),
        ("1.2 billion dollars", [1.2e9]),
        ("1,500,000 people and twenty-five more", [1.5e6, 25]),
        ("one of them", []),
        ("a hundred", [100]),
    ],
)
def test_quantities(text: str, values: list[float]) -> None:
    assert [q.value for q in quantities(text)] == pytest.approx(values)


@pytest.mark.parametrize(
    "mt, ref",
    [
        ("The meeting of 28 September was frank.", "The Sept. 28 meeting was frank."),
        ("The meeting of September 28 was frank.", "The meeting of 28 September was frank."),
        ("The deal is worth $1.2 billion.", "The deal is worth 1.2 billion dollars."),
        (
            "Give us targets you consider one hundred percent terrorist.",
            "Targets you consider 100 percent terrorist.",
        ),
    ],
)
def test_equal_numbers_and_dates_not_flagged(flagger: Flagger, mt: str, ref: str) -> None:
    assert not by_detector(flagger.flag(mt, ref, UnitScores()), "numbers")


def test_wrong_number_month_and_currency_flagged(flagger: Flagger) -> None:
    mt = "On 28 October the deal was worth 1.2 billion rubles and 30 people signed."
    ref = "On 28 September the deal was worth $1.2 billion and 13 people signed."
    flags = by_detector(flagger.flag(mt, ref, UnitScores()), "numbers")
    texts = {f.text: f for f in flags}
    assert set(texts) == {"October", "1.2 billion", "30"}
    assert "'13'" in texts["30"].reason and texts["30"].severity == "major"
    assert "currency" in texts["1.2 billion"].reason


def test_name_present_in_both_not_flagged_and_missing_name_flagged(flagger: Flagger) -> None:
    flags = flagger.flag(OBAMA_MT, OBAMA_REF, UnitScores())
    assert not by_detector(flags, "names")
    mt = "Putin recalled his meeting with U.S. President George Bush in New York."
    names = by_detector(flagger.flag(mt, OBAMA_REF, UnitScores()), "names")
    assert [f.text for f in names] == ["George Bush"] and "Barack Obama" in names[0].reason


# -- untranslated / transliteration -------------------------------------------------------------------------
def test_untranslated_cyrillic(flagger: Flagger) -> None:
    mt = "Putin spoke at the forum VTB «Россия зовёт!» on Tuesday."
    flags = by_detector(
        flagger.flag(mt, "Putin spoke at the VTB “Russia Calling!” forum.", UnitScores()), "untranslated"
    )
    assert [f.text for f in flags] == ["Россия зовёт"]
    assert flags[0].severity == "major"
    whole = "Путин выступил на форуме."
    assert by_detector(flagger.flag(whole, "Putin spoke at the forum.", UnitScores()), "untranslated")[
        0
    ].severity == ("critical")


def test_transliteration(flagger: Flagger) -> None:
    mt = "A delegation headed by Dmitry Anatolyevich Medvedev."
    assert by_detector(
        flagger.flag(mt, "A delegation headed by Dmitry Medvedev.", UnitScores()), "transliteration"
    )
    # The patronymic is fine where the reference keeps it.
    ref = "A delegation headed by Prime Minister Dmitry Anatolyevich Medvedev."
    assert not by_detector(flagger.flag(mt, ref, UnitScores()), "transliteration")
    # With the Russian source: a lowercase source word spelled in Latin letters.
    mt2 = "The siloviki want a serious delegation."
    src = "Силовики хотят серьёзную делегацию."
    flags = by_detector(
        flagger.flag(mt2, "The security officials want a serious delegation.", UnitScores(), src=src),
        "transliteration",
    )
    assert [f.text for f in flags] == ["siloviki"] and flags[0].severity == "major"


# -- repetition, quotes, casing --------------------------------------------------------------------------------
def test_repetition(flagger: Flagger) -> None:
    mt = "We see the commitment of our partners to work together, to work together, to work together."
    flags = by_detector(
        flagger.flag(mt, "We see that our partners are committed to working together.", UnitScores()),
        "repetition",
    )
    assert [f.text for f in flags] == ["to work together", "to work together"]
    doubled = by_detector(flagger.flag("He said that the the talks failed.", "", UnitScores()), "repetition")
    assert [f.text for f in doubled] == ["the the"]
    assert not by_detector(flagger.flag("What he had had was enough.", "", UnitScores()), "repetition")


def test_quotes_russian_dash_and_imbalance(flagger: Flagger) -> None:
    mt = "“We need to transfer this work to a serious level, if we are to work effectively”, – he stressed."
    ref = "“We need to take this work to a serious, substantive level if we are to work effectively,” he stressed."
    flags = by_detector(flagger.flag(mt, ref, UnitScores()), "quotes")
    assert [f.text for f in flags] == ["–"] and "Russian-style dash" in flags[0].reason
    unbalanced = "“We hope very much that we will be able to move exactly along the path."
    ref2 = "“We very much hope that we will be able to move precisely along the path,” he said."
    flags2 = by_detector(flagger.flag(unbalanced, ref2, UnitScores()), "quotes")
    assert [f.text for f in flags2] == ["“"]
    # A quotation cut by the sentence split the same way in the reference is fine.
    assert not by_detector(
        flagger.flag(unbalanced, "“We very much hope to move along the path.", UnitScores()), "quotes"
    )
    # Against a retranslation the reason names it as such, not as "the reference".
    as_retrans = by_detector(flagger.flag(unbalanced, ref2, UnitScores(), ref_kind="retranslation"), "quotes")
    assert [f.text for f in as_retrans] == ["“"]
    assert "retranslation's sentence" in as_retrans[0].reason and "reference" not in as_retrans[0].reason


def test_casing(flagger: Flagger) -> None:
    flags = by_detector(flagger.flag(OBAMA_MT, OBAMA_REF, UnitScores()), "casing")
    assert sorted(f.text for f in flags) == ["Frank", "new"]
    # Without the reference's help, "very Frank" is still an adjective after an intensifier.
    assert [
        f.text for f in by_detector(flagger.flag("The talk was very Frank.", "", UnitScores()), "casing")
    ] == ["Frank"]
    # Names and titles are left alone.
    assert not by_detector(flagger.flag(OBAMA_REF, OBAMA_REF, UnitScores()), "casing")


# -- clean sentences, offsets, verdicts, retranslation ----------------------------------------------------------
def test_clean_sentence_against_itself_has_no_flags(flagger: Flagger) -> None:
    scores = UnitScores(
        features={"eos_bits": 1.5},
        mt_surprisal=surprisal(CLEAN, {"Vladimir": 14.0, "Putin": 12.0}),
    )
    for mt in (CLEAN, OBAMA_REF, SALAD_REF, HEADLINE_REF):
        assert flagger.flag(mt, mt, scores if mt is CLEAN else UnitScores(), kind="body") == []


def test_offsets_always_index_the_mt(flagger: Flagger) -> None:
    texts = [HEADLINE_MT, OBAMA_MT, SALAD_MT, "  leading space and the the end of", "Путин — «да»"]
    for mt in texts:
        scores = UnitScores(
            features={"eos_bits": 7.0},
            mt_surprisal=surprisal(mt, {}, base=13.0),
            mt_unmatched=surprisal(mt, {}, base=0.1),
            ref_unmatched=surprisal(OBAMA_REF, {}, base=0.1),
        )
        flags = flagger.flag(mt, OBAMA_REF, scores)
        assert flags
        assert_offsets(mt, flags)


def test_verdict_rule(flagger: Flagger) -> None:
    def flag(severity: str, detector: str = "truncation") -> Flag:
        return Flag(0, 3, "abc", "fluency/truncation", severity, detector, "r")

    good = UnitScores(quality=90.0)
    assert flagger.verdict(good, [], "reference") == "ok"
    assert flagger.verdict(good, [flag("minor")], "reference") == "ok"
    assert flagger.verdict(good, [flag("minor"), flag("minor")], "reference") == "review"
    assert flagger.verdict(good, [flag("major")], "reference") == "review"
    assert flagger.verdict(good, [flag("major"), flag("major")], "reference") == "review"
    assert flagger.verdict(good, [flag("major")] * 3, "reference") == "rewrite"
    assert flagger.verdict(good, [flag("critical")], "reference") == "rewrite"
    assert flagger.verdict(UnitScores(quality=40.0), [], "reference") == "review"
    assert flagger.verdict(UnitScores(quality=10.0), [], "reference") == "review"
    assert flagger.verdict(UnitScores(quality=10.0), [flag("minor")], "reference") == "review"
    # A low quality score alone never makes a rewrite (it sent human translations there) ...
    assert flagger.verdict(UnitScores(quality=10.0), [flag("minor"), flag("minor")], "reference") == "review"
    # ... unless the quality cut is switched on.
    with_cut = Flagger({**DEFAULT_THRESHOLDS, "verdict_rewrite_quality": 25.0})
    assert (
        with_cut.verdict(UnitScores(quality=10.0), [flag("minor"), flag("minor")], "reference") == "rewrite"
    )
    assert (
        with_cut.verdict(UnitScores(quality=10.0), [flag("minor"), flag("minor")], "retranslation")
        == "review"
    )
    # Against a retranslation: reference-based majors are evidence (half weight).
    three_acc = [flag("major", "mismatch"), flag("major", "numbers"), flag("major", "mismatch")]
    assert flagger.verdict(good, three_acc, "reference") == "rewrite"
    assert flagger.verdict(good, three_acc, "retranslation") == "review"
    assert flagger.verdict(UnitScores(quality=10.0), [], "retranslation") == "review"
    assert flagger.verdict(good, [*three_acc, flag("major"), flag("major")], "retranslation") == "rewrite"
    for v in ("ok", "review", "rewrite"):
        assert v in VERDICTS


def test_retranslation_caps_reference_based_severity(flagger: Flagger) -> None:
    mt = "Путин: on 28 October 30 people signed."
    ref = "On 28 September 13 people signed."
    as_ref = flagger.flag(mt, ref, UnitScores(), ref_kind="reference")
    as_retrans = flagger.flag(mt, ref, UnitScores(), ref_kind="retranslation")
    nums = by_detector(as_retrans, "numbers")
    assert nums and all("retranslation" in f.reason and "reference" not in f.reason for f in nums)
    # Reference-free evidence (the untranslated word) keeps its severity.
    assert (
        by_detector(as_retrans, "untranslated")[0].severity == by_detector(as_ref, "untranslated")[0].severity
    )


def test_thresholds_override_and_signature() -> None:
    strict = Flagger({**DEFAULT_THRESHOLDS, "truncation_eos_bits": 3.0})
    loose = Flagger({**DEFAULT_THRESHOLDS, "truncation_eos_bits": 9.0})
    scores = UnitScores(features={"eos_bits": 6.6})
    assert (
        by_detector(strict.flag(HEADLINE_MT, HEADLINE_REF, scores, kind="headline"), "truncation")[0].severity
        == "major"
    )
    assert (
        by_detector(loose.flag(HEADLINE_MT, HEADLINE_REF, scores, kind="headline"), "truncation")[0].severity
        == "minor"
    )
    assert strict.signature != loose.signature and strict.signature.startswith("flags:")
    with pytest.raises(ValueError):
        Flagger({"no_such_threshold": 1.0})


# -- garble (fitted word model) ----------------------------------------------------------------------------
def test_garble_off_until_fitted_and_on_with_weights() -> None:
    scores = UnitScores(
        chrf=30.0,
        similarity=0.6,
        mt_surprisal=surprisal(SALAD_MT, {"rocket": 15.0, "attacks": 13.0, "inflict": 18.0}),
        mt_unmatched=spans(SALAD_MT, {"rocket": 0.30, "attacks": 0.35, "inflict": 0.20}),
    )
    off = Flagger({**DEFAULT_THRESHOLDS, "garble_p": 1.0})
    assert not by_detector(off.flag(SALAD_MT, SALAD_REF, scores), "garble")
    weights = {f"garble_w_{k}": 0.0 for k in GARBLE_FEATURES}
    weights |= {"garble_bias": -3.0, "garble_w_bits": 1.0, "garble_w_cos": 6.0, "garble_p": 0.5}
    on = Flagger({**DEFAULT_THRESHOLDS, **weights}, detectors=[GarbleDetector()])
    flags = by_detector(on.flag(SALAD_MT, SALAD_REF, scores), "garble")
    assert [f.text for f in flags] == ["rocket attacks to inflict"]
    assert flags[0].category == "accuracy/mistranslation"
    assert "not in the reference: rocket, attacks, inflict" in flags[0].reason
    # The same weights on a clean unit (nothing unmatched, low surprisal) flag nothing.
    clean = UnitScores(chrf=90.0, similarity=0.95, mt_surprisal=surprisal(CLEAN, {}))
    assert not by_detector(on.flag(CLEAN, CLEAN, clean), "garble")
    # With all detectors, a rule-based flag over the same words wins (its reason is more specific).
    both = Flagger({**DEFAULT_THRESHOLDS, **weights}).flag(SALAD_MT, SALAD_REF, scores)
    assert by_detector(both, "mismatch") and not by_detector(both, "garble")


def test_garble_features_read_every_word_match() -> None:
    """`mt_match` (every word's best match) feeds `cos`; without it only `mt_unmatched` words are weak."""
    from mtcheck.detectors.base import UnitContext
    from mtcheck.detectors.garble import word_features

    values = {"rocket": 0.30, "attacks": 0.62, "inflict": 0.20}
    every = [TokenSpan(w.start, w.end, w.text, values.get(w.text, 0.95)) for w in words_of(SALAD_MT)]
    with_all = UnitContext(SALAD_MT, SALAD_REF, UnitScores(mt_match=every), thresholds=DEFAULT_THRESHOLDS)
    weak_only = UnitContext(
        SALAD_MT, SALAD_REF, UnitScores(mt_unmatched=spans(SALAD_MT, values)), thresholds=DEFAULT_THRESHOLDS
    )
    words = [w.text for w in with_all.mt_words]
    a, b = word_features(with_all), word_features(weak_only)
    i = words.index("attacks")
    assert a[i]["cos"] == pytest.approx(0.38) and b[i]["cos"] == pytest.approx(0.38)
    j = words.index("effective")
    assert a[j]["cos"] == pytest.approx(0.05) and b[j]["cos"] == pytest.approx(0.1)
    # 'rocket' is absent from the reference (a content word): lexical evidence; 'shoot' is present.
    assert a[words.index("rocket")]["lex"] == 1.0 and a[words.index("shoot")]["lex"] == 0.0
    # A part of a hyphenated reference word counts as present ("high" in "high-level").
    ctx = UnitContext(
        "a meeting of high rank", "a high-level meeting", UnitScores(), thresholds=DEFAULT_THRESHOLDS
    )
    assert [f["lex"] for f in word_features(ctx)] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert a[0]["position"] == 0.0 and a[-1]["position"] == 1.0
    assert set(a[0]) == set(GARBLE_FEATURES)


# -- eval_flags: metrics on a tiny hand-made data set --------------------------------------------------------
def test_eval_flags_metrics_and_split(tmp_path) -> None:
    import json

    from mtcheck import eval_flags

    assert {eval_flags.doc_split(f"doc{i}", "zh-en") for i in range(20)} == {0, 1}
    counter = eval_flags.SpanCounter()
    counter.add([True, True, False, False], [False, True, True, False])
    assert counter.result() | {"flagged_chars": 0} == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "flagged_chars": 0,
    }
    mt = "Putin met the leaders don’t have"
    rows = [
        {
            "doc": "d",
            "mt": mt,
            "ref": HEADLINE_REF,
            "is_human": False,
            "mqm_score": -5.0,
            "errors": [{"start": 14, "end": 32, "severity": "Major", "side": "target"}],
        },
        {"doc": "d", "mt": CLEAN, "ref": CLEAN, "is_human": True, "mqm_score": 0.0, "errors": []},
    ]
    # A human translation with an annotated Major error: its flag is no false alarm.
    rows.append(dict(rows[0], is_human=True))
    data = tmp_path / "mini.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert len(eval_flags.load_rows(data)) == 3
    scores = {
        (mt, HEADLINE_REF): UnitScores(
            features={"eos_bits": 7.0}, mt_surprisal=surprisal(mt, {"have": 12.0})
        ),
        (CLEAN, CLEAN): UnitScores(features={"eos_bits": 1.0}),
    }
    flagger = Flagger(dict(DEFAULT_THRESHOLDS))
    result = eval_flags.evaluate(rows, scores, flagger, {"lm_bits": 10.0, "match_cosine": 0.5})
    truncation = result["spans"]["detector:truncation"]["major"]
    assert truncation["precision"] == 1.0 and 0 < truncation["recall"] <= 1.0
    assert result["spans"]["baseline_lm"]["major"]["precision"] == 1.0  # 'have' lies in the gold span
    alarms = result["false_alarms"]
    assert alarms["human_translations"]["share_flagged"] == 0.5
    assert alarms["human_translations_error_free"]["segments"] == 1
    assert alarms["human_translations_error_free"]["share_flagged"] == 0.0
    assert alarms["human_translations_with_major"]["share_major_flagged"] == 1.0
    assert result["spans"]["flag_everything"]["major"]["recall"] == 1.0


def test_shipped_thresholds_still_flag_the_seed_headline() -> None:
    """Whatever was fitted into flag_thresholds.json, the truncated seed headline stays major."""
    flags = Flagger().flag(HEADLINE_MT, HEADLINE_REF, UnitScores(features={"eos_bits": 6.6}), kind="headline")
    assert any(f.detector == "truncation" and f.severity == "major" for f in flags)


# -- short units, joined spans, reference evidence ------------------------------------------------------
def _weak_match(text: str, weak: dict[str, float]) -> UnitScores:
    """Every word matched (0.95) except `weak` ones; also listed in mt_unmatched when under 0.5."""
    every = [TokenSpan(w.start, w.end, w.text, weak.get(w.text, 0.95)) for w in words_of(text)]
    return UnitScores(
        chrf=20.0,
        similarity=0.5,
        quality=4.0,
        mt_surprisal=surprisal(text, {}),
        mt_match=every,
        mt_unmatched=[t for t in every if t.value < 0.5],
    )


GARBLE_ON = {
    **{f"garble_w_{k}": 0.0 for k in GARBLE_FEATURES},
    "garble_bias": -3.0,
    "garble_w_cos": 6.0,
    "garble_p": 0.5,
    "garble_major_p": 0.6,
}


def test_short_unit_draws_no_match_flags_and_no_rewrite() -> None:
    """'Also no reply.' against 'No answer to that either.': a terse paraphrase, not a mistranslation."""
    mt, ref = "Also no reply.", "No answer to that either."
    scores = _weak_match(mt, {"Also": 0.40, "reply": 0.35})
    flagger = Flagger({**DEFAULT_THRESHOLDS, **GARBLE_ON})
    flags = flagger.flag(mt, ref, scores)
    assert not by_detector(flags, "garble") and not by_detector(flags, "mismatch")
    assert flagger.verdict(scores, flags, "reference") == "review"  # the low score still asks for a look
    # The same weak words in a sentence of normal length are flagged.
    long_mt = "Also no reply came from the ministry in the capital."
    long_flags = flagger.flag(long_mt, ref, _weak_match(long_mt, {"Also": 0.40, "reply": 0.35}))
    assert by_detector(long_flags, "garble") or by_detector(long_flags, "mismatch")
    # Switched off (match_min_words 0), the short unit is flagged again: the rule is what silences it.
    loose = Flagger({**DEFAULT_THRESHOLDS, **GARBLE_ON, "match_min_words": 0})
    assert {f.detector for f in loose.flag(mt, ref, scores)} & {"garble", "mismatch"}


def test_nearby_flags_join_into_one_phrase() -> None:
    mt = "We need to beat objects that the partners gave us yesterday in the capital."
    ref = "We need to know which targets the partners want us to strike in the capital."
    scores = _weak_match(mt, {"beat": 0.20, "objects": 0.15, "gave": 0.25})
    apart = Flagger({**DEFAULT_THRESHOLDS, "merge_gap_words": -1}).flag(mt, ref, scores)
    joined = Flagger({**DEFAULT_THRESHOLDS, "merge_gap_words": 3}).flag(mt, ref, scores)
    assert [f.text for f in by_detector(apart, "mismatch")] == ["beat objects", "gave"]
    assert [f.text for f in by_detector(joined, "mismatch")] == ["beat objects that the partners gave"]
    assert_offsets(mt, joined)
    assert "'gave'" in by_detector(joined, "mismatch")[0].reason  # both reasons kept


def test_garble_needs_reference_evidence() -> None:
    """A span whose words all match the reference well and all occur in it is not a mistranslation."""
    mt = "The talks were very frank and open, the minister said on Tuesday."
    scores = UnitScores(
        chrf=60.0,
        similarity=0.9,
        mt_surprisal=surprisal(mt, {"frank": 25.0, "open": 25.0}),
        mt_match=[TokenSpan(w.start, w.end, w.text, 0.9) for w in words_of(mt)],
    )
    weights = {**GARBLE_ON, "garble_w_cos": 0.0, "garble_w_bits": 3.0}
    lenient = Flagger({**DEFAULT_THRESHOLDS, **weights, "garble_min_cos": 0.0}, detectors=[GarbleDetector()])
    strict = Flagger({**DEFAULT_THRESHOLDS, **weights, "garble_min_cos": 0.3}, detectors=[GarbleDetector()])
    assert lenient.flag(mt, mt, scores)
    assert not strict.flag(mt, mt, scores)


def test_scorer_keeps_every_word_match() -> None:
    """`mt_match`/`ref_match` hold every word with its best cosine; `mt_unmatched` only the weak ones."""
    import numpy as np

    from mtcheck.score import Scorer

    vocab = {"the": 0, "cat": 1, "sat": 2, "dog": 3, "ran": 4}

    class ToyEmbedder:
        name = "toy"

        def encode_with_tokens(self, texts):
            tokens = []
            for text in texts:
                spans = [(w.start, w.end) for w in words_of(text)]
                vecs = np.zeros((len(spans), 8), dtype=np.float32)
                for k, (a, b) in enumerate(spans):
                    vecs[k, vocab.get(text[a:b].lower(), 7)] = 1.0
                tokens.append((spans, vecs))
            sentences = np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)
            return sentences, tokens

    scorer = Scorer(embedder=ToyEmbedder(), use_lm=False)
    (unit,) = scorer.score_units(["The cat ran"], ["The dog ran"])
    assert [(w.text, w.value) for w in unit.mt_match] == [("The", 1.0), ("cat", 0.0), ("ran", 1.0)]
    assert [w.text for w in unit.mt_unmatched] == ["cat"]
    assert [(w.text, w.value) for w in unit.ref_match] == [("The", 1.0), ("dog", 0.0), ("ran", 1.0)]


def test_verdict_review_cut_is_the_calibrations_ok_cut() -> None:
    # A refit of calibration.json that moves its "ok" cut must move the verdict's review cut with it.
    from mtcheck.score import Calibration

    assert Flagger().thresholds["verdict_review_quality"] == Calibration.load().thresholds["ok"]
