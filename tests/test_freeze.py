"""tfflops freeze: variables → constants, pruned to the outputs, computing what the original does.

Every frozen graph is re-imported into TensorFlow and run on the same input as the
original (whose variables hold the same values); the outputs must agree.
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf
from conftest import CORPUS, SAMPLES
from tf_builders import build, save

import tfflops
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.graph.loader import load_model
from tfflops.pipelines.freeze import freeze_model

tf1 = tf.compat.v1
tf.get_logger().setLevel("ERROR")
SEEDS = ["seed_refvars.pb", "seed_resvars.pb"]
FLOAT, RESOURCE = 1, 20  # DataType enum values


# ---------------------------------------------------------------- helpers


def import_graph(graph_def) -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        tf1.import_graph_def(tf1.GraphDef.FromString(graph_def.SerializeToString()), name="")
    return graph


def present(graph: tf.Graph, feeds) -> dict:
    """The feeds whose tensors ``graph`` has (freezing prunes inputs the outputs ignore)."""
    names = {op.name for op in graph.get_operations()}
    return {k: v for k, v in (feeds or {}).items() if k.split(":")[0] in names}


def run(graph_def, fetches, feeds=None, targets=()):
    """Import ``graph_def`` into a fresh graph, run ``targets``, then return ``fetches``."""
    graph = import_graph(graph_def)
    with tf1.Session(graph=graph) as session:
        if targets:
            session.run(list(targets))
        return session.run(fetches, present(graph, feeds))


def frozen_values(graph_def, names) -> dict[str, np.ndarray]:
    """The values of the Const nodes ``names`` of a frozen graph."""
    nodes = {n.name: n for n in graph_def.node}
    return {
        name: tf.make_ndarray(
            tf1.AttrValue.FromString(nodes[name].attr["value"].SerializeToString()).tensor
        )
        for name in names
    }


def run_with_values(graph_def, values: dict, fetches, feeds=None, targets=()):
    """Run the original graph with its variables set to ``values`` (as the frozen graph holds).

    ``targets`` run first: initializers of variables the frozen graph no longer has.
    """
    graph = import_graph(graph_def)
    with graph.as_default():
        assigns = []
        for name, value in values.items():
            op = graph.get_operation_by_name(name)
            tensor = op.outputs[0]
            if op.type == "VarHandleOp":
                assigns.append(tf.raw_ops.AssignVariableOp(resource=tensor, value=value))
            else:
                assigns.append(tf1.assign(tensor, value))
    with tf1.Session(graph=graph) as session:
        if targets:
            session.run(list(targets))
        session.run(assigns)
        return session.run(fetches, present(graph, feeds))


def assert_same_outputs(original, frozen, fetches, feeds=None, targets=()):
    """The frozen graph computes what the original computes with the same variable values."""
    values = frozen_values(frozen.graph_def, frozen.variables)
    expected = run_with_values(original, values, fetches, feeds, targets)
    actual = run(frozen.graph_def, fetches, feeds)
    for e, a in zip(expected, actual, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-6)
    return actual


def ops_of(graph_def) -> list[str]:
    return sorted(n.op for n in graph_def.node)


# ---------------------------------------------------------------- the seed example


@pytest.mark.parametrize("name", SEEDS)
def test_seed_freeze_then_profile(tmp_path, name):
    out = tmp_path / "frozen.pb"
    with pytest.warns(tfflops.FreezeWarning, match="initializers"):
        graph_def = tfflops.freeze(SAMPLES / name, ["output"], output_path=out)
    assert ops_of(graph_def) == ["Const", "Const", "MatMul"]  # a, b, output
    p = tfflops.profile(out, outputs=["output"])
    assert p.totals["flops"] == 7200  # 2*16*25*9
    assert p.totals["tfprof_flops"] == 7200  # tf.profiler agrees once frozen (8288 before)
    assert p.totals["init_flops"] == 0
    assert p.totals["params"] == 544  # 25*16 + 16*9
    assert p.totals["nodes"] == 3


@pytest.mark.parametrize("name", SEEDS)
def test_seed_matches_tensorflow_convert_variables_to_constants(name):
    original = load_model(SAMPLES / name)[0]
    graph = import_graph(original)
    with tf1.Session(graph=graph) as session:
        session.run("init")
        theirs = tf1.graph_util.convert_variables_to_constants(
            session, graph.as_graph_def(), ["output"]
        )
    theirs = proto.GraphDef.FromString(theirs.SerializeToString())
    ours = freeze_model(SAMPLES / name, ["output"]).graph_def
    # The seed graph's random ops carry fixed seeds: both sessions draw the same values.
    for variable, value in frozen_values(theirs, ["a", "b"]).items():
        np.testing.assert_array_equal(frozen_values(ours, [variable])[variable], value)
    expected = run(theirs, "output:0")
    actual = run(ours, "output:0")
    assert actual.shape == (25, 9)
    np.testing.assert_array_equal(actual, expected)


def test_cli_freeze_writes_the_graph_and_says_what_it_did(tmp_path, capsys):
    out = tmp_path / "frozen.pb"
    argv = ["freeze", str(SAMPLES / "seed_refvars.pb"), "--outputs", "output", "-o", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert max(len(line) for line in captured.out.splitlines()) <= 80  # not a terminal: 80
    assert " ".join(captured.out.split()) == (
        f"wrote {out}: 20 nodes → 3, 2 variable(s) frozen from initializers; outputs output"
    )
    assert "from running their initializers" in captured.err
    assert ops_of(load_model(out)[0]) == ["Const", "Const", "MatMul"]


def test_pbtxt_output_is_text(tmp_path):
    out = tmp_path / "frozen.pbtxt"
    with pytest.warns(tfflops.FreezeWarning):
        tfflops.freeze(SAMPLES / "seed_refvars.pb", "output", output_path=out)
    assert out.read_text().startswith("node {")
    assert tfflops.profile(out, outputs="output", tfprof=False).totals["flops"] == 7200


# ---------------------------------------------------------------- writing safely


def test_refuses_to_overwrite_its_input(tmp_path, capsys):
    model = tmp_path / "seed.pb"
    shutil.copy(SAMPLES / "seed_refvars.pb", model)
    before = model.read_bytes()
    assert main(["freeze", str(model), "--outputs", "output", "-o", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfflops: error: -o ") and "refusing to overwrite" in err
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.pb"]


def test_refuses_to_overwrite_a_saved_model(tmp_path):
    export = tmp_path / "model"
    export.mkdir()
    shutil.copy(SAMPLES / "seed_refvars.pb", export / "saved_model.pb")
    assert main(["freeze", str(export), "--outputs", "output", "-o", str(export)]) == 2


@pytest.mark.parametrize(
    "outputs, message",
    [
        ("nope", "--outputs: no node named 'nope'"),
        ("a/Assign", "--outputs a/Assign: Assign updates, saves or checks variables"),
    ],
)
def test_bad_outputs_are_one_line_errors(tmp_path, capsys, outputs, message):
    out = tmp_path / "out.pb"
    argv = ["freeze", str(SAMPLES / "seed_refvars.pb"), "--outputs", outputs, "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


# ---------------------------------------------------------------- running is executing


def write_file_graph(target) -> proto.GraphDef:
    """w's initializer waits on a WriteFile (a control edge): running it writes ``target``."""

    def fn():
        write = tf.io.write_file(str(target), "written", name="write")
        with tf.control_dependencies([write]):
            initial = tf.fill([2, 2], 3.0, name="initial")
        w = tf1.Variable(initial, name="w")
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        tf.matmul(x, w, name="output")
        tf1.global_variables_initializer()

    return build(fn)


