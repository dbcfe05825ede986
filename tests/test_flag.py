"""Flag stage: each rule detector on seed-like sentences, negative cases, the overlap policy, offsets, verdicts.

Strings come from the seed article (corpora/putin_syria.mt.txt) and its reference, inlined so the
tests need neither the shared data nor a model. Model spans are hand-built `ErrorSpan`s.
"""

from __future__ import annotations

import pytest

from mtcheck.detectors.base import words_of
from mtcheck.detectors.numbers import quantities
from mtcheck.flag import Flagger
from mtcheck.types import SEVERITIES, VERDICTS, ErrorSpan, Flag

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
    """Rules only, with hand-given verdict cuts: no model folder can move these tests."""
    return Flagger({"ok": 55.0, "rewrite": 20.0})


def by_detector(flags: list[Flag], name: str) -> list[Flag]:
    return [f for f in flags if f.detector == name]


def assert_offsets(mt: str, flags: list[Flag]) -> None:
    for f in flags:
        assert mt[f.start : f.end] == f.text, f
        assert f.severity in SEVERITIES
        assert f.reason and f.category.count("/") == 1


@pytest.mark.parametrize(
    "mt",
    [
        "Putin said the talks would focus on the",
        "The delegation will include representatives of",
    ],
)
def test_truncation_on_determiner_or_of(flagger: Flagger, mt: str) -> None:
    flags = by_detector(flagger.flag(mt, "", []), "truncation")
    assert [f.severity for f in flags] == ["major"]


def test_complete_headline_and_ellipsis_not_truncated(flagger: Flagger) -> None:
    for mt, kind in [
        ("Moscow raises the level of dialogue", "subhead"),
        ("Russia is fighting against terrorists, not the leadership in Syria", "headline"),
        ("We will work with them, as we always have.", "body"),
        (CLEAN, "body"),
    ]:
        assert not by_detector(flagger.flag(mt, "", [], kind=kind), "truncation")


@pytest.mark.parametrize(
    "text, values",
    [
        ("one hundred percent terrorist", [100]),
        ("$1.2 billion", [1.2e9]),
        ("1.2 billion dollars", [1.2e9]),
        ("1,500,000 people and twenty-five more", [1.5e6, 25]),
        ("one of them", []),
        ("a hundred", [100]),
        ("three and a half times as rich", [3.5]),
        ("two and a half million people and 7", [2.5e6, 7]),
        ("a million and a half", [1.5e6]),
        ("over 2 1/2 million tenge", [2.5e6]),
        ("about six-and-a-half years", [6.5]),
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
        ("They are 3.5 times as rich.", "They are three and a half times as rich."),
    ],
)
def test_equal_numbers_and_dates_not_flagged(flagger: Flagger, mt: str, ref: str) -> None:
    assert not by_detector(flagger.flag(mt, ref, []), "numbers")


def test_wrong_number_month_and_currency_flagged(flagger: Flagger) -> None:
    mt = "On 28 October the deal was worth 1.2 billion rubles and 30 people signed."
    ref = "On 28 September the deal was worth $1.2 billion and 13 people signed."
    flags = by_detector(flagger.flag(mt, ref, []), "numbers")
    texts = {f.text: f for f in flags}
    assert set(texts) == {"October", "1.2 billion", "30"}
    assert "'13'" in texts["30"].reason and texts["30"].severity == "major"
    assert "currency" in texts["1.2 billion"].reason


def test_name_present_in_both_not_flagged_and_missing_name_flagged(flagger: Flagger) -> None:
    flags = flagger.flag(OBAMA_MT, OBAMA_REF, [])
    assert not by_detector(flags, "names")
    mt = "Putin recalled his meeting with U.S. President George Bush in New York."
    names = by_detector(flagger.flag(mt, OBAMA_REF, []), "names")
    assert [f.text for f in names] == ["George Bush"] and "Barack Obama" in names[0].reason


# -- untranslated / transliteration -------------------------------------------------------------------------
def test_untranslated_cyrillic(flagger: Flagger) -> None:
    mt = "Putin spoke at the forum VTB «Россия зовёт!» on Tuesday."
    flags = by_detector(
        flagger.flag(mt, "Putin spoke at the VTB “Russia Calling!” forum.", []), "untranslated"
    )
    assert [f.text for f in flags] == ["Россия зовёт"]
    assert flags[0].severity == "major"
    whole = "Путин выступил на форуме."
    assert by_detector(flagger.flag(whole, "Putin spoke at the forum.", []), "untranslated")[0].severity == (
        "critical"
    )


