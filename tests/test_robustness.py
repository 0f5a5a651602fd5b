"""Malformed graphs: every node gets a status, nothing crashes, errors name the culprit."""

import os
import stat

import pytest
from builders import ints, placeholder
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


# ---------------------------------------------------------------- hostile inputs: one line


def _one_line_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("tfflops: error: "), err
    return err.rstrip("\n")


def _nested_pbtxt(depth: int) -> str:
    """A Placeholder whose attr nests a function reference ``depth`` NameAttrLists deep."""
    level = 'attr { key: "a" value { func { name: "g" '
    return (
        'node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } '
        + 'attr { key: "f" value { func { name: "g" '
        + level * depth
        + "} } }" * depth
        + " } } } }\n"
    )


@pytest.mark.parametrize("depth", [40, 400])  # parsed but over the binary limit; recursion
@pytest.mark.parametrize("command", ["profile", "inspect"])
def test_a_text_graph_nested_too_deep_is_one_line(capsys, tmp_path, depth, command):
    model = tmp_path / "deep.pbtxt"
    model.write_text(_nested_pbtxt(depth))
    err = _one_line_error(capsys, [command, model])
    assert err == (
        f"tfflops: error: {model}: not a valid text GraphDef: nested deeper than protobuf "
        "allows (100 levels)"
    )


def test_a_text_graph_nested_within_the_limit_is_read(tmp_path):
    model = tmp_path / "deep.pbtxt"
    model.write_text(_nested_pbtxt(5))  # 3 messages per level: 5·3 + 6 = 21 levels
    p = tfflops.profile(str(model), tfprof=False)
    assert p.outputs == ["x"]


def test_a_parse_error_quotes_a_long_line_in_part(capsys, tmp_path):
    model = tmp_path / "long.pbtxt"
    model.write_text('node { name: "x" op: "Placeholder" ' + "attr { key: " * 2000)
    err = _one_line_error(capsys, ["profile", model, "--no-tfprof"])
    assert " … " in err and len(err) < 500


@pytest.mark.parametrize("update", [[], ["--update-baseline"]])
def test_a_baseline_nested_too_deep_is_one_line(capsys, tmp_path, update):
    baseline = tmp_path / "b.json"
    baseline.write_text("[" * 100_000 + "]" * 100_000)
    err = _one_line_error(
        capsys,
        ["check", SAMPLES / "conv_bias.pb", "--no-tfprof", "--baseline", baseline, *update],
    )
    assert err == (
        f"tfflops: error: --baseline {baseline}: not a tfflops baseline (JSON nested too deeply)"
    )
    assert baseline.read_text() == "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("report", ["--summary", "--junit"])
@pytest.mark.parametrize("budget", ["1e999999999999", "1e5000"])
def test_a_budget_past_any_count_is_one_line(capsys, tmp_path, report, budget):
    out = tmp_path / "report"
    err = _one_line_error(
        capsys,
        ["check", SAMPLES / "conv_bias.pb", "--no-tfprof", "--max-flops", budget, report, out],
    )
    assert err == (
        f"tfflops: error: --max-flops '{budget}': over the largest count, 9,223,372,036,854,775,807"
    )
    assert not out.exists()


