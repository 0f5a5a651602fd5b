"""tf.profiler gets a graph in which TensorFlow can evaluate nothing that reaches outside
or grows without bound; tf.profiler's own int64 overflow is explained, not a mismatch.

Importing a graph runs TensorFlow's shape inference, which evaluates what a shape
function needs the value of — here, the dims of a Fill, whose size tf.profiler then
counts. So a tf.profiler figure is the witness: it is the evaluated value when TensorFlow
evaluated, 0 (an incomplete shape) when it did not.
"""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLES

import tfflops
from tfflops.analysis.shapes import infer_shapes
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.graph.index import Graph
from tfflops.graph.loader import load_graph_def
from tfflops.tf.tfprof import EVALUATION_LIMIT, STRIP_ELEMENTS, TFPROF_OPS, profiled_graph_def

DT = proto.DATA_TYPES
FLOAT, INT32, UINT8, STRING = DT["DT_FLOAT"], DT["DT_INT32"], DT["DT_UINT8"], DT["DT_STRING"]


def node(container, name, op, inputs=(), **attrs):
    nodes = container.node_def if isinstance(container, proto.FunctionDef) else container.node
    n = nodes.add(name=name, op=op)
    n.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bool):
            n.attr[key].b = value
        else:
            n.attr[key].type = value
    return n


def const(container, name, values, dtype, shape=None):
    """A Const; ``shape`` larger than the values repeats the last one, as TensorFlow does."""
    n = node(container, name, "Const", dtype=dtype)
    tensor = n.attr["value"].tensor
    tensor.dtype = dtype
    for d in [len(values)] if shape is None else shape:
        tensor.tensor_shape.dim.add(size=d)
    if dtype == STRING:
        tensor.string_val.extend(v.encode() for v in values)
    elif dtype == FLOAT:
        tensor.float_val.extend(values)
    else:
        tensor.int_val.extend(values)
    return n


def witness(g, dims: str):
    """out = Fill(dims, 1.0) + itself: tf.profiler counts N(out) once it knows ``dims``."""
    const(g, "one", [1.0], FLOAT, shape=[])
    node(g, "fill", "Fill", [dims, "one"], T=FLOAT, index_type=INT32)
    node(g, "out", "AddV2", ["fill", "fill"], T=FLOAT)
    return g


def sized_by(g, big: str, dtype=FLOAT):
    """dims = [sign(sum(big))] (as int32): its value needs all of ``big`` evaluated."""
    const(g, "axes", [0, 1], INT32)
    node(g, "sum", "Sum", [big, "axes"], T=dtype, Tidx=INT32, keep_dims=False)
    node(g, "sign", "Sign", ["sum"], T=dtype)
    node(g, "cast", "Cast", ["sign"], SrcT=dtype, DstT=INT32)
    const(g, "one_dim", [1], INT32)
    node(g, "dims", "Reshape", ["cast", "one_dim"], T=INT32, Tshape=INT32)
    return witness(g, "dims")


def tfprof_of(graph_def, name="out"):
    p = tfflops.profile(graph_def, outputs=[name])
    row = next(r for r in p.node_records() if r["name"] == name)
    return row["tfprof_flops"], p


# ---------------------------------------------------------------- reaching outside


def read_file_graph(path) -> proto.GraphDef:
    """dims = [first byte of the file at ``path``]: ReadFile → DecodeRaw → StridedSlice."""
    g = proto.GraphDef()
    const(g, "path", [str(path)], STRING, shape=[])
    node(g, "read", "ReadFile", ["path"])
    node(g, "decode", "DecodeRaw", ["read"], out_type=UINT8, little_endian=True)
    const(g, "b0", [0], INT32)
    const(g, "b1", [1], INT32)
    node(g, "first", "StridedSlice", ["decode", "b0", "b1", "b1"], T=UINT8, Index=INT32)
    node(g, "dims", "Cast", ["first"], SrcT=UINT8, DstT=INT32)
    return witness(g, "dims")


def test_a_file_is_never_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(bytes([42]))  # would show as 42 FLOPs of out
    flops, p = tfprof_of(read_file_graph(secret))
    assert flops == 0
    row = next(r for r in p.node_records() if r["name"] == "out")
    assert row["status"] == "unsupported"  # no shape, for tfflops either
    graph = Graph(read_file_graph(secret))
    copy = profiled_graph_def(graph, infer_shapes(graph))
    read = next(n for n in copy.node if n.name == "read")
    # a Print before the file's path (a string: never evaluated), so never before the read
    assert list(read.input) == ["path/_tfflops_barrier_0"]