def test_write_file_initializer_is_refused(tmp_path, capsys):
    target = tmp_path / "written.txt"
    model = save(write_file_graph(target), tmp_path / "model.pb")
    with pytest.raises(tfflops.TfflopsError, match=r"would execute WriteFile \(node 'write'\)"):
        tfflops.freeze(model, ["output"])
    out = tmp_path / "frozen.pb"
    assert main(["freeze", model, "--outputs", "output", "-o", str(out)]) == 2
    assert "--allow-unsafe-ops" in capsys.readouterr().err
    assert not target.exists()
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pb"]  # no temporary file


def test_profile_never_executes_the_graph(tmp_path, capsys):
    target = tmp_path / "written.txt"
    model = save(write_file_graph(target), tmp_path / "model.pb")
    p = tfflops.profile(model, outputs=["output"])  # tf.profiler included
    assert p.totals["flops"] == 8  # MatMul [1,2]x[2,2]: 2*2*(1*2)
    assert main(["profile", model, "--outputs", "output", "--compare-freeze"]) == 0
    assert "all-phase FLOPs 8 → 8 (0), by cause:" in capsys.readouterr().out
    assert not target.exists()


def test_allow_unsafe_ops_runs_the_initializer(tmp_path):
    target = tmp_path / "written.txt"
    model = save(write_file_graph(target), tmp_path / "model.pb")
    with pytest.warns(tfflops.FreezeWarning):
        graph_def = tfflops.freeze(model, ["output"], allow_unsafe_ops=True)
    assert target.read_text() == "written"
    np.testing.assert_array_equal(frozen_values(graph_def, ["w"])["w"], [[3.0, 3.0], [3.0, 3.0]])
    assert "WriteFile" not in ops_of(graph_def)


