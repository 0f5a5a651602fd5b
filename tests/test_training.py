"""One training step (``training=True``, ``--training``): forward + backward.

The estimate by hand on small graphs; against the gradient graph TensorFlow itself builds
(``tf.gradients``: the same ops, under every convention, and tf.profiler's own total);
the identity train = 3 × forward MACs − the first layer's input gradient on
keras.applications models; a graph that holds its training step, counted as it is.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from builders import DT_INT32, ints, op, placeholder, weights
from conftest import CORPUS, SAMPLES
from test_keras_models import CACHE, MODELS, frozen_models  # noqa: F401  (a fixture)
from tf_builders import build

import tfflops
from tfflops.analysis.gradients import ACTIVATION_GRADIENTS, MOVES_DATA, RULES, backward
from tfflops.analysis.ops import OPS, OpView, lookup
from tfflops.cli import main
from tfflops.graph import proto

tf1 = tf.compat.v1
CONVENTIONS = ("tfprof", "macs", "exact", "full")


def train(model, outputs=None, **kwargs) -> dict[str, int | None]:
    """train_flops under each convention."""
    return {
        c: tfflops.profile(
            model, outputs=outputs, convention=c, tfprof=False, training=True, **kwargs
        ).totals["train_flops"]
        for c in CONVENTIONS
    }


# ---------------------------------------------------------------- by hand


def test_the_seed_costs_three_times_its_matmul():
    # a [25,16] @ b [16,9], both parameters: forward 2·16·225 = 7200; da = dy[25,9] @ bᵀ:
    # 2·9·400 = 7200; db = aᵀ @ dy: 2·25·144 = 7200.
    assert train(SAMPLES / "seed_frozen.pb") == {
        "tfprof": 21600,  # 7200 + 7200 + 7200
        "macs": 10800,  # 3·3600
        "exact": 20831,  # (2·16 − 1)·225 + (2·9 − 1)·400 + (2·25 − 1)·144 = 6975 + 6800 + 7056
        "full": 21600,
    }


def dense(g, x, w_shape, name):
    weights(g, f"{name}/w", w_shape)
    return op(g, name, "MatMul", [x, f"{name}/w"])


def test_the_graph_input_gets_no_gradient():
    g = proto.GraphDef()
    placeholder(g, "x", (4, 16))
    dense(g, "x", (16, 8), "fc")
    # forward x[4,16] @ w[16,8]: 4·16·8 = 512 MACs; backward dw = xᵀ @ dy: 512, no dx.
    assert train(g, ["fc"]) == {
        "tfprof": 2048,  # 2·512 + 2·512
        "macs": 1024,
        "exact": 1888,  # (2·16 − 1)·32 + (2·4 − 1)·128 = 992 + 896
        "full": 2048,
    }


def two_layers() -> proto.GraphDef:
    """x [4,16] → MatMul w1 [16,8] → BiasAdd b1 [8] → Relu → MatMul w2 [8,2] → out."""
    g = proto.GraphDef()
    placeholder(g, "x", (4, 16))
    dense(g, "x", (16, 8), "fc1")
    weights(g, "b1", (8,))
    op(g, "bias", "BiasAdd", ["fc1", "b1"])
    op(g, "relu", "Relu", ["bias"])
    dense(g, "relu", (8, 2), "out")
    return g


def test_two_layers_by_hand():
    # forward: fc1 512 MACs, bias 32 adds, relu 32, out 4·8·2 = 64 MACs
    # backward: out: dw2 = hᵀ @ dy (K 4, 16 outputs) 64 MACs, dh = dy @ w2ᵀ (K 2, 32
    # outputs) 64 MACs; relu: ReluGrad 32 (tf.profiler: 0); bias: BiasAddGrad 32 − 8 = 24
    # adds; fc1: dw1 (K 4, 128 outputs) 512 MACs, no dx.
    assert train(two_layers(), ["out"]) == {
        "tfprof": 2488,  # 1024 + 32 + 128 | 128 + 128 + 0 + 24 + 1024
        "macs": 1216,  # 512 + 64 | 64 + 64 + 512
        "exact": 2272,  # 992 + 32 + 120 | 112 + 96 + 24 + 896 (ReluGrad: no arithmetic)
        "full": 2552,  # 1024 + 32 + 32 + 128 | 128 + 128 + 32 + 24 + 1024
    }


def test_a_broadcast_parameter_sums_its_gradient():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3))
    weights(g, "s", (3,))
    op(g, "scaled", "Mul", ["x", "s"])
    weights(g, "t", (3,))
    op(g, "out", "AddV2", ["scaled", "t"])
    # forward: 6 + 6; ds = Sum(dy·x) over the 2 rows: 6 multiplies + 6 − 3 adds;
    # dt = Sum(dy): 3 adds; no dx.
    assert train(g, ["out"]) == {"tfprof": 24, "macs": 0, "exact": 24, "full": 24}  # 12 + 9 + 3


def test_stop_gradient_stops_it():
    g = proto.GraphDef()
    placeholder(g, "x", (4, 16))
    weights(g, "w", (16, 8))
    op(g, "frozen", "StopGradient", ["w"])
    op(g, "out", "MatMul", ["x", "frozen"])
    assert train(g, ["out"])["macs"] == 512  # the forward's 4·16·8 alone


def cumsum_graph() -> proto.GraphDef:
    """x [2,4] @ Cumsum(w [4,3]): the Cumsum has a formula but no gradient rule."""
    g = proto.GraphDef()
    placeholder(g, "x", (2, 4))
    weights(g, "w", (4, 3))
    ints(g, "axis", [0])
    op(g, "cum", "Cumsum", ["w", "axis"])
    op(g, "out", "MatMul", ["x", "cum"])
    return g


def test_a_node_without_gradient_rule_is_named_and_the_figure_says_so(tmp_path, capsys):
    p = tfflops.profile(
        cumsum_graph(), outputs=["out"], convention="macs", tfprof=False, training=True
    )
    # forward 2·4·3 = 24 MACs (the Cumsum adds only); backward dcum = xᵀ @ dy: 24 MACs,
    # and the Cumsum's own backward left out.
    assert p.totals["train_flops"] == 48
    assert [(s.node, s.reason) for s in p.training.skipped] == [
        ("cum", "no gradient rule for op Cumsum")
    ]
    assert p.train_uncounted() == ["cum"]
    assert (
        "train_flops leaves out the backward pass of 1 node(s): Cumsum ×1 (e.g. cum: no "
        "gradient rule for op Cumsum)"
    ) in p.notes
    path = tmp_path / "cumsum.pb"
    path.write_bytes(cumsum_graph().SerializeToString())
    argv = ["profile", str(path), "--training", "--no-tfprof", "--convention", "macs"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  train MACs (macs)  48 (leaves out 1 node(s), see notes)\n" in out


def test_unknown_shapes_leave_the_backward_out_with_the_reason():
    g = proto.GraphDef()
    placeholder(g, "x", (4, None))
    weights(g, "w", (16, 8))
    op(g, "out", "MatMul", ["x", "w"])
    p = tfflops.profile(g, outputs=["out"], convention="macs", tfprof=False, training=True)
    (skipped,) = p.training.skipped
    assert skipped.node == "out" and skipped.reason.startswith("its forward is not counted")
    assert p.totals["train_flops"] == 0  # nothing could be counted, and the notes say so


def test_an_output_no_gradient_flows_from_is_named():
    g = proto.GraphDef()
    placeholder(g, "x", (4, 16))
    dense(g, "x", (16, 8), "fc")
    axis = g.node.add(name="axis", op="Const")  # a scalar int32 1
    axis.attr["dtype"].type = DT_INT32
    axis.attr["value"].tensor.dtype = DT_INT32
    axis.attr["value"].tensor.int_val.append(1)
    op(g, "class", "ArgMax", ["fc", "axis"])
    p = tfflops.profile(g, outputs=["class"], convention="macs", tfprof=False, training=True)
    assert p.totals["train_flops"] == 512  # the forward's 4·16·8 alone: nothing flows back
    assert p.training.no_gradient == ["class"]
    assert any(n.startswith("no gradient flows back from class: ") for n in p.notes)


def test_without_training_the_figures_are_null():
    p = tfflops.profile(SAMPLES / "seed_frozen.pb", tfprof=False)
    assert (p.totals["train_flops"], p.totals["train_flops_estimate"]) == (None, None)
    assert not any("train" in note for note in p.notes)


# ---------------------------------------------------------------- the rules themselves


def test_every_gradient_op_a_rule_builds_is_in_the_op_table():
    assert set(RULES) | MOVES_DATA <= set(OPS)
    assert set(ACTIVATION_GRADIENTS.values()) <= set(OPS)
    # conv2d_transpose's gradients: a filter gradient and a Conv2D, with its attributes
    view = OpView(
        "Conv2DBackpropInput",
        ((4,), (3, 3, 3, 6), (1, 4, 4, 6)),
        ((1, 8, 8, 3),),
        {"strides": [1, 2, 2, 1], "padding": "SAME"},
    )
    grads = backward(view, frozenset({1, 2}))
    assert [g.op for g in grads] == ["Conv2DBackpropFilter", "Conv2D"]
    # each as many MACs as the forward: 192·162/12 = 2592 (N(image)·N(filter)/(Cin·Sh·Sw))
    assert [lookup(g.op)(g).macs for g in grads] == [2592, 2592]


@pytest.mark.parametrize(
    "equation, shapes, out, wanted, expected",
    [
        # b [2,3,4] · c [2,4,5] → [2,3,5]: 2·3·4·5 = 120 MACs each
        ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5)), (2, 3, 5), {0, 1}, [120, 120]),
        # EinsumDense: x [1,3,4] · w [4,6] → [1,3,6]: 72 MACs, only w's
        ("abc,cd->abd", ((1, 3, 4), (4, 6)), (1, 3, 6), {1}, [72]),
    ],
)
def test_an_einsum_gradient_costs_its_forward(equation, shapes, out, wanted, expected):
    view = OpView("Einsum", shapes, (out,), {"equation": equation})
    assert lookup("Einsum")(view).macs == expected[0]
    assert [lookup(g.op)(g).macs for g in backward(view, frozenset(wanted))] == expected


# ---------------------------------------------------------------- against TensorFlow's gradients


def variable(name, shape):
    # initialized from a constant: no initializer arithmetic in tf.profiler's total
    return tf1.Variable(np.ones(shape, np.float32), name=name)


def mlp(with_training_step: bool):
    x = tf1.placeholder(tf.float32, [4, 16], name="x")
    params = [variable(n, s) for n, s in (("w1", (16, 32)), ("b1", (32,)), ("w2", (32, 10)))]
    params += [variable("b2", (10,)), variable("s", (10,))]
    w1, b1, w2, b2, s = params
    h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
    z = tf.nn.bias_add(tf.matmul(h, w2), b2)
    y = tf.nn.softmax(z * s - 1.0, name="out")
    if with_training_step:
        grads = tf.gradients(y, params)
        tf1.train.GradientDescentOptimizer(0.1).apply_gradients(zip(grads, params))


def cnn(with_training_step: bool):
    x = tf1.placeholder(tf.float32, [1, 8, 8, 3], name="x")
    k1, b1 = variable("k1", (3, 3, 3, 4)), variable("b1", (4,))
    k2, w = variable("k2", (3, 3, 4, 8)), variable("w", (128, 5))
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, k1, 1, "SAME"), b1))
    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.reshape(tf.nn.conv2d(h, k2, 1, "SAME"), [1, 128])
    y = tf.matmul(h, w, name="out")
    if with_training_step:
        grads = tf.gradients(y, [k1, b1, k2, w])
        tf1.train.GradientDescentOptimizer(0.1).apply_gradients(zip(grads, [k1, b1, k2, w]))


def residual(with_training_step: bool):
    x = tf1.placeholder(tf.float32, [4, 16], name="x")
    w1, w2 = variable("w1", (16, 16)), variable("w2", (16, 16))
    h = tf.matmul(x, w1)
    y = tf.add(tf.matmul(h, w2), h, name="out")  # h's gradient: two arrive, an AddN sums them
    if with_training_step:
        grads = tf.gradients(y, [w1, w2])
        tf1.train.GradientDescentOptimizer(0.1).apply_gradients(zip(grads, [w1, w2]))


# Each model: the estimate from its forward graph by hand; the parameters' elements (each
# GradientDescent update: 2 per element under exact and full); what tf.profiler counts in
# the gradient graph beyond one training step (the gradients nothing applies).
ORACLES = {
    "mlp": (
        mlp,
        {
            # forward: MatMul 2·4·16·32 = 4096, BiasAdd 128, MatMul 2·4·32·10 = 2560,
            # BiasAdd 40, Mul 40, Sub 40, Softmax 5·40 = 200: 7104. Backward: Softmax's
            # Mul 40 + Sum 40 − 4 + Sub 40 + Mul 40 = 156; Mul: dz 40, ds 40 + Sum 30;
            # db2 BiasAddGrad 30; dh = dy @ w2ᵀ 2·10·128 = 2560, dw2 2·4·320 = 2560; ReluGrad
            # 0; db1 96; dw1 2·4·512 = 4096: 9608.
            "tfprof": 16712,  # 7104 + 9608
            "macs": 7936,  # 3·3328 − 2048 (no dx of the first MatMul)
            # forward 3968 + 128 + 2520 + 40·3 + Softmax 120 = 6856; backward 156 + 110 + 30
            # + dh (2·10 − 1)·128 + dw2 (2·4 − 1)·320 + 96 + dw1 (2·4 − 1)·512 = 8648
            "exact": 15504,
            "full": 16968,  # tfprof's + Relu 128 + ReluGrad 128
        },
        884,  # 512 + 32 + 320 + 10 + 10
        # the first MatMul's dx 2·4·16·32 = 4096; the Sub's gradient w.r.t. its constant 1.0:
        # a Neg of 40 and a Sum of 40 − 1
        4096 + 40 + 39,
    ),
    "cnn": (
        cnn,
        {
            # forward: conv1 2·256·27 = 13824, BiasAdd 256, MaxPool 4·64 = 256, conv2
            # 2·128·36 = 9216, MatMul 2·128·5 = 1280: 24832. Backward: MatMul dx and dw
            # 1280 each; conv2 backprop input and filter 9216 each (tf.profiler's
            # 2·N(image)·N(filter)/(Cin·Sh·Sw) = 2·64·288/4); MaxPoolGrad 4·64 + 64 = 320;
            # ReluGrad 0; BiasAddGrad 256 − 4 = 252; conv1 filter 2·192·108/3 = 13824.
            "tfprof": 60220,  # 24832 + 2560 + 18432 + 320 + 252 + 13824
            "macs": 29568,  # 3·12160 − 6912 (conv1's input gradient)
            # forward: conv1 (2·27 − 1)·256 = 13568, BiasAdd 256, conv2 (2·36 − 1)·128 =
            # 9088, MatMul (2·128 − 1)·5 = 1275 (Relu, MaxPool: comparisons, not in exact):
            # 24187. Backward: dx (2·5 − 1)·128 = 1152, dw (2·1 − 1)·640 = 640; conv2 input
            # 2·4608 − 64 = 9152, filter 2·4608 − 288 = 8928; MaxPoolGrad 64 adds;
            # BiasAddGrad 252; conv1 filter 2·6912 − 108 = 13716: 33904.
            "exact": 58091,  # 24187 + 33904
            # tfprof's, with Relu 256 forward, ReluGrad 256 backward
            "full": 60732,  # 24832 + 256 + 35388 + 256
        },
        108 + 4 + 288 + 640,
        13824,  # conv1's input gradient (2·192·108/3), which nothing applies
    ),
    "residual": (
        residual,
        {
            # forward: two MatMuls 2·16·(4·16) = 2048 each, Add 64: 4160. Backward: the Add
            # passes dy to both operands; dh = dy @ w2ᵀ 2048, dw2 2048; h's two gradients
            # summed, AddN 64; dw1 = xᵀ @ dh 2048: 6208.
            "tfprof": 10368,  # 4160 + 6208
            "macs": 5120,  # 3·2048 − 1024 (no dx of the first MatMul)
            # forward (2·16 − 1)·64 = 1984 twice + 64 = 4032; backward dh 1984, dw2 and dw1
            # (2·4 − 1)·256 = 1792 each, AddN 64: 5632
            "exact": 9664,
            "full": 10368,  # as tfprof: no op tf.profiler leaves out
        },
        256 + 256,
        2048,  # the first MatMul's dx 2·16·(4·16), which nothing applies
    ),
}


@pytest.mark.parametrize("name", ORACLES)
def test_the_estimate_is_the_gradient_graph_tensorflow_builds(name):
    fn, expected, elements, unapplied = ORACLES[name]
    forward = build(lambda: fn(False), True)
    step = build(lambda: fn(True), True)
    for c in CONVENTIONS:
        estimate = tfflops.profile(forward, outputs=["out"], convention=c, training=True)
        held = tfflops.profile(step, outputs=["out"], convention=c, training=True)
        assert estimate.totals["train_flops"] == expected[c], c
        # The graph with TensorFlow's gradients and updates: counted as it is, it is the
        # estimate plus the updates (2·elements under exact and full); its forward pass
        # gives the same estimate.
        updates = 2 * elements if c in ("exact", "full") else 0
        assert held.totals["train_flops"] == expected[c] + updates, c
        assert held.totals["train_flops_estimate"] == expected[c], c
    # tf.profiler's own total over the gradient graph: the step, and the unapplied
    # gradients; every node's count is tf.profiler's (the status compares tfprof).
    assert held.tfprof_total == expected["tfprof"] + unapplied
    assert {v.status for v in held.verdicts} <= {"match", "explained"}


def loop_graph(control_flow_v2: bool, bound=3, unstack=False) -> proto.GraphDef:
    """h ← h @ w, ``bound`` times, from x [4,8] with w [8,8] a variable; with ``unstack``
    each step's h leaves the loop through a TensorArray (a TensorList in v2), as a Keras
    RNN's do, and the output is the last one."""

    def loop():
        x = tf1.placeholder(tf.float32, [4, 8], name="x")
        w = variable("w", (8, 8))
        n = tf1.placeholder_with_default(3, [], name="n") if bound is None else bound
        steps = tf.TensorArray(tf.float32, size=3, element_shape=[4, 8])

        def body(i, h, steps):
            h = h @ w
            return i + 1, h, steps.write(i, h) if unstack else steps

        _, h, steps = tf.while_loop(lambda i, h, s: i < n, body, [0, x, steps])
        tf.identity(steps.stack()[-1] if unstack else h, name="out")

    return build(loop, control_flow_v2)


