"""Function bodies (If, While, Case, PartitionedCall): counted by tfflops, never by tf.profiler.

Real TF2 graphs built with tf.function: un-lowered as ``concrete_function.graph`` gives
them (weights passed as arguments) and frozen by ``convert_variables_to_constants_v2``
with ``lower_control_flow=False`` (weights become Consts fed to the call). A call node's
figures sum its bodies under every convention; under ``tfprof`` that is what tf.profiler
counts once the graph is lowered. On the graph as loaded tf.profiler counts 0 for it: the
node's status is ``explained``, never ``mismatch``.
Hand-built FunctionDefs cover what TensorFlow will not build: unknown output args,
recursion, deep nesting.
"""

import numpy as np
import pytest
import tensorflow as tf
from builders import placeholder
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)
from tf_builders import graph_def_of

import tfflops
from tfflops.analysis.ops import Cost, OpView
from tfflops.analysis.ops.calls import function_call
from tfflops.graph import proto
from tfflops.graph.index import TensorRef
from tfflops.graph.library import MAX_DEPTH, function_body

tf.get_logger().setLevel("ERROR")
FLOAT = proto.DATA_TYPES["DT_FLOAT"]
CONVENTIONS = ("tfprof", "macs", "exact", "full")
MISMATCH = "mismatch"
X = tf.TensorSpec([4, 8], name="x")


# ---------------------------------------------------------------- helpers


def unlowered(concrete) -> proto.GraphDef:
    """The function's graph as tf.function traced it: If/While/calls into the library."""
    return graph_def_of(concrete.graph.as_graph_def())


def frozen(concrete, lower: bool = False) -> proto.GraphDef:
    converted = convert_variables_to_constants_v2(concrete, lower_control_flow=lower)
    return graph_def_of(converted.graph.as_graph_def())


def profile(tmp_path, graph_def, tfprof=True):
    path = tmp_path / "model.pb"
    path.write_bytes(graph_def.SerializeToString())
    return tfflops.profile(path, outputs=["Identity"], tfprof=tfprof)


def call_row(p, ops):
    (row,) = [r for r in p.rows if r.op in ops]
    return row


def figures(p, row) -> dict[str, int]:
    return {c: p.flops_of(row, c) for c in CONVENTIONS}


def totals(p) -> dict[str, int]:
    return {c: p.total_flops(c) for c in CONVENTIONS}


def statuses(p) -> set[str]:
    return {v.status for v in p.verdicts}


# ---------------------------------------------------------------- If


def cond_model(x, p, w1, w2):
    return tf.cond(p > 0, lambda: x @ w1, lambda: tf.nn.relu(x @ w2))


@pytest.fixture(scope="module")
def cond_graphs():
    w_spec = tf.TensorSpec([8, 16])
    args = tf.function(cond_model).get_concrete_function(
        X, tf.TensorSpec([], name="p"), w_spec, w_spec
    )
    w1 = tf.Variable(np.full([8, 16], 0.5, np.float32))
    w2 = tf.Variable(np.full([8, 16], -0.5, np.float32))
    closed = tf.function(lambda x, p: cond_model(x, p, w1, w2))
    variables = closed.get_concrete_function(X, tf.TensorSpec([], name="p"))
    return {
        "unlowered": unlowered(args),
        "frozen": frozen(variables),
        "lowered": frozen(variables, lower=True),
        "variables": unlowered(variables),
    }