# ---------------------------------------------------------------- control flow


W = np.arange(1, 10, dtype=np.float32).reshape(3, 3) / 10
X = np.arange(6, dtype=np.float32).reshape(2, 3)


def control_flow_graph(kind: str, resource: bool, v2: bool) -> proto.GraphDef:
    def fn():
        x = tf1.placeholder(tf.float32, [2, 3], name="x")
        w = tf1.Variable(W, name="w", use_resource=resource)
        if kind == "cond":
            p = tf1.placeholder(tf.bool, [], name="p")
            y = tf.cond(p, lambda: tf.matmul(x, w), lambda: x * 2.0)
        else:
            _, y = tf.while_loop(
                lambda i, a: i < 3, lambda i, a: (i + 1, tf.matmul(a, w)), [tf.constant(0), x]
            )
        tf.identity(y, name="output")
        tf1.global_variables_initializer()

    return build(fn, control_flow_v2=v2)


CONTROL_FLOW = [
    (kind, resource, v2)
    for kind in ("cond", "while")
    for resource in (False, True)
    for v2 in (False, True)
]


@pytest.mark.parametrize(
    "kind, resource, v2",
    CONTROL_FLOW,
    ids=[f"{k}-{'resource' if r else 'ref'}-{'v2' if v else 'v1'}" for k, r, v in CONTROL_FLOW],
)
def test_control_flow_freezes_and_computes_the_same(kind, resource, v2):
    original = control_flow_graph(kind, resource, v2)
    frozen = freeze_model(original, ["output"])
    for pred in (True, False) if kind == "cond" else (None,):
        feeds = {"x:0": X} if pred is None else {"x:0": X, "p:0": pred}
        assert_same_outputs(original, frozen, ["output:0"], feeds)
    signatures = [f.signature for f in frozen.graph_def.library.function]
    assert all(a.type != RESOURCE for s in signatures for a in s.input_arg)
    ops = set(ops_of(frozen.graph_def))
    assert not ops & {"VarHandleOp", "VariableV2", "ReadVariableOp", "Assign", "AssignVariableOp"}
    p = tfflops.profile(frozen.graph_def, outputs=["output"])
    if v2:
        assert ops & {"If", "StatelessIf", "While", "StatelessWhile"}
        assert len(signatures) == 2  # the two branches, or cond and body
    elif kind == "cond":
        # Lowered to Switch/Merge, both branches count: MatMul 2*3*(2*3) + Mul 2*3.
        assert p.totals["flops"] == 42
    else:
        # The loop body once: MatMul 2*3*(2*3) + AddV2 1 + Less 1.
        assert p.totals["flops"] == 38


