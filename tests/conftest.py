import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _not_a_sized_terminal(monkeypatch):
    """Text reports follow COLUMNS: the tests' own is unset (80 columns, not a terminal)."""
    monkeypatch.delenv("COLUMNS", raising=False)