@pytest.mark.parametrize("kind, params", [("unlowered", 0), ("frozen", 128 + 128)])
def test_cond_counts_the_most_expensive_branch(tmp_path, cond_graphs, kind, params):
    p = profile(tmp_path, cond_graphs[kind])
    cond = call_row(p, {"If", "StatelessIf"})
    # then x[4,8] @ W1[8,16]: 2*8*(4*16) = 1024 (macs 8*64 = 512, exact (2*8-1)*64 = 960);
    # else relu(x @ W2): the same + Relu 4*16 = 64 under full only, so the else branch is
    # the most expensive (p is fed: the branch taken is not known statically).
    # tfprof: 1024 + 1024, both, what tf.profiler counts once lowered
    assert figures(p, cond) == {"tfprof": 2048, "macs": 512, "exact": 960, "full": 1088}
    assert cond.output_shapes == [[4, 16]]
    assert cond.params == params  # frozen: the two [8,16] Consts, either may be read
    # Outside the If only p > 0: one comparison (tf.profiler: 1; exact and macs: 0).
    assert totals(p) == {"tfprof": 2049, "macs": 512, "exact": 960, "full": 1089}
    assert p.totals["tfprof_flops"] == 1  # tf.profiler never looks inside the branches
    assert MISMATCH not in statuses(p)
    verdict = p.verdicts[p.rows.index(cond)]
    assert (verdict.status, verdict.tfprof_flops) == ("explained", 0)
    assert "else cond_false" in verdict.note
    assert "the most expensive branch" in verdict.note
    assert "function body counted by tfflops; tf.profiler sees none of it" in verdict.note
    # The views list both branches' nodes, the one not counted at 0 (tfprof: its 1024).
    inner = [r for r in p.leaf_records() if r["function"] is not None and r["op"] == "MatMul"]
    assert sorted(r["flops"] for r in inner) == [1024, 1024]
    macs = tfflops.profile(cond_graphs[kind], outputs=["Identity"], convention="macs", tfprof=False)
    inner = [r for r in macs.leaf_records() if r["function"] is not None and r["op"] == "MatMul"]
    assert sorted(r["flops"] for r in inner) == [0, 512]


@pytest.mark.parametrize("taken, macs", [(True, 512), (False, 8 * 4 * 16 + 16 * 4 * 2)])
def test_cond_on_a_constant_counts_the_branch_taken(tmp_path, taken, macs):
    w1 = tf.constant(np.ones([8, 16], np.float32))
    w2 = tf.constant(np.ones([8, 16], np.float32))
    w3 = tf.constant(np.ones([16, 2], np.float32))

    def model(x):
        return tf.cond(tf.constant(taken), lambda: x @ w1, lambda: (x @ w2) @ w3)[:, :2]

    p = profile(tmp_path, unlowered(tf.function(model).get_concrete_function(X)), tfprof=False)
    cond = call_row(p, {"If", "StatelessIf"})
    # then: x[4,8] @ w1[8,16]: 8*(4*16) = 512 MACs; else: 512 + [4,16] @ [16,2] 16*(4*2) = 128.
    assert p.flops_of(cond, "macs") == macs
    assert cond.cost.tfprof == 2 * 512 + 2 * (512 + 128)  # tf.profiler once lowered: both
    assert cond.output_shapes == [[4, 16] if taken else [4, 2]]  # the branch taken's
    note = p.verdicts[p.rows.index(cond)].note
    assert ("then" if taken else "else") + " cond_" in note and "known statically" in note


def test_lowered_cond_is_what_tf_profiler_counts(tmp_path, cond_graphs):
    p = profile(tmp_path, cond_graphs["frozen"])
    lowered = profile(tmp_path, cond_graphs["lowered"])
    assert not any(r.op in {"If", "StatelessIf"} for r in lowered.rows)
    # The un-lowered graph, bodies included, under the tfprof convention: Greater 1 + the
    # two branches 1024 + 1024 — tf.profiler's total once Switch/Merge replace the If.
    assert p.total_flops("tfprof") == 2049
    assert lowered.totals["tfprof_flops"] == 2049
    assert lowered.totals["flops"] == 2049
    assert lowered.totals["params"] == p.totals["params"] == 256  # 8*16 + 8*16