def _numbers(value):
    """Every int in a JSON document."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


def _negative_const():
    """A float Const of shape [-3, 4] times x: no count may be −12 params."""
    g = proto.GraphDef()
    w = g.node.add(name="w", op="Const")
    w.attr["dtype"].type = F
    w.attr["value"].tensor.dtype = F
    w.attr["value"].tensor.tensor_shape.dim.add(size=-3)
    w.attr["value"].tensor.tensor_shape.dim.add(size=4)
    placeholder(g, "x", [1, 4])
    g.node.add(name="y", op="Mul", input=["x", "w"]).attr["T"].type = F
    return g


def _negative_fill():
    """Fill([-1000, 1000]) added to itself: a formula would count −1,000,000 FLOPs."""
    g = proto.GraphDef()
    placeholder(g, "v", [])
    ints(g, "dims", [-1000, 1000])
    g.node.add(name="fill", op="Fill", input=["dims", "v"]).attr["T"].type = F
    g.node.add(name="y", op="AddV2", input=["fill", "fill"]).attr["T"].type = F
    return g


def _huge_placeholder():
    """x of 2^62·4 elements: over int64, what TensorFlow refuses."""
    g = proto.GraphDef()
    placeholder(g, "x", [2**62, 4])
    g.node.add(name="y", op="Relu", input=["x"]).attr["T"].type = F
    return g


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_negative_const, "shape of output 0 is unknown"),  # broadcast of (1, 4) and (-3, 4)
        (_negative_fill, "shape of output 0 is unknown"),  # Fill's: a negative dimension
        (_huge_placeholder, "has more than 2^63-1 elements, TensorFlow's limit"),
    ],
)
def test_an_invalid_shape_is_never_a_count(make, words):
    p = tfflops.profile(make(), outputs=["y"], tfprof=False)
    doc = p.to_dict()
    y = next(n for n in doc["nodes"] if n["name"] == "y")
    assert y["status"] == "unsupported"
    assert words in y["note"]
    counts = [
        doc["totals"],
        *({k: n[k] for k in ("flops", "params", "bytes")} for n in doc["nodes"]),
    ]
    assert min(_numbers(counts)) >= 0
    assert doc["totals"]["flops"] == 0 and doc["totals"]["params"] == 0
    assert any("with unknown shapes not counted, e.g. y" in n for n in doc["notes"])


def test_an_invalid_shape_cannot_cancel_a_budget(capsys, tmp_path):
    g = _negative_fill()
    placeholder(g, "a", [1, 1000])
    placeholder(g, "b", [1000, 100])
    g.node.add(name="mm", op="MatMul", input=["a", "b"]).attr["T"].type = F
    model = tmp_path / "m.pb"
    model.write_bytes(g.SerializeToString())
    code = main(["check", str(model), "--no-tfprof", "--outputs", "y,mm", "--max-flops", "0"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FLOPs (tfprof) 200,000 (200.00 K) is over the budget 0" in out  # 2·1·1000·100


def _port_999():
    g = proto.GraphDef()
    placeholder(g, "x", [4])
    g.node.add(name="y", op="Relu", input=["x:999"]).attr["T"].type = F
    return g


@pytest.mark.parametrize(
    "argv",
    [
        ["profile", "{m}", "--no-tfprof"],
        ["profile", "{m}"],  # TensorFlow would refuse it too; tfflops says so first
        ["inspect", "{m}"],
        ["freeze", "{m}", "--outputs", "y", "-o", "{out}"],
    ],
)
def test_an_input_past_its_node_outputs_is_one_line(capsys, tmp_path, argv):
    model, out = tmp_path / "m.pb", tmp_path / "out.pb"
    model.write_bytes(_port_999().SerializeToString())
    argv = [a.format(m=model, out=out) for a in argv]
    err = _one_line_error(capsys, argv)
    assert err.endswith(f"{model}: node 'y' reads x:999, but x (Placeholder) has 1 output(s)")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "source"),
    [
        (["profile", "{m}", "--no-tfprof", "--outputs", "output:7"], "{m}"),
        (["freeze", "{m}", "--outputs", "output:7", "-o", "{out}"], "{m}"),
        (["compare", "{m}", "{m}", "--no-tfprof", "--outputs", "output:1"], "<GraphDef>"),
    ],
)
def test_an_output_past_its_node_outputs_is_one_line(capsys, tmp_path, argv, source):
    model, out = tmp_path / "m.pb", tmp_path / "out.pb"
    model.write_bytes((SAMPLES / "conv_bias.pb").read_bytes())
    argv = [a.format(m=model, out=out) for a in argv]
    err = _one_line_error(capsys, argv)
    port = argv[argv.index("--outputs") + 1]
    where = source.format(m=model)
    assert err == f"tfflops: error: --outputs {port}: output (Relu) has 1 output(s) in {where}"
    assert not out.exists()


def test_outputs_past_the_first_are_read_where_the_node_has_them():
    g = proto.GraphDef()
    placeholder(g, "x", [4, 6])
    ints(g, "axis", [1])
    split = g.node.add(name="split", op="Split", input=["axis", "x"])
    split.attr["T"].type = F
    split.attr["num_split"].i = 2
    g.node.add(name="y", op="Relu", input=["split:1"]).attr["T"].type = F
    p = tfflops.profile(g, outputs=["y", "split:1"], convention="full", tfprof=False)
    assert p.totals["flops"] == 12  # Relu on 4·3 elements


@pytest.mark.parametrize(
    "argv",
    [
        ["profile", "{fifo}", "--no-tfprof"],  # reading a FIFO blocks until a writer comes
        ["inspect", "/dev/zero"],  # never ends
        ["check", "{model}", "--no-tfprof", "--baseline", "{fifo}"],
    ],
)
def test_a_file_that_is_no_regular_file_is_one_line(capsys, tmp_path, argv):
    fifo = tmp_path / "fifo.pb"
    os.mkfifo(fifo)
    argv = [a.format(fifo=fifo, model=SAMPLES / "conv_bias.pb") for a in argv]
    err = _one_line_error(capsys, argv)
    assert err.endswith(": not a regular file (a device, FIFO or socket)")


@pytest.mark.parametrize(
    ("op", "key"), [("Range", "Tidx"), ("Cast", "DstT"), ("Shape", "out_type")]
)
def test_a_dtype_attr_of_another_kind_leaves_the_node_unknown(op, key):
    """Found by scripts/fuzz: a dtype given as a string became an output's dtype, and the
    report's dtype column raised a TypeError."""
    g = proto.GraphDef()
    placeholder(g, "x", [4])
    node = g.node.add(name="y", op=op, input=["x"] * (3 if op == "Range" else 1))
    node.attr["T"].type = F
    node.attr[key].s = b"SAME"
    p = tfflops.profile(g, outputs=["y"], tfprof=False)
    y = next(n for n in p.to_dict()["nodes"] if n["name"] == "y")
    assert (y["output_shapes"], y["dtype"]) == ([], None)  # unknown, not a str
    assert f"attr {key} is 'SAME', not a" in p.shapes.unknown["y"]


