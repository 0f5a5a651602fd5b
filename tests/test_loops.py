"""Loops and branches: a body counted as many times as it runs, a cond by the branch it takes.

Real graphs built here, small. Keras RNNs (unroll=False) in the forms users ship them: the
.keras file, frozen with the While kept and lowered to a v1 frame, a SavedModel and Keras'
export. An RNN over T steps of F features with U units and G gate blocks (LSTM 4, GRU 3,
SimpleRNN 1) costs T·(F + U)·G·U MACs in its two kernels; its zero initial state is no
parameter (params = Keras' count_params()). TF1 loops, built with control flow v1 (frames)
and v2 (While): a constant bound, maximum_iterations, a bound fed at run time, nested
loops, and a cond on a constant. Under ``tfprof`` every figure stays what tf.profiler
counts (one iteration, every branch): the cross-check never says ``mismatch``.
"""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)
from tf_builders import graph_def_of

import tfflops
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.reports.profile import render

tf.get_logger().setLevel("ERROR")
keras = tf.keras

T, F, U, D = 6, 5, 4, 3  # steps, features, units, Dense units

RNNS = {
    # name: (layer, MACs, params)
    # 6*(5+4)*4*4 = 864 + Dense 4*3 = 12 → 876; 4*(5*4 + 4*4 + 4) = 160 + 4*3 + 3 = 175
    "LSTM": (lambda: keras.layers.LSTM(U), 876, 175),
    # 6*9*3*4 = 648 + 12 → 660; 3*(5*4 + 4*4 + 2*4) = 132 (reset_after: 2 biases) + 15 = 147
    "GRU": (lambda: keras.layers.GRU(U), 660, 147),
    # 6*9*4 = 216 + 12 → 228; 5*4 + 4*4 + 4 = 40 + 15 = 55
    "SimpleRNN": (lambda: keras.layers.SimpleRNN(U), 228, 55),
}
# Every RNN as a .keras file and frozen (While kept, and lowered); the LSTM also as a
# SavedModel and as Keras' export (batch None in its signature).
FORMS = [(name, form) for name in RNNS for form in ("keras", "while", "lowered")]
FORMS += [("LSTM", "savedmodel"), ("LSTM", "export")]


def write(path, graph_def) -> str:
    path.write_bytes(graph_def.SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def rnns(tmp_path_factory):
    """name → ({form: path}, Keras' count_params())."""
    folder = tmp_path_factory.mktemp("rnns")
    built = {}
    for name, (layer, _, _) in RNNS.items():
        keras.utils.set_random_seed(0)
        x = keras.Input(shape=(T, F), name="x")
        model = keras.Model(x, keras.layers.Dense(D)(layer()(x)))
        paths = {"keras": folder / f"{name}.keras"}
        model.save(paths["keras"])
        concrete = tf.function(lambda x, model=model: model(x, training=False))
        concrete = concrete.get_concrete_function(tf.TensorSpec([1, T, F], name="x"))
        for form, lower in (("while", False), ("lowered", True)):
            frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=lower)
            paths[form] = write(
                folder / f"{name}_{form}.pb", graph_def_of(frozen.graph.as_graph_def())
            )
        if name == "LSTM":
            paths["savedmodel"] = folder / "savedmodel"
            tf.saved_model.save(model, str(paths["savedmodel"]), signatures=concrete)
            paths["export"] = folder / "export"
            model.export(str(paths["export"]), verbose=False)
        built[name] = (paths, model.count_params())
    return built


@pytest.mark.parametrize("name, form", FORMS, ids=[f"{n}-{f}" for n, f in FORMS])
def test_rnn_counts_every_step_and_keras_params(rnns, name, form):
    paths, count_params = rnns[name]
    p = tfflops.profile(paths[form], convention="macs", tfprof=False)
    _, macs, params = RNNS[name]
    assert p.totals["flops"] == macs
    assert p.totals["params"] == params == count_params
    assert [loop.trips for loop in p.loops] == [T]
    assert p.unsupported_ops == {}
    # The zero initial state is said not to be a parameter (LSTM: h and c, [1,4] each).
    # Exported with batch None, it is computed at run time (Fill), not a constant.
    if form != "export":
        (note,) = [n for n in p.notes if n.startswith("not parameters")]
        states = 2 if name == "LSTM" else 1
        assert f"{states} constant(s), {states * U} elements, a loop's initial state" in note