def test_lowered_cond_on_a_fed_predicate_counts_its_most_expensive_side(tmp_path, cond_graphs):
    lowered = profile(tmp_path, cond_graphs["lowered"])
    # As the If it was (test_cond_counts_the_most_expensive_branch): Greater 1 (tfprof and
    # full) + the else side relu(x @ W2), 1024 + 64 under full, over the then side's 1024;
    # tfprof keeps both sides, as tf.profiler counts them.
    assert totals(lowered) == {"tfprof": 2049, "macs": 512, "exact": 960, "full": 1089}
    assert lowered.totals["params"] == 256  # both sides' weights, 8*16 + 8*16
    (note,) = [n for n in lowered.notes if "not known statically" in n]
    assert note.startswith("1 Switch predicate(s) not known statically: the most expensive side")
    matmuls = sorted(lowered.flops_of(r, "full") for r in lowered.rows if r.op == "MatMul")
    assert matmuls == [0, 1024]  # x[4,8] @ W[8,16]: 2·8·64 = 1024
    assert MISMATCH not in statuses(lowered)


def test_variables_read_through_resource_placeholders_are_not_guessed(tmp_path, cond_graphs):
    # Un-frozen, a variable reaches the branch as a bare resource handle: its shape is
    # unknown, so the MatMuls are named as not counted rather than counted wrong.
    p = profile(tmp_path, cond_graphs["variables"], tfprof=False)
    cond = call_row(p, {"If", "StatelessIf"})
    assert figures(p, cond) == {"tfprof": 0, "macs": 0, "exact": 0, "full": 0}
    # The two MatMuls, and the else branch's Relu of the MatMul's unknown output.
    inner = sorted(where.split("/", 1)[1] for where in cond.inner_unknown)
    assert inner == ["cond/Relu", "cond/matmul", "cond/matmul"]
    assert "not counted inside" in cond.note and "MatMul" in cond.note


# ---------------------------------------------------------------- While


def loop_model(x, w):
    def body(i, h):
        return i + 1, h @ w

    return tf.while_loop(lambda i, h: i < 3, body, [tf.constant(0), x])[1]


@pytest.fixture(scope="module")
def loop_graphs():
    args = tf.function(loop_model).get_concrete_function(X, tf.TensorSpec([8, 8]))
    w = tf.Variable(np.eye(8, dtype=np.float32))
    variables = tf.function(lambda x: loop_model(x, w)).get_concrete_function(X)
    return {"unlowered": unlowered(args), "frozen": frozen(variables)}


@pytest.mark.parametrize("kind, params", [("unlowered", 0), ("frozen", 8 * 8)])
def test_while_counts_its_trip_count(tmp_path, loop_graphs, kind, params):
    p = profile(tmp_path, loop_graphs[kind])
    loop = call_row(p, {"While", "StatelessWhile"})
    # i from 0 by 1 while i < 3: 3 iterations, the cond runs 4 times.
    # body: h[4,8] @ W[8,8] 2*8*(4*8) = 512 (macs 8*32 = 256, exact (2*8-1)*32 = 480),
    # i + 1 and the loop counter + 1: 1 + 1; cond: i < 3, 1 (a comparison: not in exact).
    # tfprof: 512 + 1 + 1 + 1, what tf.profiler counts for one lowered iteration;
    # macs 3*256 = 768; exact 3*(480 + 1 + 1) = 1446; full 3*(512 + 1 + 1) + 4*1 = 1546
    assert figures(p, loop) == {"tfprof": 515, "macs": 768, "exact": 1446, "full": 1546}
    assert totals(p) == {"tfprof": 515, "macs": 768, "exact": 1446, "full": 1546}
    assert (loop.loop.trips, loop.loop.given) == (3, False)
    # Loop variables: counter, maximum_iterations, i, h, W — h keeps its shape.
    assert loop.output_shapes == [[], [], [], [4, 8], [8, 8]]
    assert loop.params == params
    assert MISMATCH not in statuses(p)
    note = p.verdicts[p.rows.index(loop)].note
    assert "3 iteration(s)" in note and "cond runs once more" in note
    assert "tf.profiler sees none of it" in note
    # The views' rows are the body's nodes, repeated: they add up to the loop's figure.
    matmul = [r for r in p.leaf_records() if r["op"] == "MatMul"]
    assert [r["flops"] for r in matmul] == [512]  # tfprof: one iteration
    macs = tfflops.profile(loop_graphs[kind], outputs=["Identity"], convention="macs", tfprof=False)
    assert [r["flops"] for r in macs.leaf_records() if r["op"] == "MatMul"] == [768]