def test_a_file_is_never_read_inside_a_function(tmp_path):
    # The same chain in a function's body: importing infers the body's shapes too.
    secret = tmp_path / "secret"
    secret.write_bytes(bytes([42]))
    body = read_file_graph(secret)
    f = proto.FunctionDef()
    f.signature.name = "Leak"
    f.signature.input_arg.add(name="x", type=FLOAT)
    f.signature.output_arg.add(name="y", type=FLOAT)
    outputs = {"ReadFile": "contents", "Cast": "y", "Const": "output", "AddV2": "z"}
    for n in body.node:
        copy = f.node_def.add()
        copy.CopyFrom(n)
        del copy.input[:]
        for raw in n.input:
            producer = next(p for p in body.node if p.name == raw)
            copy.input.append(f"{raw}:{outputs.get(producer.op, 'output')}:0")
    f.ret["y"] = "out:z:0"
    g = proto.GraphDef()
    g.library.function.append(f)
    const(g, "x", [1.0], FLOAT, shape=[])
    for op in ("PartitionedCall", "Leak"):
        call = node(g, f"call_{op}", op, ["x"])
        if op == "PartitionedCall":
            call.attr["f"].func.name = "Leak"
            call.attr["Tin"].list.type.append(FLOAT)
            call.attr["Tout"].list.type.append(FLOAT)
        node(g, f"out_{op}", "AddV2", [f"call_{op}", f"call_{op}"], T=FLOAT)
    p = tfflops.profile(g, outputs=["out_PartitionedCall", "out_Leak"])
    assert {r["name"]: r["tfprof_flops"] for r in p.node_records()}["out_Leak"] == 0
    assert {r["name"]: r["tfprof_flops"] for r in p.node_records()}["out_PartitionedCall"] == 0


# ---------------------------------------------------------------- growing without bound


def fill_bomb(n: int) -> proto.GraphDef:
    g = proto.GraphDef()
    const(g, "big_dims", [n, n], INT32)
    const(g, "big_one", [1.0], FLOAT, shape=[])
    node(g, "big", "Fill", ["big_dims", "big_one"], T=FLOAT, index_type=INT32)
    return sized_by(g, "big")


def splat_bomb(n: int) -> proto.GraphDef:
    # A Const of n·n elements written as one value: TensorFlow repeats it to fill them.
    g = proto.GraphDef()
    const(g, "big", [1], INT32, shape=[n, n])
    return sized_by(g, "big", INT32)


def broadcast_bomb(n: int) -> proto.GraphDef:
    # [n, 1] · [1, n] → [n, n] from two constants of n elements (integers: not weights).
    g = proto.GraphDef()
    const(g, "column", [1], INT32, shape=[n, 1])
    const(g, "row", [1], INT32, shape=[1, n])
    node(g, "big", "Mul", ["column", "row"], T=INT32)
    return sized_by(g, "big", INT32)


BOMBS = {"Fill": fill_bomb, "splat Const": splat_bomb, "broadcast Mul": broadcast_bomb}


@pytest.mark.parametrize("kind", BOMBS)
def test_nothing_over_the_limit_is_evaluated(kind):
    # Just over the limit: small enough that a regression costs nothing here.
    n = 65  # 65·65 = 4225 elements > EVALUATION_LIMIT = 4096
    assert n * n > EVALUATION_LIMIT
    assert tfprof_of(BOMBS[kind](n))[0] == 0
    # Just under: TensorFlow evaluates the dims ([1]) and tf.profiler counts out's 1 element.
    assert tfprof_of(BOMBS[kind](64))[0] == 1  # 64·64 = 4096, N(out) = 1


def test_a_fill_of_gigabytes_is_not_allocated(tmp_path):
    # 30000·30000 floats = 3.6 GB if TensorFlow evaluated the Fill while importing.
    model = tmp_path / "bomb.pb"
    model.write_bytes(fill_bomb(30000).SerializeToString())
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    with open(tmp_path / "stderr", "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "tfflops", "profile", str(model), "--outputs", "out"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not another's
    assert os.waitstatus_to_exitcode(status) == 0
    assert "Traceback" not in (tmp_path / "stderr").read_text()
    assert usage.ru_maxrss * 1024 < 2 * 2**30  # TensorFlow itself takes about 0.7 GB


def test_what_tensorflow_must_not_evaluate_is_read_through_a_barrier():
    g = fill_bomb(100)  # big: 100·100 = 10000 elements, evaluable
    const(g, "weights", [0.5], FLOAT, shape=[STRIP_ELEMENTS + 1])
    graph = Graph(g)
    copy = {n.name: n for n in profiled_graph_def(graph, infer_shapes(graph)).node}
    assert copy["big"].op == "Fill"  # stays: TensorFlow infers its shape
    assert copy["sum"].input[0] == "big/_tfflops_barrier_0"
    assert copy["big/_tfflops_barrier_0"].op == "Print"  # stateful: never evaluated through
    assert list(copy["big/_tfflops_barrier_0"].input) == ["big"]
    assert copy["weights"].op == "Placeholder"  # weights: not copied into TensorFlow
    assert [d.size for d in copy["weights"].attr["shape"].shape.dim] == [STRIP_ELEMENTS + 1]


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()))
def test_the_sample_graphs_reach_tf_profiler_unchanged_but_their_weights(name):
    graph = Graph(load_graph_def(SAMPLES / name))
    copy = profiled_graph_def(graph, infer_shapes(graph))
    changed = [n.name for n, c in zip(graph.graph_def.node, copy.node, strict=True) if n.op != c.op]
    assert len(copy.node) == len(graph)
    weights = [
        n.name
        for n in graph.graph_def.node
        if n.op == "Const"
        and n.attr["value"].tensor.dtype == FLOAT
        and len(n.attr["value"].tensor.tensor_shape.dim) > 0
        and _elements(n) > STRIP_ELEMENTS
    ]
    assert changed == weights


