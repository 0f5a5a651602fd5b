"""The table report: the terminal's width, humanized numbers, the convention and the unit in
the labels, and a line for every row a shortened table leaves out."""

from pathlib import Path

import pytest
from builders import DT_INT32, op, placeholder, weights

import tfflops
from tfflops.graph import proto
from tfflops.reports.layout import Screen
from tfflops.reports.profile import render

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
SAMPLE_FILES = sorted(SAMPLES.glob("*.pb"))
SCOPE = "encoder/" + "a_rather_long_scope_name/" * 4


def _wide_graph(path: Path) -> Path:
    """x[1,64] feeding five MatMuls with 64x64 weights, each a sink with a long name."""
    g = proto.GraphDef()
    x = g.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    for d in (1, 64):
        x.attr["shape"].shape.dim.add(size=d)
    for i in range(5):
        w = g.node.add(name=f"{SCOPE}dense_{i}/kernel", op="Const")
        w.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
        t = w.attr["value"].tensor
        t.dtype = proto.DATA_TYPES["DT_FLOAT"]
        for d in (64, 64):
            t.tensor_shape.dim.add(size=d)
        t.float_val.append(0.5)
        g.node.add(name=f"{SCOPE}dense_{i}/MatMul", op="MatMul").input.extend(["x", w.name])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(g.SerializeToString())
    return path


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("convention", ["tfprof", "macs"])
@pytest.mark.parametrize("by", [None, "node", "op", "scope"])
@pytest.mark.parametrize("model", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_samples_fit_the_width(model, by, convention, width):
    p = tfflops.profile(model, convention=convention, tfprof=False)
    text = render(p, "table", by, screen=Screen(width))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    assert lines[0].endswith(f"[convention: {convention}]")


@pytest.mark.parametrize("width", [60, 80, 120])
def test_long_names_and_paths_fit_the_width(tmp_path, width):
    model = _wide_graph(tmp_path / ("deeply/nested/" * 6) / "wide_model.pb")
    text = render(tfflops.profile(model, tfprof=False), "table", "node", screen=Screen(width))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    # Shortened in the middle: the path's start and (given 80 columns) its file name, the
    # number of outputs and the convention survive.
    assert lines[0].startswith(str(tmp_path)[:3]) and "…" in lines[0]
    assert "(+4 more)" in lines[0] and lines[0].endswith("[convention: tfprof]")
    assert width < 80 or "wide_model.pb  →  " in lines[0]
    rows = [line for line in lines if "MatMul  " in line]
    assert len(rows) == 5
    for i, row in enumerate(sorted(rows)):
        name = row.split()[0]
        assert name.startswith("encoder/") and "…" in name
        assert name.endswith(f"dense_{i}/MatMul")  # the end tells the five apart
        assert row.split()[2:4] == ["8.19", "K"]  # 2*64*64 = 8192 FLOPs, humanized
    notes = lines[lines.index("notes:") + 1 :]
    assert notes[0].startswith("  - outputs not given") and notes[1].startswith("    ")


def _embedding_graph() -> proto.GraphDef:
    """An embedding table beside a dense layer: most params, no FLOPs.

    ids[1,8] → GatherV2 from embedding[1000,64]   params 64,000, FLOPs 0
    x[1,64] → MatMul w[64,64] → BiasAdd b[64] → Relu
              FLOPs 2·64·64 = 8,192 + 64; params 4,096 + 64; Relu 0 under tfprof
    """
    g = proto.GraphDef()
    placeholder(g, "ids", [1, 8], DT_INT32)
    weights(g, "embedding", [1000, 64])
    axis = g.node.add(name="axis", op="Const")
    axis.attr["dtype"].type = DT_INT32
    axis.attr["value"].tensor.dtype = DT_INT32
    axis.attr["value"].tensor.int_val.append(0)
    gather = g.node.add(name="embed", op="GatherV2")
    gather.input.extend(["embedding", "ids", "axis"])
    gather.attr["Tparams"].type = proto.DATA_TYPES["DT_FLOAT"]
    gather.attr["Tindices"].type = DT_INT32
    placeholder(g, "x", [1, 64])
    weights(g, "w", [64, 64])
    weights(g, "b", [64])
    op(g, "dense", "MatMul", ["x", "w"])
    op(g, "bias", "BiasAdd", ["dense", "b"])
    op(g, "relu", "Relu", ["bias"])
    return g


@pytest.fixture(scope="module")
def embedding():
    p = tfflops.profile(_embedding_graph(), tfprof=False)
    assert p.totals["params"] == 68160  # 64,000 + 4,096 + 64
    return p


def _grid_rows(text: str) -> list[str]:
    """The first cells of a table's grid rows (the lines below its rule)."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    rows = []
    for line in lines[rule + 1 :]:
        if not line or line.startswith("…"):
            break
        rows.append(line.split()[0])
    return rows


def test_a_shortened_table_says_what_it_left_out(embedding):
    # The embedding costs no FLOPs, so it sorts last: --top 2 leaves it out, and says so.
    text = render(embedding, "table", "op", 2)
    assert _grid_rows(text) == ["MatMul", "BiasAdd"]
    # 64,000 / 68,160 = 93.9% of the params; no FLOPs hidden, so none are named
    assert "… 1 more op type, 93.9% of params; --top 0 for all\n" in text
    nodes = render(embedding, "table", "node", 1)
    assert _grid_rows(nodes) == ["dense"]
    # bias 64 of 8,256 FLOPs = 0.8%; (64 + 64,000) of 68,160 params = 94.0%
    assert "… 2 more nodes, 0.8% of FLOPs, 94.0% of params; --top 0 for all\n" in nodes


def test_top_0_is_every_row(embedding):
    text = render(embedding, "table", "op", 0)
    assert _grid_rows(text) == ["MatMul", "BiasAdd", "GatherV2"]
    assert "more op type" not in text and "--top 0" not in text
    nodes = render(embedding, "table", "node", 0)
    assert _grid_rows(nodes) == ["dense", "bias", "embed"]


def test_the_default_node_table_says_what_it_left_out(tmp_path):
    # Five MatMuls of 8,192 FLOPs and 4,096 params each, --top 3: two are left out.
    model = _wide_graph(tmp_path / "wide.pb")
    text = render(tfflops.profile(model, tfprof=False), "table", top=3)
    # 2 of 5 equal nodes: 40.0% of the FLOPs and of the params
    assert text.count("… 2 more nodes, 40.0% of FLOPs, 40.0% of params; --top 0 for all") == 1
    assert "more op type" not in text  # the op-type table always has every row


def test_markdown_says_what_it_left_out(embedding):
    text = render(embedding, "markdown", "op", 2)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `MatMul` | 1 | 8,192 |") and len(rows) == 2
    # The markdown table holds every op type, Const and Placeholder included: 6 in all.
    assert "… 4 more op types, 93.9% of params; `--top 0` for all" in text


def _totals(table: str) -> dict[str, str]:
    """The totals block: label → value (columns two or more spaces apart)."""
    block = table.split("\n\n")[1]
    return {k: v.strip() for k, v in (ln.strip().split("  ", 1) for ln in block.splitlines())}


def test_flops_and_macs_are_never_confused():
    conv_bias = SAMPLES / "conv_bias.pb"
    macs = render(tfflops.profile(conv_bias, convention="macs", tfprof=False))
    assert _totals(macs)["MACs (macs)"] == "221,184 (221.18 K)"  # 3*3*3*32*32*8
    assert "FLOPs (macs)" not in macs
    grid_header = next(line for line in macs.splitlines() if line.startswith("op type"))
    assert grid_header.split()[:4] == ["op", "type", "n", "MACs"]
    flops = render(tfflops.profile(conv_bias, convention="exact", tfprof=False))
    # (2*3*3*3 - 1)*32*32*8 + 32*32*8 = 434176 + 8192
    assert _totals(flops)["FLOPs (exact)"] == "442,368 (442.37 K)"
    assert "MACs" not in flops


def test_a_profile_with_nothing_to_count_renders(samples):
    # The outputs are the input itself: no node with FLOPs or parameters, no grid.
    p = tfflops.profile(samples / "conv_bias.pb", outputs="x", tfprof=False)
    text = render(p, "table")
    assert "FLOPs (tfprof)     0" in text
    assert "no node the outputs need has FLOPs or parameters" in text