def test_loop_variable_that_grows_is_counted_as_it_enters(tmp_path):
    def grow(x):
        def body(i, h):
            return i + 1, tf.concat([h * 2.0, h], 0)

        invariants = [tf.TensorShape([]), tf.TensorShape([None, 8])]
        return tf.while_loop(lambda i, h: i < 2, body, [0, x], shape_invariants=invariants)[1]

    p = profile(tmp_path, unlowered(tf.function(grow).get_concrete_function(X)))
    loop = call_row(p, {"While", "StatelessWhile"})
    # One pass with h as it enters, [4,8]: Mul 4*8 = 32, i + 1, counter + 1, i < 2.
    assert loop.cost.tfprof == 35  # 32 + 1 + 1 + 1
    assert loop.output_shapes[3] == [None, 8]  # h: the body doubles its rows
    assert "change shape in the body" in loop.note
    assert MISMATCH not in statuses(p)


# ---------------------------------------------------------------- calls


@tf.function
def inner(x, w):
    return tf.nn.relu(x @ w)


@tf.function
def middle(x, w):
    return inner(x, w) + 1.0


@tf.function
def top(x, w):
    return middle(x, w) * 2.0


def test_nested_calls_count_recursively(tmp_path):
    graph_def = unlowered(top.get_concrete_function(X, tf.TensorSpec([8, 2])))
    p = profile(tmp_path, graph_def)
    call = call_row(p, {"PartitionedCall", "StatefulPartitionedCall"})
    # inner: x[4,8] @ w[8,2] 2*8*(4*2) = 128 (macs 8*8 = 64, exact (2*8-1)*8 = 120) + Relu
    # 4*2 = 8 (full); middle: + AddV2 8. The call node is middle.
    # tfprof: 128 + 8
    assert figures(p, call) == {"tfprof": 136, "macs": 64, "exact": 128, "full": 144}
    assert call.output_shapes == [[4, 2]]
    # top's own Mul by 2: 4*2 = 8 under every convention but macs.
    assert totals(p) == {"tfprof": 144, "macs": 64, "exact": 136, "full": 152}
    assert p.totals["tfprof_flops"] == 8
    assert MISMATCH not in statuses(p)


@tf.function
def embedded(x):
    return x @ tf.constant(np.ones([8, 2], np.float32))


def test_const_inside_a_function_is_a_parameter_once(tmp_path):
    graph_def = unlowered(tf.function(lambda x: embedded(x) + embedded(x)).get_concrete_function(X))
    p = profile(tmp_path, graph_def)
    calls = [r for r in p.rows if r.op == "PartitionedCall"]
    assert len(calls) == 2
    assert [r.params for r in calls] == [16, 0]  # the 8*2 weight, shared by both calls
    assert p.totals["params"] == 16
    assert p.total_flops("macs") == 128  # 2 calls * 8*(4*2)
    assert MISMATCH not in statuses(p)


@tf.function
def switch(b, x, w):
    return tf.switch_case(b, [lambda: x @ w, lambda: tf.nn.relu(x @ w), lambda: x @ w + 1.0])


def test_case_counts_its_most_expensive_branch(tmp_path):
    concrete = switch.get_concrete_function(
        tf.TensorSpec([], tf.int32, name="b"), X, tf.TensorSpec([8, 16])
    )
    p = profile(tmp_path, unlowered(concrete))
    case = call_row(p, {"Case", "StatelessCase"})
    # Each branch x[4,8] @ w[8,16]: 1024 (macs 512, exact 960); branch 1 + Relu 64 (full
    # only), branch 2 + AddV2 64 (every convention but macs). b is fed: the most expensive
    # branch under full counts, branches 1 and 2 tie at 1024 + 64: the first, branch 1.
    assert figures(p, case) == {
        "tfprof": 3136,  # every branch: 1024 + 1024 + (1024 + 64)
        "macs": 512,
        "exact": 960,
        "full": 1088,  # 1024 + 64
    }
    assert case.output_shapes == [[4, 16]]
    note = p.verdicts[p.rows.index(case)].note
    assert "branch 1 " in note and "the most expensive branch" in note
    assert "tfprof counts every branch" in note
    assert MISMATCH not in statuses(p)


