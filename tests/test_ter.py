"""mtcheck.ter.sentence_ter must equal sacrebleu's sentence-level TER exactly."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sacrebleu.metrics import TER

import mtcheck.ter as ter_mod
from mtcheck.ter import sentence_ter

CORPORA = Path(__file__).resolve().parent.parent / "corpora"

# Used only if the corpus files are missing or nearly empty, so that the generated cases still run.
_FALLBACK_SENTENCES = [
    "Putin said, in particular, that he had earlier informed the United States that Russia was ready.",
    "The Russian president suggested that the delegation could include military officials.",
    "Work on a settlement in Syria must be moved to a more substantive level, with an eye to a process.",
    "“We need to take this work to a serious, substantive level if we are to work effectively,” he said.",
]

_SACREBLEU = TER()
_SACREBLEU_CASED = TER(case_sensitive=True)


def _reference_score(hyp: str, ref: str, case_sensitive: bool = False) -> float:
    metric = _SACREBLEU_CASED if case_sensitive else _SACREBLEU
    return metric.sentence_score(hyp, [ref]).score


def _paragraphs() -> list[str]:
    return [
        para.strip()
        for path in sorted(CORPORA.glob("*.txt"))
        for para in path.read_text(encoding="utf-8").split("\n\n")
        if para.strip()
    ]


def _sentences() -> list[str]:
    sents = [
        s.strip()
        for para in _paragraphs()
        for s in re.split(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])", para)
        if len(s.split()) >= 2
    ]
    return sents if len(sents) >= 10 else _FALLBACK_SENTENCES


def _perturb(words: list[str], rng: random.Random) -> str:
    # Typical MT-style damage: dropped, swapped, duplicated, moved, substituted or re-cased words.
    w = list(words)
    for _ in range(rng.randint(1, 5)):
        if not w:
            break
        op = rng.choice(["drop", "swap", "dup", "move", "move", "sub", "case"])
        i = rng.randrange(len(w))
        if op == "drop":
            del w[i : i + rng.randint(1, 3)]
        elif op == "swap":
            j = rng.randrange(len(w))
            w[i], w[j] = w[j], w[i]
        elif op == "dup":
            w[i:i] = w[i : i + rng.randint(1, 3)]
        elif op == "move":
            k = rng.randint(1, 8)
            chunk = w[i : i + k]
            del w[i : i + k]
            j = rng.randint(0, len(w))
            w[j:j] = chunk
        elif op == "sub":
            w[i] = rng.choice(["the", "a", "of", ",", "said", "Putin", "Syria", "xyzzy"])
        else:
            w[i] = w[i].upper()
    return " ".join(w)


def _generated_pairs(count: int, seed: int, glue: int = 1, max_words: int = 40) -> list[tuple[str, str]]:
    # `glue` sentences per segment; max_words keeps sacrebleu's (slow) side of the test short.
    rng = random.Random(seed)
    sents = [s for s in _sentences() if len(s.split()) <= max_words // glue] or _FALLBACK_SENTENCES
    pairs = []
    for _ in range(count):
        ref = " ".join(rng.choice(sents) for _ in range(glue))
        hyp = _perturb(ref.split(), rng)
        pairs.append((hyp, ref) if rng.random() < 0.8 else (ref, hyp))
    return pairs


EDGE_CASES = [
    ("", ""),
    ("", "The reference only."),
    ("The hypothesis only.", ""),
    ("   ", "a b"),
    ("a b", "  \n "),
    ("Same words here.", "Same words here."),
    ("Same   words \t here.  ", "Same words here."),
    ("Putin said so.", "Putin said so ."),
    ("Putin said so", "Putin said so."),
    ("“Yes,” he said.", '"Yes," he said.'),
    ("U.S.-Russian talks, (again)!", "US - Russian talks (again) !"),
    ("THE CAT SAT ON THE MAT", "the cat sat on the mat"),
    ("The Cat sat on the Mat", "the cat sat on the mat"),
    ("İstanbul ΣΊΣΥΦΟΣ Straße", "i̇stanbul σίσυφος straße"),
    ("the mat sat on the cat", "the cat sat on the mat"),
    ("on the mat the cat sat", "the cat sat on the mat"),
    ("said Putin on Tuesday in Moscow", "in Moscow on Tuesday Putin said"),
    ("b c d e f g h i j k l a", "a b c d e f g h i j k l"),
    ("a", "b"),
    ("a", "a a a a a"),
    ("a a a a a", "a"),
    ("the the the the the of of of", "of the of the of the of the"),
    ("a b a b a b a b a b a b", "b a b a b a b a b a b a"),
    ("x y z", "a b c d e f g h i j"),
    (" ".join(["word"] * 120), " ".join(["word"] * 80)),
    (" ".join(f"w{i}" for i in range(40)), " ".join(f"w{(i * 7) % 40}" for i in range(40))),
    (" ".join(f"w{i}" for i in range(60)[::-1]), " ".join(f"w{i}" for i in range(60))),
    (" ".join(f"w{i}" for i in range(5)), " ".join(f"w{i}" for i in range(150))),
    (" ".join(f"w{i}" for i in range(150)), " ".join(f"w{i}" for i in range(5))),
]


# A sentence against a paragraph: once caught a wrong shortcut in the beam-DP path.
LENGTH_MISMATCH = [
    (
        '"Yes, there are many mutual suspicions and mutual claims, but if not to work, if not to look for '
        'decisions, they will never be found," Putin summarised.',
        "But I think this is not enough.” No answer to that either. So far, however, contacts with the "
        "United States have been limited to the military level, according to Putin. Moscow, 13 October. "
        "Putin also noted that it was equally important to work with countries in the region, such as "
        'Turkey, Jordan, the UAE and Iraq. "We see the commitment of our partners to joint work," the '
        "President of Russia noted. “We need to transfer this work to a serious level, on subject, if we "
        "are to work effectively”, – he stressed. We thought and asked another question: then where must "
        "we strike?",
    ),
]


@pytest.mark.parametrize(("hyp", "ref"), EDGE_CASES + LENGTH_MISMATCH)
def test_edge_cases_match_sacrebleu(hyp: str, ref: str) -> None:
    assert sentence_ter(hyp, ref) == _reference_score(hyp, ref)


@pytest.mark.parametrize(("hyp", "ref"), EDGE_CASES[:20])
def test_case_sensitive_matches_sacrebleu(hyp: str, ref: str) -> None:
    assert sentence_ter(hyp, ref, case_sensitive=True) == _reference_score(hyp, ref, case_sensitive=True)


def test_known_values() -> None:
    assert sentence_ter("", "") == 0.0
    assert sentence_ter("a", "") == 100.0
    assert sentence_ter("", "a b") == 100.0
    assert sentence_ter("Hello World", "hello world") == 0.0  # TER() lower-cases by default
    assert sentence_ter("Hello World", "hello world", case_sensitive=True) == 100.0
    assert sentence_ter("c a b", "a b c") == pytest.approx(100 / 3)  # one shift


def test_generated_pairs_match_sacrebleu() -> None:
    pairs = _generated_pairs(300, seed=20151013)
    mismatches = [(h, r) for h, r in pairs if sentence_ter(h, r) != _reference_score(h, r)]
    assert not mismatches, f"{len(mismatches)} of {len(pairs)} differ, e.g. {mismatches[0]!r}"


def test_long_generated_pairs_match_sacrebleu() -> None:
    # Multi-sentence segments, longer than sacrebleu's 25-word beam.
    pairs = _generated_pairs(12, seed=28, glue=3, max_words=75)
    mismatches = [(h, r) for h, r in pairs if sentence_ter(h, r) != _reference_score(h, r)]
    assert not mismatches, f"{len(mismatches)} of {len(pairs)} differ, e.g. {mismatches[0]!r}"


def test_corpus_paragraph_pairs_match_sacrebleu() -> None:
    # Long, loosely related segments: the MT paragraphs against the reference and retranslation ones.
    by_file: dict[str, list[str]] = {}
    for path in sorted(CORPORA.glob("*.txt")):
        by_file[path.name] = [p for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    mt = next((v for k, v in by_file.items() if ".mt." in k), [])
    others = [v for k, v in by_file.items() if ".mt." not in k]
    pairs = [(h, r) for paras in others for h, r in zip(mt, paras, strict=False) if len(r.split()) <= 60]
    if not pairs:
        pytest.skip("no parallel corpus paragraphs")
    for hyp, ref in pairs[:16]:
        assert sentence_ter(hyp, ref) == _reference_score(hyp, ref), (hyp, ref)


def test_many_repeats_hit_the_candidate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small vocabularies give many shift candidates; at ~40 words sacrebleu stops at its 1000-candidate
    # limit, and the result must still agree.
    hits = 0
    real_candidates = ter_mod._Aligner._candidates

    def counting(self: ter_mod._Aligner, *args: object) -> tuple[list[tuple[int, int, int]], int]:
        nonlocal hits
        found, count = real_candidates(self, *args)
        hits += count >= args[-1]
        return found, count

    monkeypatch.setattr(ter_mod._Aligner, "_candidates", counting)
    rng = random.Random(7)
    for words in (0, 5, 20, 25, 30, 40, 40):
        vocab = rng.choice([["a", "b"], ["a", "b", "c"], ["the", "of", ",", "."]])
        hyp = " ".join(rng.choice(vocab) for _ in range(words))
        ref = " ".join(rng.choice(vocab) for _ in range(max(0, words + rng.randint(-3, 3))))
        assert ter_mod._sentence_ter.__wrapped__(hyp, ref, False) == _reference_score(hyp, ref), (hyp, ref)
    assert hits >= 1


def test_beam_fallback_matches_sacrebleu(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force the exact beam DP everywhere (it is normally used only for long, very different segments).
    real_band = ter_mod._band.__wrapped__

    def no_shortcut(n: int, m: int) -> ter_mod._Band:
        band = real_band(n, m)
        band.safe = 0
        return band

    monkeypatch.setattr(ter_mod, "_band", no_shortcut)
    pairs = (
        EDGE_CASES[:24] + LENGTH_MISMATCH + _generated_pairs(40, seed=5) + _generated_pairs(3, seed=6, glue=3)
    )
    rng = random.Random(12)
    sents = _sentences()
    for _ in range(10):  # a sentence against a paragraph, both ways round
        short, long = rng.choice(sents), " ".join(rng.sample(sents, 4))
        pairs += [(short, long), (long, short)]
    for hyp, ref in pairs:
        assert ter_mod._sentence_ter.__wrapped__(hyp, ref, False) == _reference_score(hyp, ref), (hyp, ref)
