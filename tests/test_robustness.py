"""Malformed graphs: every node gets a status, nothing crashes, errors name the culprit."""

import os
import stat

import pytest
from builders import placeholder
from conftest import SAMPLES

import tfflops
from tfflops.cli import main
from tfflops.graph import proto

F = proto.DATA_TYPES["DT_FLOAT"]


def _conv_rank3_filter():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 4, 4, 1])
    placeholder(g, "w", [3, 3, 1])
    g.node.add(name="y", op="Conv2D", input=["x", "w"]).attr["padding"].s = b"VALID"
    return g


def _matmul_rank1():
    g = proto.GraphDef()
    placeholder(g, "a", [16])
    placeholder(g, "b", [16, 4])
    g.node.add(name="y", op="MatMul", input=["a", "b"])
    return g


def _data_format_int():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 4, 4, 1])
    placeholder(g, "w", [3, 3, 1, 2])
    n = g.node.add(name="y", op="Conv2D", input=["x", "w"])
    n.attr["padding"].s = b"VALID"
    n.attr["data_format"].i = 1
    return g


def _variable_shape_bytes():
    g = proto.GraphDef()
    v = g.node.add(name="v", op="VarHandleOp")
    v.attr["dtype"].type = F
    v.attr["shape"].s = b"\x08\x10"
    g.node.add(name="r", op="ReadVariableOp", input=["v"]).attr["dtype"].type = F
    placeholder(g, "x", [1, 16])
    g.node.add(name="y", op="MatMul", input=["x", "r"])
    return g


@pytest.mark.parametrize(
    "make", [_conv_rank3_filter, _matmul_rank1, _data_format_int, _variable_shape_bytes]
)
def test_malformed_node_is_unsupported_not_a_crash(make):
    p = tfflops.profile(make(), outputs=["y"], tfprof=False)
    y = next(r for r in p.node_records() if r["name"] == "y")
    assert y["status"] == "unsupported"
    assert y["note"]
    assert p.totals["flops"] == 0


def test_input_shape_on_a_non_input_is_refused(capsys):
    rc = main(
        ["profile", str(SAMPLES / "conv_bias.pb"), "--no-tfprof", "--input-shape", "conv=7,7"]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "'conv' is a Conv2D node, not an input" in err


def test_report_file_is_world_readable(tmp_path):
    old = os.umask(0o022)
    try:
        rc = main(
            ["profile", str(SAMPLES / "conv_bias.pb"), "--no-tfprof", "-o", str(tmp_path / "r.txt")]
        )
    finally:
        os.umask(old)
    assert rc == 0
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o644


def test_unknown_op_is_listed_as_data():
    g = proto.GraphDef()
    placeholder(g, "x", [2, 3])
    g.node.add(name="y", op="MyCustomOp", input=["x"])
    p = tfflops.profile(g, outputs=["y"], tfprof=False)
    assert p.unsupported_ops == {"MyCustomOp": 1}
    y = p.node_records()[-1]
    assert (y["status"], y["note"]) == ("unsupported", "no formula for op MyCustomOp")


def test_custom_op_graph_is_counted_when_tensorflow_cannot_import_it():
    g = proto.GraphDef()
    placeholder(g, "x", [2, 3])
    g.node.add(name="custom", op="MyCustomOp", input=["x"])
    relu = g.node.add(name="y", op="Relu", input=["custom"])
    relu.attr["T"].type = F
    add = g.node.add(name="z", op="AddV2", input=["x", "x"])
    add.attr["T"].type = F
    p = tfflops.profile(g, outputs=["y", "z"])  # tf.profiler on: it cannot import MyCustomOp
    assert p.totals["tfprof_flops"] is None
    assert p.totals["flops"] == 6  # AddV2 on 2*3 elements
    assert any("tf.profiler could not run" in n and "MyCustomOp" in n for n in p.notes)
    z = next(r for r in p.node_records() if r["name"] == "z")
    assert z["status"] == "explained" and "tf.profiler could not run" in z["note"]