def test_the_call_formula_sums_its_bodies():
    then = Cost(macs=512, mac_outputs=64, tfprof=1024)
    orelse = Cost(macs=512, mac_outputs=64, other=64, tfprof=1024)
    # Bodies add field by field, tf.profiler's figures too (what it counts once lowered).
    assert function_call(OpView("If", bodies=(then, orelse))) == Cost(1024, 128, 0, 64, 2048)


# ---------------------------------------------------------------- hand-built functions


def function(g, name, nodes, ret):
    """A float → float function of argument ``x``: ``nodes`` are (name, op, inputs, f)."""
    fn = g.library.function.add()
    fn.signature.name = name
    fn.signature.input_arg.add(name="x", type=FLOAT)
    fn.signature.output_arg.add(name="y", type=FLOAT)
    for node_name, op, inputs, callee in nodes:
        node = fn.node_def.add(name=node_name, op=op, input=inputs)
        node.attr["T"].type = FLOAT
        if callee:
            make_call(node, callee)
    fn.ret["y"] = ret
    return fn


def make_call(node, callee):
    node.attr["f"].func.name = callee
    node.attr["Tin"].list.type.append(FLOAT)
    node.attr["Tout"].list.type.append(FLOAT)


def calling_graph(*functions) -> proto.GraphDef:
    """x[2,3] → PartitionedCall of the first function → Identity."""
    g = proto.GraphDef()
    placeholder(g, "x", [2, 3])
    make_call(g.node.add(name="call", op="PartitionedCall", input=["x"]), functions[0][0])
    g.node.add(name="Identity", op="Identity", input=["call"]).attr["T"].type = FLOAT
    for name, nodes, ret in functions:
        function(g, name, nodes, ret)
    return g


def test_unknown_output_arg_is_unsupported_with_a_reason(tmp_path):
    g = calling_graph(
        (
            "f",
            [
                ("sq", "Square", ["x"], None),
                ("n", "MyMultiOutputOp", ["sq:y:0"], None),
                ("r", "Relu", ["n:second:0"], None),
            ],
            "r:activations:0",
        )
    )
    p = profile(tmp_path, g, tfprof=False)
    call = call_row(p, {"PartitionedCall"})
    assert call.cost is not None  # counted for the rest: Square of x[2,3], 2*3 = 6
    assert call.cost.tfprof == 6
    assert figures(p, call)["full"] == 6
    assert call.inner_unsupported == {"MyMultiOutputOp": 1}
    assert call.inner_unknown == ["f/r"]
    assert "f/r (Relu: input 'n:second:0' in function f: output arg 'second'" in call.note
    assert call.output_shapes == [None]  # f returns r, which nobody could place
    # the profile as a whole reports what its function bodies hold
    assert p.unsupported_ops == {"MyMultiOutputOp": 1}
    assert any("f/r" in note for note in p.notes)
    # and `tfflops check --fail-on unsupported,unknown-shape` sees them
    from tfflops.pipelines.check import measurement_of

    findings = measurement_of(p).findings
    assert findings["unsupported"] == ("call/MyMultiOutputOp",)
    assert findings["unknown-shape"] == ("f/r",)


def test_recursive_function_is_followed_once(tmp_path):
    g = calling_graph(
        (
            "f",
            [("sq", "Square", ["x"], None), ("again", "PartitionedCall", ["sq:y:0"], "f")],
            "again:output:0",
        )
    )
    p = profile(tmp_path, g, tfprof=False)
    call = call_row(p, {"PartitionedCall"})
    assert call.cost.tfprof == 6  # the Square of the first pass, 2*3
    assert call.inner_unknown == ["f/again"]
    assert "recursive call of f not followed" in call.note