def test_transliteration(flagger: Flagger) -> None:
    mt = "A delegation headed by Dmitry Anatolyevich Medvedev."
    assert by_detector(flagger.flag(mt, "A delegation headed by Dmitry Medvedev.", []), "transliteration")
    # The patronymic is fine where the reference keeps it.
    ref = "A delegation headed by Prime Minister Dmitry Anatolyevich Medvedev."
    assert not by_detector(flagger.flag(mt, ref, []), "transliteration")
    # With the Russian source: a lowercase source word spelled in Latin letters.
    mt2 = "The siloviki want a serious delegation."
    src = "Силовики хотят серьёзную делегацию."
    flags = by_detector(
        flagger.flag(mt2, "The security officials want a serious delegation.", [], src=src),
        "transliteration",
    )
    assert [f.text for f in flags] == ["siloviki"] and flags[0].severity == "major"


# -- pronouns and negation -------------------------------------------------------------------------------------
def test_swapped_pronoun_is_flagged_where_the_reference_never_uses_it(flagger: Flagger) -> None:
    ref = "He said his delegation was ready."
    flags = by_detector(flagger.flag("She said his delegation was ready.", ref, []), "pronouns")
    assert [(f.text, f.severity) for f in flags] == [("She", "major")] and "'he'" in flags[0].reason
    plural = by_detector(
        flagger.flag(
            "We will not allow it, our partners say.", "They will not allow it, their partners say.", []
        ),
        "pronouns",
    )
    assert [f.text for f in plural] == ["We", "our"]
    # The reference uses the MT's person too, or the persons are ones free wording swaps: no flag.
    for mt, other in [
        ("She told him that he was wrong.", "He was wrong, she told him."),
        ("To be honest, I did not know.", "To tell you the truth, I didn't know."),
        ("The company said it would sue.", "The company said they would sue."),
        ("I think we must hold our leaders to account.", "I think we must hold leaders to account."),
    ]:
        assert not by_detector(flagger.flag(mt, other, []), "pronouns"), mt


def test_negation_on_one_side_only_is_flagged(flagger: Flagger) -> None:
    added = by_detector(flagger.flag("Putin is not in Syria.", "Putin is in Syria.", []), "negation")
    assert [(f.text, f.severity) for f in added] == [("is not", "major")]
    lost = by_detector(
        flagger.flag("He did go home after the talks.", "He did not go home after the talks.", []), "negation"
    )
    assert [f.text for f in lost] == ["did go"] and "'did not go'" in lost[0].reason
    contracted = by_detector(
        flagger.flag("They have reached a deal.", "They haven't reached a deal.", []), "negation"
    )
    assert [f.text for f in contracted] == ["have reached"]


@pytest.mark.parametrize(
    "mt, ref",
    [
        ("They refused to go.", "They did not go."),  # a negative verb on the other side
        ("The funds aren't enough.", "The funds are insufficient."),  # a negative prefix
        ("Such cases are frequent.", "Such cases are not rare."),  # the negated word reworded
        ("He is not only the worst but also the last.", "He is the worst and the last."),  # "not only"
        ("He can't wait for the season.", "He is eagerly awaiting the season."),
        ("We can't help but ask what happened.", "We have to ask what happened."),
        ("He did not go home.", "He didn't go home."),
    ],
)
def test_negation_worded_differently_is_not_flagged(flagger: Flagger, mt: str, ref: str) -> None:
    assert not by_detector(flagger.flag(mt, ref, []), "negation")


# -- repetition, quotes, casing --------------------------------------------------------------------------------
def test_repetition(flagger: Flagger) -> None:
    mt = "We see the commitment of our partners to work together, to work together, to work together."
    flags = by_detector(
        flagger.flag(mt, "We see that our partners are committed to working together.", []),
        "repetition",
    )
    assert [f.text for f in flags] == ["to work together", "to work together"]
    doubled = by_detector(flagger.flag("He said that the the talks failed.", "", []), "repetition")
    assert [f.text for f in doubled] == ["the the"]
    assert not by_detector(flagger.flag("What he had had was enough.", "", []), "repetition")


@pytest.mark.parametrize(
    ("mt", "severity"),
    [
        ("The two sides agreed to live together to live together in peace.", "major"),  # a decoding loop
        ("There are hypocrites, there are hypocrites everywhere, he said.", "minor"),  # emphasis, perhaps
        ("They agreed to live together and to live together in peace.", "minor"),  # not side by side
    ],
)
def test_a_three_word_phrase_said_twice_in_a_row_is_major(flagger: Flagger, mt: str, severity: str) -> None:
    flags = by_detector(flagger.flag(mt, "The two sides agreed to live in peace.", []), "repetition")
    assert [f.severity for f in flags] == [severity]