@pytest.mark.parametrize("kind", ["cond", "while"])
@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
def test_v2_control_flow_lowered_counts_its_functions(kind, resource):
    original = control_flow_graph(kind, resource, v2=True)
    frozen = freeze_model(original, ["output"], lower_control_flow=True)
    assert "lowered to Switch/Merge" in frozen.notes[-1]
    assert not frozen.graph_def.library.function
    assert not set(ops_of(frozen.graph_def)) & {"If", "StatelessIf", "While", "StatelessWhile"}
    for pred in (True, False) if kind == "cond" else (None,):
        feeds = {"x:0": X} if pred is None else {"x:0": X, "p:0": pred}
        assert_same_outputs(original, frozen, ["output:0"], feeds)
    flops = tfflops.profile(frozen.graph_def, outputs=["output"]).totals["flops"]
    if kind == "cond":
        assert flops == 42  # both branches: MatMul 2*3*(2*3) + Mul 2*3
    else:
        assert flops == 39  # body once: MatMul 36 + AddV2 i+1 + AddV2 loop counter + Less 1


def test_nested_function_calls_are_inlined_when_lowered():
    # A tf.function calling another, reading a resource variable: the frozen copies keep
    # TensorFlow's stateful marks, which grappler would not inline past.
    def fn():
        w = tf1.get_variable("w", initializer=np.full((3, 3), 0.5, np.float32), use_resource=True)

        @tf.function
        def inner(h):
            return tf.tanh(tf.matmul(h, w))

        @tf.function
        def outer(h):
            return inner(h) * 2.0

        x = tf1.placeholder(tf.float32, [2, 3], name="x")
        tf.identity(outer(x), name="output")

    original = build(fn)
    frozen = freeze_model(original, ["output"], lower_control_flow=True)
    assert not frozen.graph_def.library.function
    assert not set(ops_of(frozen.graph_def)) & {"StatefulPartitionedCall", "PartitionedCall"}
    assert_same_outputs(original, frozen, ["output:0"], {"x:0": X})
    p = tfflops.profile(frozen.graph_def, outputs=["output"])
    # MatMul 2*3*(2*3) = 36, Mul 2*3 = 6 (Tanh: tf.profiler has no formula)
    assert (p.totals["flops"], p.totals["tfprof_flops"]) == (42, 42)


def test_cli_lower_control_flow(tmp_path):
    model = save(control_flow_graph("cond", True, v2=True), tmp_path / "cond.pb")
    out = tmp_path / "frozen.pb"
    argv = ["freeze", model, "--outputs", "output", "-o", str(out), "--lower-control-flow"]
    assert main(argv) == 0
    assert tfflops.profile(out, outputs="output").totals["tfprof_flops"] == 42  # 36 + 6


def test_resource_variable_in_v2_cond_gets_a_frozen_branch_copy():
    frozen = freeze_model(control_flow_graph("cond", resource=True, v2=True), ["output"])
    names = sorted(f.signature.name for f in frozen.graph_def.library.function)
    assert all(name.endswith("_frozen") for name in names)
    cond = next(n for n in frozen.graph_def.node if n.op == "If")
    assert list(cond.attr["Tin"].list.type) == [FLOAT, FLOAT]  # was [resource, float]


def test_resource_gather_becomes_gather_v2():
    def fn():
        table = tf1.get_variable(
            "table", initializer=np.arange(12, dtype=np.float32).reshape(4, 3), use_resource=True
        )
        ids = tf1.placeholder(tf.int32, [2], name="ids")
        tf.identity(tf.nn.embedding_lookup(table, ids), name="output")
        tf1.global_variables_initializer()

    original = build(fn)
    frozen = freeze_model(original, ["output"])
    assert "GatherV2" in ops_of(frozen.graph_def)
    (rows,) = assert_same_outputs(original, frozen, ["output:0"], {"ids:0": [3, 1]})
    np.testing.assert_array_equal(rows, [[9, 10, 11], [3, 4, 5]])  # rows 3 and 1 of arange


# ---------------------------------------------------------------- pruning