def test_mutual_recursion_is_followed_once_each(tmp_path):
    g = calling_graph(
        (
            "f",
            [("sq", "Square", ["x"], None), ("c", "PartitionedCall", ["sq:y:0"], "g")],
            "c:output:0",
        ),
        (
            "g",
            [("ng", "Neg", ["x"], None), ("c", "PartitionedCall", ["ng:y:0"], "f")],
            "c:output:0",
        ),
    )
    p = profile(tmp_path, g, tfprof=False)
    call = call_row(p, {"PartitionedCall"})
    assert call.cost.tfprof == 12  # Square 2*3 in f + Neg 2*3 in g; g's call of f is cut
    assert "recursive call of f not followed" in call.note


def test_nesting_deeper_than_the_limit_is_cut(tmp_path):
    depth = MAX_DEPTH + 8
    chain = [
        (
            f"f{k}",
            [("sq", "Square", ["x"], None)]
            + ([("c", "PartitionedCall", ["sq:y:0"], f"f{k + 1}")] if k + 1 < depth else []),
            "c:output:0" if k + 1 < depth else "sq:y:0",
        )
        for k in range(depth)
    ]
    p = profile(tmp_path, calling_graph(*chain), tfprof=False)
    call = call_row(p, {"PartitionedCall"})
    assert MAX_DEPTH == 32
    assert call.cost.tfprof == 192  # f0 .. f31 each Square 2*3: 32 * 6
    assert f"calls nested deeper than {MAX_DEPTH}" in call.note


# Output args → flat output index: the table for several args, ``i`` for one list arg.
INDEX_CASES = [
    ("FusedBatchNormV3", "y", 0, 0),
    ("FusedBatchNormV3", "batch_variance", 0, 2),
    ("FusedBatchNormV3", "reserve_space_3", 0, 5),
    ("Switch", "output_true", 0, 1),
    ("Merge", "value_index", 0, 1),
    ("TopKV2", "indices", 0, 1),
    ("SparseSoftmaxCrossEntropyWithLogits", "backprop", 0, 1),
    ("MatMul", "product", 0, 0),
    ("Split", "output", 2, 2),
    ("IdentityN", "output", 1, 1),
    ("FusedBatchNormV3", "batch_varience", 0, "FusedBatchNormV3 has no output arg"),
    ("FusedBatchNormV3", "batch_mean", 1, "output 'batch_mean' of FusedBatchNormV3 is one"),
    ("MyMultiOutputOp", "second", 0, "not in tfflops' table"),
]


@pytest.mark.parametrize("op, arg, index, expected", INDEX_CASES)
def test_output_arg_to_flat_index(op, arg, index, expected):
    fn = proto.GraphDef().library.function.add()
    fn.signature.name = "f"
    fn.signature.input_arg.add(name="x", type=FLOAT)
    fn.node_def.add(name="p", op=op, input=["x"])
    fn.node_def.add(name="r", op="Identity", input=[f"p:{arg}:{index}"])
    body = function_body(fn)
    if isinstance(expected, int):
        assert body.graph.inputs["r"] == [TensorRef("p", expected)]
        assert body.unresolved == {}
    else:
        assert expected in body.unresolved["r"]


def test_op_read_through_two_arg_names_is_not_guessed():
    fn = proto.GraphDef().library.function.add()
    fn.signature.name = "f"
    fn.signature.input_arg.add(name="x", type=FLOAT)
    fn.node_def.add(name="p", op="MyOp", input=["x"])
    fn.node_def.add(name="a", op="Identity", input=["p:y:0"])
    fn.node_def.add(name="b", op="Identity", input=["p:z:0"])
    body = function_body(fn)
    assert sorted(body.unresolved) == ["a", "b"]
    assert "read through output args 'y', 'z'" in body.unresolved["a"]


# ---------------------------------------------------------------- body rows in the views


