from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"


@pytest.fixture(scope="session")
def corpora() -> Path:
    return CORPORA