@pytest.mark.parametrize("control_flow_v2", [False, True], ids=["frames", "While"])
@pytest.mark.parametrize("unstack", [False, True], ids=["state", "list"])
def test_a_loop_body_is_estimated_once_per_iteration(control_flow_v2, unstack):
    # Forward 3 iterations of [4,8] @ [8,8]: 3·4·8·8 = 768 MACs. Backward, per iteration:
    # dw = hᵀ·dy, 4·8·8 = 256, and dh = dy·wᵀ, 256 — every iteration's, as TensorFlow's
    # loop gradient computes it (h is a loop variable, trained from the second on; its
    # gradient body is the same each iteration): 3·512 = 1536. Through a TensorArray
    # (TensorList) out of the loop the gradient is the same (its ops move data).
    p = tfflops.profile(
        loop_graph(control_flow_v2, unstack=unstack),
        outputs=["out"],
        convention="macs",
        tfprof=False,
        training=True,
    )
    assert p.training.skipped == []
    assert p.totals["train_flops"] == 2304  # 768 + 1536


@pytest.mark.parametrize("control_flow_v2", [False, True], ids=["frames", "While"])
def test_a_loop_whose_trip_count_is_unknown_is_named_not_estimated(control_flow_v2):
    p = tfflops.profile(
        loop_graph(control_flow_v2, bound=None),
        outputs=["out"],
        convention="macs",
        tfprof=False,
        training=True,
    )
    reasons = {s.op: s.reason for s in p.training.skipped}
    if control_flow_v2:
        assert reasons == {
            "While": "a while loop whose trip count is not known statically (its backward "
            "runs once per iteration)"
        }
    else:
        assert reasons == {"MatMul": "inside a while loop whose trip count is not known statically"}
    # the forward alone, the body counted once: 4·8·8 = 256; the figure says what it
    # leaves out
    assert p.totals["train_flops"] == 256
    assert any(n.startswith("train_flops leaves out the backward pass of ") for n in p.notes)