@pytest.mark.parametrize("form", ["keras", "lowered", "savedmodel"])
def test_rnn_cross_check_stays_tf_profilers_one_iteration(rnns, form):
    paths, _ = rnns["LSTM"]
    p = tfflops.profile(paths[form])
    assert p.mismatches() == []
    # Under tfprof a node in the loop counts one iteration, as tf.profiler does; under
    # macs all six.
    kernel = [r for r in p.leaf_records() if r["name"].endswith("lstm_cell/MatMul")]
    kernel = kernel or [r for r in p.leaf_records() if r["name"].endswith("lstm_cell_1/MatMul")]
    assert [r["flops"] for r in kernel] == [2 * 5 * 16]  # x[1,5] @ [5,16]: 2*5*(1*16)
    macs = tfflops.profile(paths[form], convention="macs", tfprof=False)
    kernel = [r for r in macs.leaf_records() if r["name"] == kernel[0]["name"]]
    assert [r["flops"] for r in kernel] == [6 * 5 * 16]  # 6 steps * 5*16


# ---------------------------------------------------------------- TF1 loops, v1 and v2

# x[1,8]; the body h = tanh(h @ W[8,8]): 8*8 = 64 MACs an iteration.
STEP = 64


def tf1_graph(kind: str, v2: bool) -> proto.GraphDef:
    """A TF1 loop (see the module doc) under control flow v1 (frames) or v2 (While)."""
    graph = tf.Graph()
    try:
        (tf.compat.v1.enable_control_flow_v2 if v2 else tf.compat.v1.disable_control_flow_v2)()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [1, 8], name="x")
            w = tf.constant(np.ones([8, 8], np.float32), name="W")

            def body(i, h):
                return i + 1, tf.tanh(h @ w)

            def loop(bound, name, start=0, **kwargs):
                i0 = tf.constant(start, name=f"{name}_i0")
                return tf.compat.v1.while_loop(
                    lambda i, h: i < bound, body, (i0, x), name=name, **kwargs
                )[1]

            if kind == "constant":
                y = loop(10, "loop")
            elif kind == "maxiter":
                y = loop(100, "loop", maximum_iterations=7)
            elif kind == "dynamic":
                y = loop(tf.compat.v1.placeholder(tf.int32, [], name="n"), "loop")
            elif kind == "nested":

                def outer(i, h):
                    inner = tf.compat.v1.while_loop(
                        lambda j, h: j < 4, body, (tf.constant(0), h), name="inner"
                    )
                    return i + 1, inner[1]

                y = tf.compat.v1.while_loop(
                    lambda i, h: i < 3, outer, (tf.constant(0), x), name="outer"
                )[1]
            elif kind == "cond":
                a = tf.constant(np.ones([8, 4], np.float32), name="A")
                b = tf.constant(np.ones([8, 8], np.float32), name="B")
                c = tf.constant(np.ones([8, 4], np.float32), name="C")
                h = loop(10, "loop")
                y = tf.compat.v1.cond(tf.constant(True), lambda: h @ a, lambda: (h @ b) @ c)
            tf.identity(y, name="output")
    finally:
        tf.compat.v1.enable_control_flow_v2()
    return graph_def_of(graph.as_graph_def())


TF1_CASES = {
    # kind: (MACs, params)
    "constant": (10 * STEP, 64),  # i from 0 while i < 10
    "maxiter": (7 * STEP, 64),  # i < 100, but maximum_iterations=7
    "dynamic": (STEP, 64),  # i < n, n fed: counted once
    "nested": (3 * 4 * STEP, 64),  # 3 outer iterations of 4 inner ones
    # the loop, then the then-branch on a constant True: h[1,8] @ A[8,4] = 32 MACs; the
    # else-branch's B and C are never read: W 64 + A 32 parameters
    "cond": (10 * STEP + 32, 64 + 32),
}


@pytest.fixture(scope="module")
def tf1_graphs():
    return {(kind, v2): tf1_graph(kind, v2) for kind in TF1_CASES for v2 in (False, True)}