def training_graph() -> proto.GraphDef:
    """A TF1 training graph: optimizer, summary, saver, and a control edge to a step counter."""

    def fn():
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        w = tf1.Variable([[1.0], [2.0]], name="w")
        y = tf.matmul(x, w, name="y")
        step = tf1.Variable(0, name="global_step", trainable=False, use_resource=False)
        increment = tf1.assign_add(step, 1, name="increment")
        with tf.control_dependencies([increment]):
            tf.identity(y, name="output")
        loss = tf.reduce_sum(y, name="loss")
        tf1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        tf1.summary.scalar("loss", loss)
        tf1.train.Saver()
        tf1.global_variables_initializer()

    return build(fn)


@pytest.mark.filterwarnings("ignore:values of 1 variable")
def test_control_edge_to_an_update_is_cut_with_a_warning():
    original = training_graph()
    with pytest.warns(
        tfflops.FreezeWarning,
        match=r"output ← \^increment .*removed 1 training-only node\(s\): increment \(AssignAdd\)",
    ):
        graph_def = tfflops.freeze(original, ["output"])
    names = {n.name for n in graph_def.node}
    assert names == {"x", "w", "y", "output"}
    frozen = freeze_model(original, ["output"])
    feeds = {"x:0": [[1.0, 1.0]]}
    (y,) = assert_same_outputs(original, frozen, ["output:0"], feeds, targets=["init"])
    np.testing.assert_array_equal(y, [[3.0]])  # 1*1 + 1*2


def test_output_reading_an_update_is_refused():
    def fn():
        step = tf1.Variable(0, name="step", use_resource=False)
        tf.identity(tf1.assign_add(step, 1, name="increment"), name="output")

    with pytest.raises(tfflops.TfflopsError, match=r"'output' reads the result of 'increment'"):
        freeze_model(build(fn), ["output"])


def test_identity_chains_are_bypassed_but_outputs_stay():
    def fn():
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        b = tf.identity(tf.identity(x, name="a"), name="b")
        w = tf1.Variable([[1.0], [2.0]], name="w")
        tf.identity(tf.matmul(b, w, name="y"), name="output")
        tf1.global_variables_initializer()

    original = build(fn)
    frozen = freeze_model(original, ["output"])
    assert {n.name: n.op for n in frozen.graph_def.node} == {
        "x": "Placeholder",
        "w": "Const",
        "y": "MatMul",
        "output": "Identity",
    }
    assert [n.input[:] for n in frozen.graph_def.node if n.name == "y"] == [["x", "w"]]
    assert {n.name for n in freeze_model(original, ["b"]).graph_def.node} == {"x", "b"}


# ---------------------------------------------------------------- checkpoints


def matmul_graph(resource: bool):
    def fn():
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        w = tf1.Variable(tf.zeros([2, 2]), name="w", use_resource=resource)
        tf.matmul(x, w, name="output")
        tf1.global_variables_initializer()

    return fn


