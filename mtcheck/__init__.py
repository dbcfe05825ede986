"""mtcheck: sentence-level quality checking of machine-translated news copy.

    import mtcheck
    result = mtcheck.check(mt_text, ref_text)          # one article -> ArticleResult
    checker = mtcheck.Checker()                        # keeps its models loaded for many articles
    result = checker.check("story", mt_text, ref_text)

Heavy modules load on first use, so `import mtcheck` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"

if TYPE_CHECKING:
    from mtcheck.pipeline import Checker, CheckOptions
    from mtcheck.types import ArticleResult

__all__ = ["Checker", "CheckOptions", "check", "load_metric", "__version__"]


def check(
    mt: str,
    ref: str | None,
    src: str | None = None,
    *,
    doc: str = "article",
    ref_kind: str = "reference",
    **options,
) -> ArticleResult:
    """Check one article given as text: `ref` a reference (or retranslation with
    ref_kind="retranslation"), or None to read the MT alone. Further keyword arguments are
    `CheckOptions` fields (mode, precision, check_pairing, align_embeddings, fast).

    Loads the models for this one call; keep a `Checker` for many articles."""
    from mtcheck.pipeline import Checker, CheckOptions

    return Checker(CheckOptions(ref_kind=ref_kind, **options)).check(doc, mt, ref, src)


def __getattr__(name: str):
    if name in ("Checker", "CheckOptions"):
        from mtcheck import pipeline

        return getattr(pipeline, name)
    if name == "load_metric":
        from mtcheck.metric import load_metric

        return load_metric
    raise AttributeError(f"module 'mtcheck' has no attribute {name!r}")