@pytest.mark.parametrize("v2", [False, True], ids=["frames", "While"])
@pytest.mark.parametrize("kind", list(TF1_CASES))
def test_tf1_loop_trip_counts(tf1_graphs, kind, v2):
    graph_def = tf1_graphs[kind, v2]
    p = tfflops.profile(graph_def, outputs=["output"], convention="macs", tfprof=False)
    macs, params = TF1_CASES[kind]
    assert (p.totals["flops"], p.totals["params"]) == (macs, params)
    trips = {"constant": [10], "maxiter": [7], "dynamic": [None], "nested": [3, 4], "cond": [10]}
    assert sorted(loop.trips or 0 for loop in p.loops) == sorted(t or 0 for t in trips[kind])
    assert p.mismatches() == []
    checked = tfflops.profile(graph_def, outputs=["output"])
    assert checked.mismatches() == []


def test_tf1_loop_runs_its_condition_once_more_than_its_body(tf1_graphs):
    p = tfflops.profile(tf1_graphs["constant", False], outputs=["output"], tfprof=False)
    # Body, 10 times: MatMul 2*64 = 128, Tanh 8, i + 1: 1 → 137; the condition i < 10, 11
    # times: 11. full: 1370 + 11; exact: (2*8 - 1)*8 = 120 + 1, times 10 (a comparison is
    # none of exact's); tfprof: one of each, as tf.profiler counts them: 128 + 1 + 1.
    assert p.total_flops("full") == 1381
    assert p.total_flops("exact") == 1210
    assert p.total_flops("tfprof") == 130
    less = next(r for r in p.rows if r.op == "Less")
    assert less.runs == 11


def test_unknown_trip_count_is_said_and_can_be_given(tf1_graphs):
    frames, While = tf1_graphs["dynamic", False], tf1_graphs["dynamic", True]
    p = tfflops.profile(frames, outputs=["output"], convention="macs", tfprof=False)
    (loop,) = p.loops
    assert (loop.name, loop.trips) == ("loop/while_context", None)
    (note,) = [n for n in p.notes if n.startswith("loop ")]
    assert "trip count not known statically" in note
    assert "--loop-iterations loop/while_context=N" in note
    assert "×? (once)" in render(p)  # and among the totals
    for graph_def, name in ((frames, "loop/while_context"), (While, "loop")):
        given = tfflops.profile(
            graph_def,
            outputs=["output"],
            convention="macs",
            tfprof=False,
            loop_iterations={name: 5},
        )
        assert given.totals["flops"] == 5 * STEP
        assert [(loop.trips, loop.given) for loop in given.loops] == [(5, True)]


def test_given_trip_count_replaces_the_graphs(tf1_graphs):
    p = tfflops.profile(
        tf1_graphs["constant", True],
        outputs=["output"],
        convention="macs",
        tfprof=False,
        loop_iterations={"loop": 0},
    )
    assert p.totals["flops"] == 0  # no iteration
    assert "(the graph says 10)" in p.loops[0].how


