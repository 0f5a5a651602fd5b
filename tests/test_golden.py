"""Golden reports: the full JSON document (analytic, every convention) of each sample graph.

A missing golden file fails. After a deliberate change, regenerate with
``TFFLOPS_UPDATE_GOLDEN=1 scripts/test tests/test_golden.py`` and review the diff.
"""

import json
import os

import pytest
from conftest import ROOT, SAMPLES

import tfflops
from tfflops.analysis.conventions import CONVENTIONS

GOLDEN = ROOT / "tests" / "golden"
SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.pb"))


def _document(name: str) -> dict:
    docs = {}
    for convention in CONVENTIONS:
        p = tfflops.profile(SAMPLES / name, convention=convention, tfprof=False)
        doc = p.to_dict()
        doc["model"] = name
        docs[convention] = doc
    return docs


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_golden_report(name):
    path = GOLDEN / f"{name}.json"
    docs = _document(name)
    if os.environ.get("TFFLOPS_UPDATE_GOLDEN"):
        path.write_text(json.dumps(docs, indent=1, sort_keys=True) + "\n")
    assert path.is_file(), f"missing golden file {path}; see this module's docstring"
    assert json.loads(path.read_text()) == json.loads(json.dumps(docs))


def test_every_sample_has_a_golden_file():
    assert len(SAMPLE_FILES) == 6
    assert sorted(p.name for p in GOLDEN.glob("*.json")) == [f"{n}.json" for n in SAMPLE_FILES]