def test_only_the_loop_whose_trip_count_is_unknown_is_left_out():
    """Two v1 loops one after the other: the first runs 3 times, the second until a
    placeholder's value. Only the second's backward is left out (one unknown loop used to
    leave out every v1 loop's)."""

    def loops():
        x = tf1.placeholder(tf.float32, [4, 8], name="x")
        w1, w2 = variable("w1", (8, 8)), variable("w2", (8, 8))
        n = tf1.placeholder_with_default(3, [], name="n")
        _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, h @ w1), [0, x])
        _, h = tf.while_loop(lambda i, h: i < n, lambda i, h: (i + 1, h @ w2), [0, h])
        tf.identity(h, name="out")

    p = tfflops.profile(
        build(loops, False), outputs=["out"], convention="macs", tfprof=False, training=True
    )
    # forward: 3 iterations of [4,8] @ [8,8], 3·256 = 768, and the second loop's body
    # once, 256: 1024
    assert p.totals["flops"] == 1024
    # the first loop's backward, per iteration dw1 = hᵀ·dy 256 and dh = dy·w1ᵀ 256:
    # 3·512 = 1536; the second loop's MatMul named, not estimated
    assert p.totals["train_flops"] == 2560  # 1024 + 1536
    assert [(s.op, s.reason) for s in p.training.skipped] == [
        ("MatMul", "inside a while loop whose trip count is not known statically")
    ]
    assert p.training.skipped[0].node.startswith("while_1/")