@pytest.mark.parametrize(
    "given, message",
    [
        (
            {"nope": 3},
            "`loop_iterations` nope: <GraphDef> has no loop of that name (its loops: "
            "loop/while_context)",
        ),
        ({"loop/while_context": -1}, "is not a number of iterations"),
        ({"loop/while_context": True}, "is not a number of iterations"),
        ({"loop/while_context": 2.5}, "is not a number of iterations"),
        ({"loop/while_context": 10**13}, "from 0 to 1,000,000,000,000"),
        ({"": 1}, "is not a loop's name"),
    ],
)
def test_bad_loop_iterations_are_refused(tf1_graphs, given, message):
    with pytest.raises(tfflops.TfflopsError, match="`loop_iterations`") as raised:
        tfflops.profile(
            tf1_graphs["dynamic", False], outputs=["output"], tfprof=False, loop_iterations=given
        )
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "value, message",
    [
        ("loop/while_context=-1", "'-1' is not a number of iterations"),
        ("loop/while_context", "expected NAME=N"),
        ("loop/while_context=99999999999999999999999", "over 1,000,000,000,000 iterations"),
        ("nope=2", "has no loop of that name"),
    ],
)
def test_cli_loop_iterations_errors_are_one_line(tmp_path, tf1_graphs, capsys, value, message):
    path = write(tmp_path / "dynamic.pb", tf1_graphs["dynamic", False])
    code = main(["profile", path, "--no-tfprof", "--loop-iterations", value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_cli_loop_iterations(tmp_path, tf1_graphs, capsys):
    path = write(tmp_path / "dynamic.pb", tf1_graphs["dynamic", False])
    argv = ["profile", path, "--no-tfprof", "--convention", "macs"]
    assert main([*argv, "--loop-iterations", "loop/while_context=3"]) == 0
    out = capsys.readouterr().out
    assert "MACs (macs)        192" in out  # 3 * 64
    assert "loop/while_context ×3" in out


def test_totals_say_tf_profiler_counts_one_iteration(rnns):
    paths, _ = rnns["LSTM"]
    p = tfflops.profile(paths["lowered"], convention="macs", tfprof=False)
    # Of the kernels' 6*5*16 = 480 and 6*4*16 = 384 MACs tf.profiler counts one step:
    # it misses 400 + 320 = 720 of the model's 876.
    assert p.tfprof_missed() == (720, 876, "later iterations of 2 loop node(s)")
    text = render(p)
    assert "tf.profiler skips  82.1% of the MACs: later iterations of 2 loop node(s)\n" in text
    assert f"loops              {p.loops[0].name} ×6" in text


def test_frozen_keras_rnn_runs_and_computes_what_keras_does(tmp_path, rnns):
    paths, _ = rnns["LSTM"]
    out = tmp_path / "lstm.pb"
    with pytest.warns(tfflops.FreezeWarning):
        tfflops.freeze(paths["keras"], output_path=out)
    graph_def = tf.compat.v1.GraphDef.FromString(out.read_bytes())
    x = np.random.default_rng(0).random([1, T, F], np.float32)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:  # its loop's frames hold together
        frozen = session.run("Identity:0", {"x:0": x})
    expected = keras.models.load_model(paths["keras"])(x, training=False)
    np.testing.assert_allclose(frozen, expected, rtol=1e-5, atol=1e-6)


def test_weight_bytes_are_the_parameters_bytes(rnns):
    paths, _ = rnns["LSTM"]
    p = tfflops.profile(paths["while"], tfprof=False)
    # 175 float32 parameters; the zero state [1,4] twice is no weight
    assert (p.totals["params"], p.totals["weight_bytes"]) == (175, 175 * 4)


# ------------------------------------------- loops and branches outside Keras' RNNs

V8 = np.ones([8, 8], np.float32)  # h @ V: 8*8 = 64 MACs an iteration on h[1,8]


def frozen_function(fn, *specs, lower: bool) -> proto.GraphDef:
    concrete = tf.function(fn).get_concrete_function(*specs)
    converted = convert_variables_to_constants_v2(concrete, lower_control_flow=lower)
    return graph_def_of(converted.graph.as_graph_def())


def stepped(x):
    """Autograph's ``for i in tf.range(2, 11, 3)``: 2, 5, 8."""
    h = x
    for _ in tf.range(2, 11, 3):
        h = tf.tanh(h @ V8)
    return h


def descending(x):
    """``tf.range(10, 0, -3)``: 10, 7, 4, 1."""
    h = x
    for _ in tf.range(10, 0, -3):
        h = tf.tanh(h @ V8)
    return h


@pytest.mark.parametrize("lower", [False, True], ids=["While", "lowered"])
@pytest.mark.parametrize("fn, trips", [(stepped, 3), (descending, 4)])
def test_a_range_loop_steps_by_its_delta_even_once_it_is_a_loop_variable(fn, trips, lower):
    # Lowered, autograph's delta is a loop variable the body passes through (a v1 Merge),
    # not a constant: the step is its initial value.
    graph_def = frozen_function(fn, tf.TensorSpec([1, 8]), lower=lower)
    p = tfflops.profile(graph_def, convention="macs", tfprof=False)
    assert [loop.trips for loop in p.loops] == [trips]
    assert p.totals["flops"] == {3: 192, 4: 256}[trips]  # 3*64, 4*64


def alternating(x):
    """Four iterations: h @ V on even ones (64 MACs), (h @ V) @ V on odd ones (128)."""
    h = x
    for i in tf.range(4):
        h = tf.cond(i % 2 == 0, lambda h=h: h @ V8, lambda h=h: (h @ V8) @ V8)
    return h


@pytest.mark.parametrize("lower", [False, True], ids=["If", "lowered"])
def test_a_branch_not_known_statically_makes_the_total_an_upper_bound_and_says_so(lower):
    # The model runs 2*64 + 2*128 = 384 MACs; the branch depends on i.
    graph_def = frozen_function(alternating, tf.TensorSpec([1, 8]), lower=lower)
    p = tfflops.profile(graph_def, convention="macs", tfprof=False)
    # The most expensive branch each iteration: 4*128 — in the totals, not only the If's.
    assert p.totals["flops"] == 512
    if lower:
        (note,) = [n for n in p.notes if "Switch predicate(s)" in n]
        assert note.startswith("1 Switch predicate(s) not known statically: the most expensive")
        assert "(an upper bound;" in note
    else:
        (note,) = [n for n in p.notes if "If/Case" in n]
        assert note.startswith("1 If/Case node(s) whose predicate or branch index is not known")
        assert "most expensive branch under macs/exact/exact-bias/full (an upper bound" in note
        assert note.endswith("/while/cond")
    assert "If/Case" not in " ".join(
        tfflops.profile(frozen_function(stepped, tf.TensorSpec([1, 8]), lower=lower)).notes
    )


def switched(x, k):
    """Branch 0: x @ V (64 MACs); 1: (x @ V) @ V (128); 2, the default: three (192)."""
    return tf.switch_case(k, [lambda: x @ V8, lambda: (x @ V8) @ V8, lambda: ((x @ V8) @ V8) @ V8])


@pytest.mark.parametrize(
    "index, macs, params",
    # each @ V8 reads a constant of its own, [8,8]: those of the branch counted; fed, the
    # most expensive branch's 192 MACs, and every branch's constants: 6*64 = 384
    [(1, 128, 128), (2, 192, 192), (7, 192, 192), (-1, 192, 192), (None, 192, 384)],
)
def test_a_case_frozen_to_switch_n_counts_the_branch_its_index_runs(index, macs, params):
    # Freezing lowers tf.switch_case to _SwitchN + Merge; an index out of range runs the
    # last branch, as TensorFlow's kernel does. Fed, the most expensive (an upper bound).
    if index is None:
        graph_def = frozen_function(
            switched, tf.TensorSpec([1, 8]), tf.TensorSpec([], tf.int32), lower=False
        )
    else:
        graph_def = frozen_function(
            lambda x: switched(x, tf.constant(index)), tf.TensorSpec([1, 8]), lower=False
        )
    assert any(n.op == "_SwitchN" for n in graph_def.node)
    p = tfflops.profile(graph_def, convention="macs", tfprof=False)
    assert (p.totals["flops"], p.totals["params"]) == (macs, params)
    assert p.unsupported_ops == {}
    upper_bound = any("Switch predicate(s) not known statically" in n for n in p.notes)
    assert upper_bound == (index is None)
    checked = tfflops.profile(graph_def)  # tf.profiler counts every branch: 2*(64+128+192)
    assert checked.totals["tfprof_flops"] == checked.totals["flops"] == 768
    assert checked.mismatches() == []


class Cell:
    """A minimal TF1 RNN cell for ``dynamic_rnn``: h' = tanh([x, h] @ W + b)."""

    state_size = output_size = U

    def zero_state(self, batch, dtype):
        return tf.zeros([batch, U], dtype)

    def __call__(self, x, h, scope=None):
        v1 = tf.compat.v1
        with v1.variable_scope("cell", reuse=v1.AUTO_REUSE):
            w = v1.get_variable("W", [F + U, U])
            b = v1.get_variable("b", [U], initializer=v1.zeros_initializer())
        y = tf.tanh(tf.concat([x, h], 1) @ w + b)
        return y, y


@pytest.mark.parametrize("lengths, steps", [(None, T), ([4], 4)])
def test_tf1_dynamic_rnn_reads_its_steps_through_tensor_arrays(lengths, steps):
    # Control flow v1: dynamic_rnn keeps its steps in TensorArrayV3s (Scatter before the
    # loop, Read and Write in it, Gather after it). Given sequence lengths its loop stops
    # at the longest: min(T, max(lengths)).
    graph = tf.Graph()
    tf.compat.v1.disable_control_flow_v2()
    try:
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [1, T, F], name="x")
            kwargs = {} if lengths is None else {"sequence_length": tf.constant(lengths)}
            out, _ = tf.compat.v1.nn.dynamic_rnn(Cell(), x, dtype=tf.float32, **kwargs)
            tf.identity(out[:, -1] @ tf.ones([U, D]), name="output")
    finally:
        tf.compat.v1.enable_control_flow_v2()
    graph_def = graph_def_of(graph.as_graph_def())
    assert any(n.op == "TensorArrayGatherV3" for n in graph_def.node)
    p = tfflops.profile(graph_def, outputs=["output"], convention="macs", tfprof=False)
    assert [loop.trips for loop in p.loops] == [steps]
    # steps * (5 + 4)*4 in the cell, then out[:, -1] [1,4] @ [4,3]: 12 — the Gather after
    # the loop gives out its shape [1,6,4] (T first, transposed back)
    assert p.totals["flops"] == {6: 228, 4: 156}[steps]  # 6*36 + 12, 4*36 + 12
    # W 9*4 + b 4; the ones [4,3] is a constant of the code (the graph has variables)
    assert p.totals["params"] == 40
    assert p.unsupported_ops == {}
    assert tfflops.profile(graph_def, outputs=["output"]).mismatches() == []


def growing(x):
    """Three iterations, a [k,8] accumulator gaining a row each: [1,8] @ V then [k+1,8] @
    V for k = 1, 2, 3: 3*64 + (2 + 3 + 4)*64 = 768 MACs as it runs."""
    acc = x
    for _ in tf.range(3):
        tf.autograph.experimental.set_loop_options(
            shape_invariants=[(acc, tf.TensorShape([None, 8]))]
        )
        acc = tf.concat([acc, acc[-1:] @ V8], 0) @ V8
    return acc


@pytest.mark.parametrize("lower", [False, True], ids=["While", "lowered"])
def test_a_loop_variable_that_changes_shape_makes_the_count_inexact_and_says_so(lower):
    graph_def = frozen_function(growing, tf.TensorSpec([1, 8]), lower=lower)
    p = tfflops.profile(graph_def, convention="macs", tfprof=False)
    # Every iteration at the first one's shapes: 3*(64 + 2*64) = 576, not 768 — said in
    # the totals (the loops line and the notes), not only in the While's own note.
    assert p.totals["flops"] == 576
    (loop,) = p.loops
    assert (loop.trips, loop.reshaped) == (3, ("x",))
    (note,) = [n for n in p.notes if n.startswith("loop ")]
    assert note.endswith(
        "; loop variable(s) x change shape from one iteration to the next, and every "
        "iteration is counted at the shapes of the first: not exact"
    )
    assert "loops              while ×3 (shapes change: not exact)\n" in render(p)
    # A loop whose variables keep their shapes says nothing of the kind.
    steady = tfflops.profile(frozen_function(stepped, tf.TensorSpec([1, 8]), lower=lower))
    assert [loop.reshaped for loop in steady.loops] == [()]


# ---------------------------------------------------------------- hostile trip counts


def nested_loops(levels: int, bound: int, v2: bool) -> proto.GraphDef:
    """``levels`` TF1 loops nested in each other, each from 0 while < ``bound`` (int64);
    the innermost body multiplies h[1,8] by W[8,8]: STEP MACs an iteration."""
    graph = tf.Graph()
    try:
        (tf.compat.v1.enable_control_flow_v2 if v2 else tf.compat.v1.disable_control_flow_v2)()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [1, 8], name="x")
            w = tf.constant(np.ones([8, 8], np.float32), name="W")

            def nest(h, level):
                if level == levels:
                    return h @ w
                start, limit = tf.constant(0, tf.int64), tf.constant(bound, tf.int64)
                return tf.compat.v1.while_loop(
                    lambda i, h: i < limit,
                    lambda i, h: (i + 1, nest(h, level + 1)),
                    (start, h),
                    name=f"loop{level}",
                )[1]

            tf.identity(nest(x, 0), name="output")
    finally:
        tf.compat.v1.enable_control_flow_v2()
    return graph_def_of(graph.as_graph_def())