def test_a_reshape_to_a_shape_of_ten_million_dimensions_is_refused_not_built():
    """Found by scripts/fuzz: Reshape's target shape, a Const of shape [2**31] without
    values, made the shape inference build a 2**31-long tuple (16 GB). TensorFlow's
    shapes have at most 254 dimensions. (10**7 here: a regression costs 80 MB, not 16 GB.)"""
    g = proto.GraphDef()
    placeholder(g, "x", [4])
    target = g.node.add(name="target", op="Const")
    target.attr["dtype"].type = proto.DATA_TYPES["DT_INT32"]
    target.attr["value"].tensor.dtype = proto.DATA_TYPES["DT_INT32"]
    target.attr["value"].tensor.tensor_shape.dim.add(size=10**7)
    g.node.add(name="y", op="Reshape", input=["x", "target"]).attr["T"].type = F
    p = tfflops.profile(g, outputs=["y"], tfprof=False)
    assert "a target shape of 10000000 dimensions (at most 254)" in p.shapes.unknown["y"]
    assert p.totals["flops"] == 0


@pytest.mark.parametrize("then_branch", ["type", "list"])
def test_an_if_whose_branch_attr_names_no_function_is_uncounted_not_a_crash(then_branch):
    # Found by scripts/fuzz: then_branch held a type, so the If seemed to call only its
    # else function, which a true predicate then indexed past (an IndexError traceback).
    g = proto.GraphDef()
    placeholder(g, "x", (2,))
    pred = g.node.add(name="pred", op="Const")
    pred.attr["dtype"].type = proto.DATA_TYPES["DT_BOOL"]
    pred.attr["value"].tensor.dtype = proto.DATA_TYPES["DT_BOOL"]
    pred.attr["value"].tensor.bool_val.append(True)
    f = g.library.function.add()
    f.signature.name = "f0"
    f.signature.input_arg.add(name="a", type=proto.DATA_TYPES["DT_FLOAT"])
    f.signature.output_arg.add(name="y", type=proto.DATA_TYPES["DT_FLOAT"])
    f.ret["y"] = "a"
    node = g.node.add(name="cond", op="If", input=["pred", "x"])
    if then_branch == "type":
        node.attr["then_branch"].type = proto.DATA_TYPES["DT_FLOAT"]
    else:
        node.attr["then_branch"].list.func.add(name="f0")
    node.attr["else_branch"].func.name = "f0"
    p = tfflops.profile(g, outputs=["cond"], tfprof=False)
    (row,) = [r for r in p.rows if r.name == "cond"]
    assert row.cost is None and "attr 'then_branch' names no function" in row.problem