def test_the_gradient_flows_from_an_outputs_first_tensor_only():
    """An output that is a call of two results: the loss reads its first, x·a, so only a
    has a gradient (b's result reaches no loss; it was estimated as if it did)."""

    def two_results():
        x = tf1.placeholder(tf.float32, [4, 8], name="x")
        a, b = variable("a", (8, 8)), variable("b", (8, 2))

        @tf.function
        def both(x, a, b):
            return x @ a, x @ b

        both(x, a, b)

    graph_def = build(two_results, True)
    (call,) = [n.name for n in graph_def.node if n.op == "StatefulPartitionedCall"]
    p = tfflops.profile(graph_def, [call], convention="macs", tfprof=False, training=True)
    assert p.totals["flops"] == 320  # x·a 4·8·8 = 256, x·b 4·8·2 = 64
    # backward: da = xᵀ·dy 8·4·8 = 256 (x is no parameter: no dx); no db
    assert p.totals["train_flops"] == 576  # 320 + 256 (was 640: db 64 too)


def test_an_if_is_named_not_estimated():
    def branch():
        x = tf1.placeholder(tf.float32, [4, 8], name="x")
        w = variable("w", (8, 8))
        p = tf1.placeholder(tf.bool, [], name="p")
        tf.identity(tf.cond(p, lambda: x @ w, lambda: x), name="out")

    p = tfflops.profile(
        build(branch, True), outputs=["out"], convention="macs", tfprof=False, training=True
    )
    assert {s.op: s.reason for s in p.training.skipped} == {
        "If": "an If/Case (the backward of its branches is not estimated)"
    }
    assert p.totals["train_flops"] == 256  # the forward alone: 4·8·8