@pytest.mark.parametrize("v2", [False, True], ids=["frames", "While"])
def test_a_loop_of_2_to_the_62_counts_exactly(v2):
    graph_def = nested_loops(2, 2**62, v2)
    p = tfflops.profile(graph_def, outputs=["output"], convention="macs", tfprof=False)
    assert sorted(loop.trips for loop in p.loops) == [2**62, 2**62]
    # STEP·2^62·2^62 = 2^6·2^124 = 2^130, a Python int: no int64 wraps, no float rounds
    assert p.totals["flops"] == 1361129467683753853853498429727072845824
    assert "(1.36e+39)" in render(p)  # humanized from the int, not from a float's digits


@pytest.mark.parametrize("v2", [False, True], ids=["frames", "While"])
def test_loops_nested_past_2_to_the_128_runs_are_refused(tmp_path, capsys, v2):
    # Three loops of 2^62: 2^186 runs. Each level more multiplies every count's size: a
    # few thousand nested frames made ints of megabytes on every node (1.5 GB, and a
    # traceback where a figure passed a float's range).
    path = write(tmp_path / "nested.pb", nested_loops(3, 2**62, v2))
    assert main(["profile", path, "--no-tfprof", "--convention", "full"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"tfflops: error: {path}: nested loops (")
    assert "×4611686018427387904" in err  # 2^62, each loop named with its trips
    assert err.endswith(
        "run a node more than 2^128 times per run of the graph; no model does, "
        "refusing to count it\n"
    )


# ---------------------------------------------------------------- training (--training)

# train_flops under macs: forward + the backward of every step (T·the body's) + the Dense.
# Per step, each kernel's gradient costs its forward's MACs (x·kernel: F·G·U, h·recurrent
# kernel: U·G·U), and the recurrent product's input gradient U·G·U again (h is a loop
# variable trained from the weights, and TensorFlow's loop gradient computes it every
# iteration); x is the graph's input: no gradient. The Dense: its weights' U·D and its
# input's U·D.
TRAIN_MACS = {
    "LSTM": 2148,  # 876 + 6·(5·16 + 2·4·16) = 1248 + 2·12 = 24 → 876 + 1272
    "GRU": 1620,  # 660 + 6·(5·12 + 2·4·12) = 936 + 24 → 660 + 960
    "SimpleRNN": 564,  # 228 + 6·(5·4 + 2·4·4) = 312 + 24 → 228 + 336
}


@pytest.mark.parametrize("name, form", FORMS, ids=[f"{n}-{f}" for n, f in FORMS])
def test_rnn_training_estimates_every_steps_backward(rnns, name, form):
    paths, _ = rnns[name]
    p = tfflops.profile(paths[form], convention="macs", tfprof=False, training=True)
    assert p.training.skipped == []
    assert p.totals["train_flops"] == TRAIN_MACS[name]
    assert not any("leaves out" in n for n in p.notes)


# SimpleRNN (T=6, F=5, U=4, D=3, batch 1), the loop's body per step: MatMul x·W [1,5]·[5,4],
# BiasAdd, MatMul h·Wr [1,4]·[4,4], AddV2, Tanh; the counter's two AddV2; the cond's two
# Less and a LogicalAnd (7 runs). Backward per step: dW [5,1]·[1,4] (20 MACs, K=1: exact 20,
# full/tfprof 40), dWr 16 MACs (exact 16, full/tfprof 32), dh [1,4]·[4,4]ᵀ 16 MACs (exact
# 7·4 = 28, full/tfprof 32), TanhGrad 3·4 = 12 (exact/full; tf.profiler: 0), BiasAddGrad
# [1,4] → [4] and the AddV2's: nothing to sum at batch 1. Each iteration adds its gradient
# of W, Wr, b (loop invariants) into theirs, and h's two readers' (the list, the next
# step): 20 + 16 + 4 + 4 = 44 adds. The Dense's backward: dW 12 MACs (exact 12, full 24),
# dh 12 MACs (exact 5·4 = 20, full 24); BiasAddGrad: nothing to sum.
SIMPLE_RNN_TRAIN = {
    # forward 228 + backward 6·52 + 24 = 336
    "macs": 564,
    # forward 6·(36 + 4 + 28 + 4 + 2) + 21 + 3 = 468; backward 6·(20 + 16 + 28 + 12 + 44)
    # = 720, + 32 → 752
    "exact": 1220,
    # forward 6·(40 + 4 + 32 + 4 + 4 + 2) + 7·3 + 24 + 3 = 564; backward 6·(40 + 32 + 32
    # + 12 + 44) = 960, + 48 → 1008
    "full": 1572,
    # tf.profiler counts one iteration: forward 40 + 4 + 32 + 4 + 2 + 2 + 24 + 3 = 111;
    # backward 40 + 32 + 32 + 44 + 48 = 196
    "tfprof": 307,
}


@pytest.mark.parametrize("form", ["keras", "while", "lowered"])
def test_simple_rnn_training_under_every_convention(rnns, form):
    paths, _ = rnns["SimpleRNN"]
    for convention, expected in SIMPLE_RNN_TRAIN.items():
        p = tfflops.profile(paths[form], convention=convention, tfprof=False, training=True)
        assert p.totals["train_flops"] == expected, convention


def frozen_with_gradients(unroll: bool, gradients: bool) -> proto.GraphDef:
    """The SimpleRNN model (unroll as given) frozen at batch 1; with ``gradients``, its
    function also returns tf.gradients of the output w.r.t. every weight."""
    keras.utils.set_random_seed(0)
    x = keras.Input(shape=(T, F), name="x")
    model = keras.Model(x, keras.layers.Dense(D)(keras.layers.SimpleRNN(U, unroll=unroll)(x)))

    def step(x):
        y = model(x, training=False)
        return (y, *tf.gradients(y, model.trainable_variables)) if gradients else y

    concrete = tf.function(step).get_concrete_function(tf.TensorSpec([1, T, F], name="x"))
    frozen = convert_variables_to_constants_v2(concrete)
    return graph_def_of(frozen.graph.as_graph_def())


# The unrolled SimpleRNN: forward as the loop's without its counter and cond; backward as
# the loop's but the first step's dh (h0 is a constant: no gradient) and its sums: W's,
# Wr's and b's gradients of 6 steps summed (AddN of 6: 5·(20 + 16 + 4) = 200 adds), each
# h read once.
UNROLLED_TRAIN = {
    # forward 6·36 + 12 = 228; backward 6·20 + 6·16 + 5·16 + 24 = 320
    "macs": 548,
    # forward 6·(36 + 4 + 28 + 4) + 24 = 456; backward 6·(20 + 16 + 12) + 5·28 + 200 + 32
    # = 660
    "exact": 1116,
    # forward 6·(40 + 4 + 32 + 4 + 4) + 27 = 531; backward 6·(40 + 32 + 12) + 5·32 + 200
    # + 48 = 912
    "full": 1443,
    # forward 6·(40 + 4 + 32 + 4) + 27 = 507; backward 6·(40 + 32) + 5·32 + 200 + 48 = 840
    "tfprof": 1347,
}


def test_unrolled_rnn_estimate_is_the_gradient_graph_tensorflow_builds():
    # The estimate from the forward graph; TensorFlow's own gradient graph (tf.gradients
    # w.r.t. every weight), counted as it is: the same under every convention.
    forward = frozen_with_gradients(unroll=True, gradients=False)
    held = frozen_with_gradients(unroll=True, gradients=True)
    for convention, expected in UNROLLED_TRAIN.items():
        estimate = tfflops.profile(forward, convention=convention, tfprof=False, training=True)
        counted = tfflops.profile(held, convention=convention, tfprof=False, training=True)
        assert estimate.totals["train_flops"] == expected, convention
        assert counted.totals["train_flops"] == expected, convention
        assert counted.totals["train_flops_estimate"] == expected, convention