def test_checkpoint_by_name(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        matmul_graph(resource=False)()
        saver = tf1.train.Saver()
        assign = tf1.assign(graph.get_tensor_by_name("w:0"), [[1.0, 2.0], [3.0, 4.0]])
    with tf1.Session(graph=graph) as session:
        session.run("init")
        session.run(assign)
        prefix = saver.save(session, str(tmp_path / "ckpt"))
    graph_def = proto.GraphDef.FromString(graph.as_graph_def().SerializeToString())
    frozen = tfflops.freeze(graph_def, ["output"], checkpoint=prefix)
    np.testing.assert_array_equal(frozen_values(frozen, ["w"])["w"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(run(frozen, "output:0", {"x:0": [[1, 1]]}), [[4, 6]])  # 1+3, 2+4


def test_object_based_checkpoint_keys(tmp_path):
    prefix = tf.train.Checkpoint(w=tf.Variable([[5.0, 6.0], [7.0, 8.0]])).write(
        str(tmp_path / "ckpt")
    )
    frozen = tfflops.freeze(build(matmul_graph(resource=True)), ["output"], checkpoint=prefix)
    np.testing.assert_array_equal(frozen_values(frozen, ["w"])["w"], [[5, 6], [7, 8]])


def test_meta_graph_restores_through_its_saver(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        matmul_graph(resource=True)()
        saver = tf1.train.Saver()
        w = graph.get_operation_by_name("w").outputs[0]
        assign = tf.raw_ops.AssignVariableOp(resource=w, value=[[1.0, 0.0], [0.0, 2.0]])
    with tf1.Session(graph=graph) as session:
        session.run("init")
        session.run(assign)
        prefix = saver.save(session, str(tmp_path / "model"))  # writes model.meta too
    frozen = tfflops.freeze(tmp_path / "model.meta", ["output"], checkpoint=prefix)
    np.testing.assert_array_equal(frozen_values(frozen, ["w"])["w"], [[1, 0], [0, 2]])


def test_checkpoint_without_the_variable(tmp_path):
    prefix = tf.train.Checkpoint(v=tf.Variable(1.0)).write(str(tmp_path / "ckpt"))
    with pytest.raises(tfflops.TfflopsError, match=r"no value for variable 'w'"):
        tfflops.freeze(build(matmul_graph(resource=True)), ["output"], checkpoint=prefix)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(tfflops.TfflopsError, match=r"`checkpoint` .*nothing: not a readable"):
        tfflops.freeze(SAMPLES / "seed_refvars.pb", ["output"], checkpoint=tmp_path / "nothing")


# ---------------------------------------------------------------- the corpus

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
RUST = "tensorflow__rust/"
SERVING = "tensorflow__serving/tensorflow_serving__"
TESTDATA = SERVING + "servables__tensorflow__testdata__"
ONNX = "onnx__tensorflow-onnx/tests__models__"
RNG = np.random.default_rng(7)


def examples(key_values: dict[str, list[float]]) -> np.ndarray:
    """Serialized tf.train.Example protos, one per value, with every key set."""
    count = len(next(iter(key_values.values())))
    return np.array(
        [
            tf.train.Example(
                features=tf.train.Features(
                    feature={
                        k: tf.train.Feature(float_list=tf.train.FloatList(value=[v[i]]))
                        for k, v in key_values.items()
                    }
                )
            ).SerializeToString()
            for i in range(count)
        ]
    )


X3 = np.array([1.0, 2.0, 5.0], np.float32)
TF_EXAMPLE = examples({"x": [1.0, 2.0, 5.0], "x2": [1.0, 2.0, 5.0]})
CORPUS_CASES = [
    # (model, outputs, feeds, expected outputs where the values are known, or None)
    (RUST + "examples__addition__model.pb", "z", {"x": np.int32(3), "y": np.int32(4)}, [7]),
    (RUST + "tensorflow-sys__examples__assets__multiplication.pb", "c", {"a": 3.0, "b": 4.0}, [12]),
    (RUST + "examples__regression__model.pb", "add", {"x": X3}, None),
    (RUST + "examples__regression_checkpoint__model.pb", "add", {"x": X3}, None),
    (RUST + "test_resources__regression-model", "y_hat,Mean", {"x": X3, "y": X3}, None),
    (RUST + "examples__regression_savedmodel", "StatefulPartitionedCall", {}, None),
    (RUST + "examples__regression_savedmodel", "StatefulPartitionedCall_2", {}, None),
    (
        SERVING + "batching__testdata__matrix_half_plus_two__1",
        "y",
        {"x": np.ones([1, 3, 3], np.float32)},
        [np.full([1, 3, 3], 2.5)],  # 0.5*1 + 2
    ),
    (TESTDATA + "saved_model_counter__00000123", "counter", {}, [0.0]),
    (
        TESTDATA + "saved_model_half_plus_three__00000123",
        "y,Identity",
        {"x": X3[:, None], "tf_example": TF_EXAMPLE},
        [[[3.5], [4.0], [5.5]]] * 2,  # 0.5*x + 3
    ),
    (
        TESTDATA + "saved_model_half_plus_two_cpu__00000123",
        "y,y2,y3",
        {"tf_example": TF_EXAMPLE},
        [[[2.5], [3], [4.5]], [[3.5], [4], [5.5]], [[3.5], [4], [5.5]]],  # 0.5x+2, 0.5x+3
    ),
    (
        TESTDATA + "saved_model_half_plus_two_tf2_cpu__00000123",
        "StatefulPartitionedCall_5,StatefulPartitionedCall_2,StatefulPartitionedCall_3",
        {
            "serving_default_x": [4.0],
            "regress_x2_to_y3_inputs": [4.0],
            "regress_x_to_y_inputs": examples({"x": [4.0]}),
        },
        [[4.0], [5.0], [[4.0]]],  # 0.5*4 + 2, 0.5*4 + 3, 0.5*4 + 2
    ),
    (
        SERVING + "session_bundle__testdata__half_plus_two__00000123__export.meta",
        "Identity",
        {"tf_example": examples({"x": [1.0, 2.0, 5.0]})},
        [[[2.5], [3.0], [4.5]]],  # its initial values are a=0.5, b=2
    ),
    (ONNX + "ae0__frozen.pb", "output", {"X": RNG.random([2, 784], np.float32)}, None),
    (ONNX + "fc-layers__frozen.pb", "output", {"X": RNG.random([2, 784], np.float32)}, None),
    (
        ONNX + "gru__frozen.pb",
        "output",
        {"X": RNG.random([1, 784], np.float32), "keep_prob": [1.0]},
        None,
    ),
    (
        ONNX + "lstm__frozen.pb",
        "output",
        {"X": RNG.random([1, 784], np.float32), "keep_prob": 1.0},
        None,
    ),
    (ONNX + "regression__checkpoint__model.meta", "pred", {"X": X3}, None),
    (ONNX + "regression__graphdef__frozen.pb", "pred", {"X": X3}, None),
    (ONNX + "regression__saved_model", "pred", {"X": X3}, None),
    (
        ONNX + "saved_model_with_redundant_inputs",
        "Add",
        {"Placeholder": np.ones([1, 10], np.float32), "Placeholder_1": np.ones([1, 10])},
        [np.full([1, 10], 2.0)],  # 1 + 1
    ),
]


@needs_corpus
@pytest.mark.parametrize(
    "model, outputs, feeds, expected",
    CORPUS_CASES,
    ids=[f"{c[0].rsplit('/', 1)[-1]}:{c[1]}" for c in CORPUS_CASES],
)
def test_corpus_freezes_and_computes_the_same(model, outputs, feeds, expected):
    path = CORPUS / "graphs" / model
    frozen = freeze_model(path, outputs)
    fetches = [f"{name}:0" for name in frozen.outputs]
    feeds = {f"{k}:0": v for k, v in feeds.items()}
    actual = assert_same_outputs(load_model(path)[0], frozen, fetches, feeds)
    assert not set(ops_of(frozen.graph_def)) & {
        "VariableV2",
        "Variable",
        "VarHandleOp",
        "Assign",
        "ApplyGradientDescent",
        "SaveV2",
        "RestoreV2",
    }
    if expected is not None:
        for a, e in zip(actual, expected, strict=True):
            np.testing.assert_allclose(a, e)
    tfflops.profile(frozen.graph_def, outputs=frozen.outputs)  # and it counts


@needs_corpus
@pytest.mark.parametrize(
    "model, outputs, message",
    [
        (
            RUST + "examples__regression_savedmodel",
            "StatefulPartitionedCall_1",
            "node 'SGD/SGD/AssignAddVariableOp' (AssignAddVariableOp) in function "
            "__inference_train_183_frozen takes variable 'SGD/iter' as a resource",
        ),
        (
            TESTDATA + "saved_model_counter__00000123",
            "incr_counter_op/AssignAdd",
            "`outputs` incr_counter_op/AssignAdd: AssignAdd updates, saves or checks variables",
        ),
    ],
)
def test_corpus_training_signatures_are_refused(model, outputs, message):
    with pytest.raises(tfflops.TfflopsError) as error:
        freeze_model(CORPUS / "graphs" / model, outputs)
    assert message in str(error.value)
