"""The metric interface: what the pipeline (and the lab) asks of any scorer.

A metric reads the units of an article (MT texts, and reference texts or None) and returns, per unit,
the 0-100 `quality`, `adequacy` and `fluency` (None where it cannot say) and the error spans it sees
in the unit's MT (character offsets, severity, category, confidence), with a signature naming what
produced them. It is the shape of COMET's `predict` returning a `Prediction`.

A metric is found through one registry: a model folder holds a `config.json` whose `class` names an
entry of `REGISTRY`, so a new metric is one new module plus a folder.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mtcheck.types import ErrorSpan, ModelMissingError

# class name in config.json -> "module:attribute" of the class that loads such a folder.
REGISTRY = {"neural-tagger": "mtcheck.neural:NeuralMetric"}
DEFAULT_MODEL = Path(__file__).parent / "weights" / "minilm-tagger"
CONFIG_FILE = "config.json"


@dataclass
class UnitPrediction:
    quality: float | None = None
    adequacy: float | None = None
    fluency: float | None = None
    spans: list[ErrorSpan] = field(default_factory=list)
    # The metric's raw outputs behind the 0-100 scores (the report's `features`).
    raw: dict[str, float] = field(default_factory=dict)


@dataclass
class Prediction:
    units: list[UnitPrediction]
    signature: str


class Metric(Protocol):
    name: str
    config: dict

    @property
    def signature(self) -> str: ...

    def load(self) -> None:
        """Load the weights now (else the first `predict` does)."""
        ...

    def predict(self, mt: list[str], ref: list[str | None]) -> Prediction:
        """Per unit: scores and error spans of `mt[i]` read against `ref[i]` (None: the MT alone)."""
        ...


def read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ModelMissingError(
            f"no model at {folder} ({CONFIG_FILE} missing): pass --model PATH to a mtcheck model folder"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_metric(path: str | Path | None = None, **options) -> Metric:
    """The metric stored in a model folder (default: the model shipped with mtcheck)."""
    folder = Path(path) if path else DEFAULT_MODEL
    config = read_config(folder)
    target = REGISTRY.get(config.get("class", ""))
    if target is None:
        raise ModelMissingError(
            f"{folder}: unknown model class {config.get('class')!r} (known: {', '.join(REGISTRY)})"
        )
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(folder, config, **options)