def test_a_function_call_is_estimated_from_its_body():
    # y = relu(x @ w1) @ w2 with the second layer in a function the graph calls: x [2,8],
    # w1 [8,8], w2 [8,4]. Forward 2·8·8 + 2·8·4 = 192 MACs; backward: dw1 128 (no dx),
    # dw2 64 and its input's gradient 64 (in the body: the call passes h, computed from
    # w1, and w2): 256.
    @tf.function
    def layer(h, w):
        return h @ w

    def model():
        x = tf1.placeholder(tf.float32, [2, 8], name="x")
        w1, w2 = variable("w1", (8, 8)), variable("w2", (8, 4))
        tf.identity(layer(tf.nn.relu(x @ w1), w2), name="out")

    graph = build(model, True)
    assert "StatefulPartitionedCall" in {n.op for n in graph.node}
    p = tfflops.profile(graph, outputs=["out"], convention="macs", tfprof=False, training=True)
    assert p.training.skipped == []
    assert p.totals["train_flops"] == 448  # 192 + 256


def test_a_weight_inside_a_function_body_is_trained():
    # A frozen graph whose weight is a constant inside the function it calls (no
    # variables anywhere: a float constant with a dimension is a parameter): x [2,8] @
    # w [8,4]. Forward 2·8·4 = 64 MACs; backward: dw 64, and x is the graph's input: 128.
    @tf.function
    def layer(h):
        return h @ tf.constant(np.ones((8, 4), np.float32))

    def model():
        x = tf1.placeholder(tf.float32, [2, 8], name="x")
        tf.identity(layer(x), name="out")

    p = tfflops.profile(
        build(model, True), outputs=["out"], convention="macs", tfprof=False, training=True
    )
    assert p.totals["params"] == 32
    assert p.training.skipped == []
    assert p.totals["train_flops"] == 128


