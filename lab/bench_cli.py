"""`python -m lab bench-cli`: what an editor waits for, one article checked from the command line.

The article is the first paragraphs of the bundled `corpora/putin_syria` MT and reference, as many as give
at least `--sentences` MT sentences. Each run is a fresh `python -m mtcheck score MT --ref REF -o DIR`
process (imports, model loading, checking, writing the three reports), timed wall-clock from outside; peak
memory is the largest resident size of any run. `--code DIR` runs the mtcheck of another checkout (a git
worktree of an earlier revision, say) on the same article, to compare revisions in one sitting.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mtcheck.io import read_text
from mtcheck.segment import segment

CORPUS = Path(__file__).resolve().parent.parent / "corpora"


def first_paragraphs(sentences: int, name: str = "putin_syria") -> tuple[str, str, int]:
    """MT and reference of the first paragraphs holding at least `sentences` MT sentences (and how many)."""
    mt = read_text(CORPUS / f"{name}.mt.txt").split("\n\n")
    ref = read_text(CORPUS / f"{name}.ref.txt").split("\n\n")
    for k in range(1, len(mt) + 1):
        found = len(segment("\n\n".join(mt[:k])))
        if found >= sentences:
            break
    return "\n\n".join(mt[:k]), "\n\n".join(ref[:k]), found


def main(sentences: int = 30, runs: int = 3, code: Path | None = None) -> dict:
    mt, ref, found = first_paragraphs(sentences)
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "story.mt.txt").write_text(mt, encoding="utf-8")
        (folder / "story.ref.txt").write_text(ref, encoding="utf-8")
        command = [sys.executable, "-m", "mtcheck", "score", str(folder / "story.mt.txt")]
        command += ["--ref", str(folder / "story.ref.txt"), "-o", str(folder / "out")]
        for _ in range(runs):
            start = time.perf_counter()
            # `python -m` puts the working folder first on the path: that checkout's mtcheck is the one run.
            subprocess.run(command, check=True, capture_output=True, cwd=code)
            walls.append(round(time.perf_counter() - start, 2))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    figures = {"mt_sentences": found, "runs": runs, "wall_seconds": walls, "peak_rss_mib": round(peak_mib)}
    print(
        f"mtcheck score ({code or 'this checkout'}) on a {found}-sentence article: "
        + ", ".join(f"{w:.2f}" for w in walls)
        + f" s wall ({runs} runs), peak memory {figures['peak_rss_mib']} MiB"
    )
    return figures