def test_function_body_nodes_are_rows_of_the_views(tmp_path):
    from tfflops.reports.text import group_rows

    w = tf.constant(np.full([8, 16], 0.5, np.float32))

    @tf.function
    def inner(x):
        return tf.nn.relu(tf.matmul(x, w, name="dense"), name="act")

    outer = tf.function(lambda x: tf.identity(inner(x), name="Identity"))
    p = profile(tmp_path, unlowered(outer.get_concrete_function(X)), tfprof=False)
    (call,) = [r for r in p.rows if r.inner]
    by_op = {r["name"]: r for r in group_rows(p, "op")}
    # x[4,8] @ w[8,16]: 2·8·(4·16) = 1024 under tfprof, on the body's own MatMul row
    assert by_op["MatMul"]["flops"] == 1024
    # The call keeps only what its body's rows do not hold: the 8·16 = 128 weights
    assert by_op[call.op]["flops"] == 0 and by_op[call.op]["params"] == 128
    by_node = {r["name"]: r for r in group_rows(p, "node")}
    assert by_node["dense"]["op"] == "MatMul" and by_node["dense"]["function"] is not None
    doc = p.to_dict()
    inner_names = {r["name"] for r in doc["function_nodes"]}
    assert {"dense", "act"} <= inner_names
    # nodes[] stays the graph's own nodes: their sum is the total, no double count
    assert sum(n["flops"] for n in doc["nodes"]) == doc["totals"]["flops"] == 1024


# ---------------------------------------------------------------- dead code in bodies


@tf.function
def wasteful(x):
    unused = x @ tf.constant(np.ones([8, 8], np.float32))  # nothing reads it  # noqa: F841
    return x * 2.0


def test_a_body_counts_only_what_its_outputs_need(tmp_path):
    graph_def = unlowered(tf.function(lambda x: wasteful(x)).get_concrete_function(X))
    p = profile(tmp_path, graph_def)
    call = call_row(p, {"PartitionedCall", "StatefulPartitionedCall"})
    # x[4,8] * 2: 32 under every convention but macs; the MatMul and its [8,8] weight: none
    assert figures(p, call) == {"tfprof": 32, "macs": 0, "exact": 32, "full": 32}
    assert p.totals["params"] == 0
    assert "node(s) no output needs, not counted" in call.note
    assert MISMATCH not in statuses(p)
    # Freezing drops them too: inlined, they would be outputs of the graph.
    with pytest.warns(tfflops.FreezeWarning, match="2 node\\(s\\) of function bodies dropped"):
        frozen = tfflops.freeze(graph_def, ["Identity"], lower_control_flow=True)
    assert not any(n.op == "MatMul" for n in frozen.node)
    flat = profile(tmp_path, frozen)
    assert flat.totals["tfprof_flops"] == flat.totals["flops"] == 32


def test_notes_give_tf_profilers_own_figures(tmp_path):
    # Two outputs; profiled to the second, the first (a call tf.profiler counts 0 for) is
    # of no phase the outputs need: tf.profiler's total holds nothing of it.
    both = tf.function(lambda x: (embedded(x), x * 2.0)).get_concrete_function(X)
    path = tmp_path / "model.pb"
    path.write_bytes(unlowered(both).SerializeToString())
    p = tfflops.profile(path, outputs=["Identity_1"])
    assert p.totals["tfprof_flops"] == 32  # x * 2
    assert not any("tf.profiler's total includes" in n for n in p.notes)