# ---------------------------------------------------------------- a graph holding its step


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_a_tf1_training_graph_is_counted_as_it_is():
    # y = w·x + b, loss = mean((y − y_)²), GradientDescent: shapes [1] and scalars.
    path = CORPUS / "graphs" / "tensorflow__rust" / "examples__regression__model.pb"
    p = tfflops.profile(path, convention="full", tfprof=False, training=True)
    # forward: mul, add, sub, Square, Mean 1 each; gradients: Mean_grad/div_1,
    # Square_grad/mul, mul_grad/mul, mul_grad/mul_1 1 each; 2 ApplyGradientDescent 2 each
    assert p.totals["train_flops"] == 13  # 5 + 4 + 4
    # all 68 nodes of its gradients/ scope, and its 2 updates
    assert (p.training.gradient_nodes, p.training.updates) == (68, 2)
    # the estimate from its forward: 5 + Square's 2·x·dy 2, Mean's divide 1, mul's dw 1
    assert p.totals["train_flops_estimate"] == 9
    # 11 nodes of its gradients are not counted: 10 of unknown shapes, DynamicStitch
    # (no formula), as the profile's own notes say
    assert len(p.train_uncounted()) == 11
    assert "10 node(s) with unknown shapes not counted, e.g. gradients/Mean_grad/div" in p.notes
    assert any(n.startswith("train_flops leaves out 11 node(s)") for n in p.notes)


