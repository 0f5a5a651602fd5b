"""Conformance on ../shared/corpus/: 97 public graphs with tf.profiler's own figures.

Each graph is profiled with its inputs pinned as tfprof.tsv says; tf.profiler's total
through tfflops must equal the figure recorded there, and no node may be a mismatch.
Skipped only when the corpus folder is absent (it is never copied into this repo).
"""

import csv
import io
import json

import pytest
from conftest import CORPUS

import tfflops
from tfflops.reports.profile import render

if not (CORPUS / "tfprof.tsv").is_file():
    pytest.skip(f"corpus not found at {CORPUS}", allow_module_level=True)

with open(CORPUS / "tfprof.tsv", newline="") as f:
    ENTRIES = list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_corpus_graph(entry):
    pinned = json.loads(entry["pinned"]) if entry["pinned"] else {}
    expected = int(entry["pinned_tfprof_flops"] or entry["tfprof_flops"])
    path = CORPUS / "graphs" / entry["file"]
    # tfprof.tsv counts a SavedModel's or .meta's whole graph as loaded; the file itself
    # profiles as the graph of its signature (tests/test_formats.py).
    model = path if entry["kind"].startswith("GraphDef") else tfflops.load_graph_def(path)
    p = tfflops.profile(model, input_shapes=pinned)
    assert p.totals["tfprof_flops"] == expected
    records = p.node_records()
    assert [r["name"] for r in records if r["status"] == "mismatch"] == []
    assert len(records) == int(entry["nodes"])
    # Nothing tfflops cannot count hides as a silent 0: it is unsupported, with a reason.
    for r in records:
        if r["status"] == "unsupported":
            assert r["note"]
    # Every report carries tf.profiler's total as tfprof.tsv has it, and every node once —
    # a graph with nothing to count included.
    shown = f"{expected:,}"
    assert json.loads(render(p, "json"))["totals"]["tfprof_flops"] == expected
    assert f"\n  tf.profiler FLOPs  {shown}" in render(p, "table", top=0)
    assert f"\n| tf.profiler FLOPs | {shown}" in render(p, "markdown")
    assert f"<th>tf.profiler FLOPs</th><td class='num'>{shown}" in render(p, "html")
    rows = list(csv.DictReader(io.StringIO(render(p, "csv"))))
    assert [r["name"] for r in rows] == [r["name"] for r in p.leaf_records()]
    # function bodies' nodes stand for their calls; tf.profiler never sees them (empty)
    assert sum(int(r["tfprof_flops"] or 0) for r in rows) == expected


def test_corpus_is_complete():
    assert len(ENTRIES) == 97


def test_profiler_test_graph_conv_figures():
    # tf.profiler's own test graph: its two Conv2D nodes count 5832 and 4608.
    p = tfflops.profile(
        CORPUS
        / "graphs"
        / "tensorflow__tensorflow"
        / "tensorflow__core__profiler__internal__testdata__graph.pbtxt"
    )
    convs = sorted(r["tfprof_flops"] for r in p.node_records() if r["op"] == "Conv2D")
    assert convs == [4608, 5832]
    assert sorted(r["flops"] for r in p.node_records() if r["op"] == "Conv2D") == [4608, 5832]


def test_quantized_ops_count_their_integer_macs():
    p = tfflops.profile(
        CORPUS / "graphs" / "uTensor__utensor_cgen" / "tests__conv__test_quant_conv.pb",
        convention="macs",
        tfprof=False,
    )
    assert p.unsupported_ops == {}
    (conv,) = [r for r in p.node_records() if r["op"] == "QuantizedConv2D"]
    # x quint8 [3,5,5,3] * w [3,3,3,2], VALID: out [3,2,2,2] = 24 · 3·3·3 = 648 MACs
    assert conv["flops"] == 648 and conv["dtype"] == "qint32"
    # quint8 weights are parameters too: w 3·3·3·2 = 54, the constant input x 3·5·5·3 = 225
    assert p.totals["params"] == 279