def looping_graph(loops: int, bound: int = 5) -> proto.GraphDef:
    """``loops`` While nodes, each h = relu(h) on x[2,3] while i < ``bound``, sharing one
    cond and one body function."""
    int32 = proto.DATA_TYPES["DT_INT32"]
    g = proto.GraphDef()
    placeholder(g, "x", [2, 3])
    zero = g.node.add(name="zero", op="Const")
    zero.attr["dtype"].type = int32
    zero.attr["value"].tensor.dtype = int32
    zero.attr["value"].tensor.int_val.append(0)
    for name, outputs, nodes, rets in (
        (
            "cond",
            [("out", proto.DATA_TYPES["DT_BOOL"])],
            [("less", "Less", ["i", "five:output:0"])],
            {"out": "less:z:0"},
        ),
        (
            "body",
            [("i_out", int32), ("h_out", FLOAT)],
            [("add", "AddV2", ["i", "one:output:0"]), ("relu", "Relu", ["h"])],
            {"i_out": "add:z:0", "h_out": "relu:activations:0"},
        ),
    ):
        fn = g.library.function.add()
        fn.signature.name = name
        fn.signature.input_arg.add(name="i", type=int32)
        fn.signature.input_arg.add(name="h", type=FLOAT)
        for arg, dtype in outputs:
            fn.signature.output_arg.add(name=arg, type=dtype)
        for const, value in (("five", bound), ("one", 1)):
            node = fn.node_def.add(name=const, op="Const")
            node.attr["dtype"].type = int32
            node.attr["value"].tensor.dtype = int32
            node.attr["value"].tensor.int_val.append(value)
        for node_name, op, inputs in nodes:
            node = fn.node_def.add(name=node_name, op=op, input=inputs)
            node.attr["T"].type = FLOAT if op == "Relu" else int32
        fn.ret.update(rets)
    for k in range(loops):
        node = g.node.add(name=f"loop_{k}", op="While", input=["zero", "x"])
        node.attr["T"].list.type.extend([int32, FLOAT])
        node.attr["cond"].func.name = "cond"
        node.attr["body"].func.name = "body"
    return g


def test_loops_sharing_their_functions_share_their_rows():
    p = tfflops.profile(looping_graph(300), outputs=["loop_299"], tfprof=False)
    # Each loop: 5 iterations of Relu on [2,3] (6) and i + 1 (1), and i < 5 six times:
    # 5*7 + 6 = 41 under full. Only loop_299 is an output.
    assert p.total_flops("full") == 41
    loops = [r for r in p.rows if r.op == "While"]
    assert {loop.loop.trips for loop in loops} == {5}
    # Each While row keeps the body's rows once, shared, with the times it runs them.
    assert {id(loop.inner[1].rows) for loop in loops} == {id(loops[0].inner[1].rows)}
    assert [body.times for body in loops[0].inner] == [6, 5]  # cond, body
    relu = [r for r in p.leaf_records() if r["op"] == "Relu" and r["phase"] == "inference"]
    assert [r["flops"] for r in relu] == [0]  # tfprof: tf.profiler has no Relu formula


def test_a_loop_of_two_billion_iterations_is_counted_not_run():
    p = tfflops.profile(looping_graph(1, bound=2**31 - 1), outputs=["loop_0"], tfprof=False)
    # 2^31 − 1 iterations of Relu on [2,3] (6) and i + 1 (1); the condition 2^31 times.
    assert p.total_flops("full") == (2**31 - 1) * 7 + 2**31
    assert p.total_flops("tfprof") == 1 + 1  # one i + 1, one i < bound, as tf.profiler


class Wasteful(tf.Module):
    """A signature that reads a variable into a matmul nothing needs: TensorFlow still
    runs the read (every read of a resource is one of the function's control outputs)."""

    def __init__(self):
        self.w = tf.Variable(tf.ones([6, 5]))
        self.u = tf.Variable(tf.ones([5, 3]))
        self.dead = tf.Variable(tf.ones([6, 7]))

    @tf.function(input_signature=[tf.TensorSpec([1, 6])])
    def serve(self, x):
        unused = x @ self.dead  # noqa: F841
        return {"y": (x @ self.w) @ self.u}


def test_a_variable_only_a_dead_node_reads_is_no_parameter(tmp_path):
    module = Wasteful()
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=module.serve)
    p = tfflops.profile(tmp_path / "saved", convention="macs", tfprof=False)
    assert p.totals["flops"] == 45  # x[1,6] @ w[6,5]: 30, then @ u[5,3]: 15
    assert p.totals["params"] == 45  # w 6*5 + u 5*3; not dead's 6*7 = 42