def test_a_frozen_gradient_tape_is_a_backward_the_graph_holds():
    """A tf.function that returns a GradientTape's gradient, frozen: its backward ops are
    in the graph (``gradient_tape/``), at the top level. They were taken for forward nodes
    and estimated a second backward on top: train MACs 256 for a step of 128."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    w = tf.Variable(tf.ones([8, 4]), name="w")

    @tf.function(input_signature=[tf.TensorSpec([2, 8], tf.float32)])
    def gradient(x):
        with tf.GradientTape() as tape:
            y = tf.matmul(x, w, name="logits")
            loss = tf.reduce_sum(y * y, name="loss")
        return tf.identity(tape.gradient(loss, w), name="grad_w")

    frozen = convert_variables_to_constants_v2(gradient.get_concrete_function())
    graph_def = proto.GraphDef.FromString(frozen.graph.as_graph_def().SerializeToString())
    output = frozen.outputs[0].name.split(":")[0]
    p = tfflops.profile(graph_def, [output], convention="macs", tfprof=False, training=True)
    # forward logits 2·8·4 = 64 MACs; the tape's dW = xᵀ·dy, 8·2·4 = 64 MACs (x is no
    # parameter: no dx); the rest (y·y, the loss' gradient) are not MACs
    assert p.totals["flops"] == 128  # what the graph computes: 64 + 64
    assert p.totals["train_flops"] == 128  # the step the graph holds, as it is
    assert p.totals["train_flops_estimate"] == 128  # forward 64 + backward 64
    assert p.training.held is not None and p.training.updates == 0
    assert any(n.startswith("the graph holds its training step") for n in p.notes)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_a_tf2_training_signature_is_counted_as_it_is():
    # Keras' SGD step traced into a function: forward, GradientTape, two updates inside.
    path = CORPUS / "graphs" / "tensorflow__rust" / "examples__regression_savedmodel"
    p = tfflops.profile(path, signature="train", convention="full", tfprof=False, training=True)
    # the signature runs the step: its count is the step's, what it leaves out said.
    # Forward: mul, add, sub, Square, Mean, 1 each (shapes [1]) = 5; the tape's Maximum,
    # floordiv, truediv, Mul, Mul_1 and the call's backward mul_grad Mul ×2, 1 each = 7;
    # SGD: 2 ResourceApplyGradientDescent of 2 each, the iterations' AssignAdd 1 = 5
    assert p.totals["flops"] == 17  # 5 + 7 + 5
    assert p.totals["train_flops"] == 17  # the same step
    assert p.totals["train_flops_estimate"] is None  # forward and backward: one function
    assert (p.training.inside, p.training.updates) == (["__inference_signature_wrapper_213"], 2)
    assert len(p.train_uncounted()) == 5  # the tape's Sums of unknown shapes, and their kin


# ---------------------------------------------------------------- keras.applications

# The first convolution reads the image: no gradient w.r.t. its input. Its MACs:
FIRST_LAYER = {
    "MobileNet": 10838016,  # 3·3·3 · 112·112·32 (stride 2, SAME)
    "MobileNetV2": 10838016,  # the same stem
    "ResNet50": 118013952,  # 7·7·3 · 112·112·64
    "InceptionV3": 19181664,  # 3·3·3 · 149·149·32 (299, VALID, stride 2)
    "DenseNet121": 118013952,  # 7·7·3 · 112·112·64
    "Xception": 19181664,  # 3·3·3 · 149·149·32
    "NASNetMobile": 10645344,  # 3·3·3 · 111·111·32 (224, VALID, stride 2)
    "VGG16": 86704128,  # 3·3·3 · 224·224·64
    # Their Normalization layers' mean and variance are constants of the model's code, no
    # parameters (README: Parameters): not trained, so the stem needs no input gradient.
    "EfficientNetB0": 10838016,  # 3·3·3 · 112·112·32 (stride 2, SAME)
    "EfficientNetV2B0": 10838016,  # the same stem
}


@pytest.mark.parametrize("name", MODELS)
def test_training_is_three_forwards_but_the_first_input_gradient(frozen_models, name):  # noqa: F811
    meta = frozen_models[name]
    p = tfflops.profile(
        CACHE / f"{name}.pb",
        outputs=meta["outputs"],
        convention="macs",
        tfprof=False,
        training=True,
    )
    # every contraction has weights: its forward, its weights' gradient, its input's
    assert p.totals["train_flops"] == 3 * p.totals["flops"] - FIRST_LAYER[name]
    assert p.training.skipped == []


def test_resnet50_training_macs(frozen_models):  # noqa: F811
    p = tfflops.profile(
        CACHE / "ResNet50.pb",
        outputs=["Identity"],
        convention="macs",
        tfprof=False,
        training=True,
    )
    assert p.totals["flops"] == 3857973248
    assert p.totals["train_flops"] == 11455905792  # 3·3857973248 − 118013952


# ---------------------------------------------------------------- the command line


def test_profile_json_and_compare_show_the_training_step(tmp_path, capsys):
    seed = str(SAMPLES / "seed_frozen.pb")
    assert main(["profile", seed, "--training", "--no-tfprof", "--format", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["train_flops"], totals["train_flops_estimate"]) == (21600, 21600)
    refvars = str(SAMPLES / "seed_refvars.pb")
    argv = ["compare", refvars, seed, "--outputs", "output", "--training", "--no-tfprof"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  train FLOPs (tfprof)  21,600  21,600           0\n" in out


def test_training_is_a_project_default(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.tfflops]\ntraining = true\n")
    monkeypatch.chdir(tmp_path)
    assert main(["profile", str(SAMPLES / "seed_frozen.pb"), "--no-tfprof"]) == 0
    assert "  train FLOPs (tfprof)  21,600 (21.60 K)\n" in capsys.readouterr().out