def test_quotes_russian_dash_and_imbalance(flagger: Flagger) -> None:
    mt = "“We need to transfer this work to a serious level, if we are to work effectively”, – he stressed."
    ref = "“We need to take this work to a serious, substantive level if we are to work effectively,” he stressed."
    flags = by_detector(flagger.flag(mt, ref, []), "quotes")
    assert [f.text for f in flags] == ["–"] and "Russian-style dash" in flags[0].reason
    unbalanced = "“We hope very much that we will be able to move exactly along the path."
    ref2 = "“We very much hope that we will be able to move precisely along the path,” he said."
    flags2 = by_detector(flagger.flag(unbalanced, ref2, []), "quotes")
    assert [f.text for f in flags2] == ["“"]
    # A quotation cut by the sentence split the same way in the reference is fine.
    assert not by_detector(
        flagger.flag(unbalanced, "“We very much hope to move along the path.", []), "quotes"
    )
    # Against a retranslation the reason names it as such, not as "the reference".
    as_retrans = by_detector(flagger.flag(unbalanced, ref2, [], ref_kind="retranslation"), "quotes")
    assert [f.text for f in as_retrans] == ["“"]
    assert "retranslation's sentence" in as_retrans[0].reason and "reference" not in as_retrans[0].reason


def test_casing(flagger: Flagger) -> None:
    flags = by_detector(flagger.flag(OBAMA_MT, OBAMA_REF, []), "casing")
    assert sorted(f.text for f in flags) == ["Frank", "new"]
    # Without the reference's help, "very Frank" is still an adjective after an intensifier.
    assert [f.text for f in by_detector(flagger.flag("The talk was very Frank.", "", []), "casing")] == [
        "Frank"
    ]
    # Names and titles are left alone.
    assert not by_detector(flagger.flag(OBAMA_REF, OBAMA_REF, []), "casing")


def test_retranslation_caps_reference_based_severity(flagger: Flagger) -> None:
    mt = "Путин: on 28 October 30 people signed."
    ref = "On 28 September 13 people signed."
    as_ref = flagger.flag(mt, ref, [], ref_kind="reference")
    as_retrans = flagger.flag(mt, ref, [], ref_kind="retranslation")
    nums = by_detector(as_retrans, "numbers")
    assert nums and all("retranslation" in f.reason and "reference" not in f.reason for f in nums)
    # Reference-free evidence (the untranslated word) keeps its severity.
    assert (
        by_detector(as_retrans, "untranslated")[0].severity == by_detector(as_ref, "untranslated")[0].severity
    )


# -- truncation with and without the model's agreement ------------------------------------------------------
def span_over(mt: str, text: str, severity: str = "major", category: str = "fluency") -> ErrorSpan:
    start = mt.index(text)
    return ErrorSpan(start, start + len(text), severity, category, 0.9)


def test_truncated_headline_is_major_when_the_model_agrees(flagger: Flagger) -> None:
    alone = by_detector(flagger.flag(HEADLINE_MT, HEADLINE_REF, [], kind="headline"), "truncation")
    assert [f.severity for f in alone] == ["minor"]
    assert alone[0].text.endswith("don’t have") and "'have'" in alone[0].reason
    flags = flagger.flag(HEADLINE_MT, HEADLINE_REF, [span_over(HEADLINE_MT, "have")], kind="headline")
    trunc = by_detector(flags, "truncation")
    assert len(trunc) == 1 and trunc[0].severity == "major" and trunc[0].category == "fluency/truncation"
    assert "quality model marks the same words" in trunc[0].reason
    # The overlapping model span was folded into the rule flag, not listed again.
    assert not by_detector(flags, "model")
    assert_offsets(HEADLINE_MT, flags)


def test_model_spans_become_flags_with_reasons(flagger: Flagger) -> None:
    flags = flagger.flag(
        SALAD_MT, SALAD_REF, [span_over(SALAD_MT, "rocket attacks to inflict", "major", "accuracy")]
    )
    model = by_detector(flags, "model")
    assert [f.text for f in model] == ["rocket attacks to inflict"]
    assert model[0].category == "accuracy/mistranslation" and model[0].severity == "major"
    assert "confidence 0.90" in model[0].reason and "with no counterpart here" in model[0].reason
    assert "'missile'" in model[0].reason  # a reference word the MT does not carry
    fluency = flagger.flag(SALAD_MT, SALAD_REF, [span_over(SALAD_MT, "do not just want", "minor")])
    assert "does not read as correct English" in by_detector(fluency, "model")[0].reason
    # Without a reference the model's accuracy span sends the editor to the source.
    alone = flagger.flag(SALAD_MT, "", [span_over(SALAD_MT, "rocket attacks", "major", "accuracy")])
    assert "check it against the source" in by_detector(alone, "model")[0].reason


