"""The table report: 80 columns, humanized numbers, the convention and the unit in the labels."""

from pathlib import Path

import pytest

import tfflops
from tfflops.graph import proto
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


@pytest.mark.parametrize("convention", ["tfprof", "macs"])
@pytest.mark.parametrize("by", [None, "node", "op", "scope"])
@pytest.mark.parametrize("model", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_samples_fit_80_columns(model, by, convention):
    text = render(tfflops.profile(model, convention=convention, tfprof=False), "table", by)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert lines[0].endswith(f"[convention: {convention}]")


def test_long_names_and_paths_fit_80_columns(tmp_path):
    model = _wide_graph(tmp_path / ("deeply/nested/" * 6) / "wide_model.pb")
    text = render(tfflops.profile(model, tfprof=False), "table", "node")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    # the file name, the first output and the convention survive the clipping
    assert lines[0].startswith("…") and "wide_model.pb  →  " in lines[0]
    assert "(+4 more)" in lines[0] and lines[0].endswith("[convention: tfprof]")
    rows = [line for line in lines if "MatMul  " in line]
    assert len(rows) == 5
    for i, row in enumerate(sorted(rows)):
        name = row.split()[0]
        assert name.startswith("…") and name.endswith(f"dense_{i}/MatMul")
        assert row.split()[2:4] == ["8.19", "K"]  # 2*64*64 = 8192 FLOPs, humanized
    notes = lines[lines.index("notes:") + 1 :]
    assert notes[0].startswith("  - outputs not given") and notes[1].startswith("    ")


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