def _elements(n) -> int:
    count = 1
    for d in n.attr["value"].tensor.tensor_shape.dim:
        count *= d.size
    return count


# ---------------------------------------------------------------- tf.profiler's int64


def overflow_graph() -> proto.GraphDef:
    # 2·K·N(out) = 2 · 2^20 · (3·2^21 · 2^20) = 3·2^62 ≥ 2^63: numpy int64 wraps around.
    g = proto.GraphDef()
    for name, shape in (("a", [3 * 2**21, 2**20]), ("b", [2**20, 2**20])):
        p = node(g, name, "Placeholder", dtype=FLOAT)
        for d in shape:
            p.attr["shape"].shape.dim.add(size=d)
    node(g, "out", "MatMul", ["a", "b"], T=FLOAT)
    return g


def test_tf_profiler_int64_overflow_is_explained(tmp_path, capsys):
    _, p = tfprof_of(overflow_graph())
    row = next(r for r in p.node_records() if r["name"] == "out")
    assert row["flops"] == 13835058055282163712  # 3·2^62
    assert row["status"] == "explained"
    assert row["note"] == (
        "tf.profiler's int64 arithmetic cannot hold 13835058055282163712 (2^63 or more)"
    )
    assert (
        "tf.profiler's total is wrong: 1 node(s) need 2^63 FLOPs or more, which its int64 "
        "arithmetic cannot hold (e.g. out)" in p.notes
    )
    model = tmp_path / "model.pb"
    model.write_bytes(overflow_graph().SerializeToString())
    assert main(["check", str(model), "--outputs", "out", "--fail-on", "mismatch"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_tf_profiler_total_is_summed_without_wrapping():
    # Two MatMuls of 2^62 each: tf.profiler's own int64 total wraps to -2^63.
    g = proto.GraphDef()
    for name, shape in (("a", [2**21, 2**20]), ("b", [2**20, 2**20])):
        p = node(g, name, "Placeholder", dtype=FLOAT)
        for d in shape:
            p.attr["shape"].shape.dim.add(size=d)
    node(g, "one", "MatMul", ["a", "b"], T=FLOAT)
    node(g, "two", "MatMul", ["a", "b"], T=FLOAT)
    p = tfflops.profile(g, outputs=["one", "two"])
    assert p.totals["tfprof_flops"] == 2**63  # 2 · (2 · 2^20 · 2^21 · 2^20)
    assert set(p.status_counts()) == {"match"}


def test_tfprof_ops_are_tf_profilers():
    from tensorflow.python.framework import ops

    registered = {key.split(",")[0] for key in ops._stats_registry.list() if key.endswith(",flops")}
    assert registered == TFPROF_OPS


def test_a_string_is_never_evaluated_however_few_its_elements():
    # One element can hold any number of bytes: StringJoin of 3000 references to one 1 MB
    # string is a single 3 GB element, if TensorFlow evaluated it while importing.
    g = proto.GraphDef()
    const(g, "s", ["x" * 2**20], STRING, shape=[])
    joined = node(g, "joined", "StringJoin", ["s"] * 3000, N=3000)
    length = node(g, "length", "StringLength", ["joined"])
    node(g, "dims", "Reshape", ["length", "shape"], T=INT32, Tshape=INT32)
    const(g, "shape", [1], INT32)
    witness(g, "dims")
    graph = Graph(g)
    copy = {n.name: n for n in profiled_graph_def(graph, infer_shapes(graph)).node}
    assert copy["joined"].input[0] == "s/_tfflops_barrier_0"  # its readers read a barrier
    assert copy["s/_tfflops_barrier_0"].op == "Print"
    assert joined.op == "StringJoin" and length.op == "StringLength"