def test_rule_keeps_its_severity_when_the_model_is_milder(flagger: Flagger) -> None:
    mt = "On 28 October the deal was signed."
    ref = "On 28 September the deal was signed."
    flags = flagger.flag(mt, ref, [span_over(mt, "October", "minor", "accuracy")])
    assert [(f.detector, f.severity) for f in flags] == [("numbers", "major")]


def test_reference_based_rules_do_not_run_without_a_reference(flagger: Flagger) -> None:
    mt = "Putin recalled his meeting with U.S. President George Bush in New York."
    assert not by_detector(flagger.flag(mt, "", []), "names")
    assert by_detector(flagger.flag(mt, OBAMA_REF, []), "names")


def test_clean_sentence_against_itself_has_no_flags(flagger: Flagger) -> None:
    for mt in (CLEAN, OBAMA_REF, SALAD_REF, HEADLINE_REF):
        assert flagger.flag(mt, mt, [], kind="body") == []


def test_the_references_own_wording_draws_no_flag_but_a_retranslations_does(flagger: Flagger) -> None:
    garbled = "He said that the the talks, the leaders don’t have"
    span = ErrorSpan(0, 2, "major", "accuracy", 0.9)
    assert flagger.flag(garbled, garbled, [span], "reference") == []
    assert (
        flagger.flag(garbled, " He said  that the the\ntalks, the leaders don’t have ", [span], "reference")
        == []
    )
    assert flagger.flag(garbled, garbled, [span], "retranslation")
    assert flagger.flag(garbled, garbled.replace("He", "She"), [span], "reference")


def test_offsets_always_index_the_mt(flagger: Flagger) -> None:
    texts = [HEADLINE_MT, OBAMA_MT, SALAD_MT, "  leading space and the the end of", "Путин — «да»"]
    for mt in texts:
        words = words_of(mt)
        model = [ErrorSpan(w.start, w.end, "minor", "fluency", 0.6) for w in words[::2]]
        flags = flagger.flag(mt, OBAMA_REF, model)
        assert flags
        assert_offsets(mt, flags)


def test_verdict_rule(flagger: Flagger) -> None:
    def flag(severity: str, detector: str = "truncation") -> Flag:
        return Flag(0, 3, "abc", "fluency/truncation", severity, detector, "r")

    assert flagger.verdict(90.0, [], "reference") == "ok"
    assert flagger.verdict(90.0, [flag("minor")], "reference") == "ok"
    assert flagger.verdict(90.0, [flag("minor"), flag("minor")], "reference") == "review"
    assert flagger.verdict(90.0, [flag("major")], "reference") == "review"
    assert flagger.verdict(90.0, [flag("major"), flag("major")], "reference") == "review"
    assert flagger.verdict(90.0, [flag("major")] * 3, "reference") == "rewrite"
    assert flagger.verdict(90.0, [flag("critical")], "reference") == "rewrite"
    # The model's quality cuts: below "ok" a review, below "rewrite" a rewrite, against a human reference.
    assert flagger.verdict(40.0, [], "reference") == "review"
    assert flagger.verdict(10.0, [], "reference") == "rewrite"
    assert flagger.verdict(10.0, [], "retranslation") == "review"
    assert flagger.verdict(10.0, [], "none", has_ref=False) == "review"
    assert flagger.verdict(None, [], "reference") == "ok"
    # A major flag and a score below the ok cut: a rewrite, against a human reference only.
    assert flagger.verdict(40.0, [flag("major")], "reference") == "rewrite"
    assert flagger.verdict(40.0, [flag("minor")], "reference") == "review"
    assert flagger.verdict(40.0, [flag("major")], "retranslation") == "review"
    assert flagger.verdict(40.0, [flag("major")], "none", has_ref=False) == "review"
    # Against a retranslation: reference-based majors are evidence (half weight).
    three_acc = [flag("major", "model"), flag("major", "numbers"), flag("major", "model")]
    assert flagger.verdict(90.0, three_acc, "reference") == "rewrite"
    assert flagger.verdict(90.0, three_acc, "retranslation") == "review"
    assert flagger.verdict(90.0, [*three_acc, flag("major"), flag("major")], "retranslation") == "rewrite"
    # Without cuts (a model folder that has none) only the flags decide.
    assert Flagger().verdict(1.0, [], "reference") == "ok"
    for v in ("ok", "review", "rewrite"):
        assert v in VERDICTS


def test_signature_names_the_cuts() -> None:
    assert Flagger({"ok": 50.0}).signature != Flagger({"ok": 60.0}).signature
    assert Flagger().signature.startswith("flags:flag7+")
