"""The counter on whole graphs: bias folding for exact-bias, fused contractions."""

import pytest
from builders import ints, op, placeholder, weights

import tfflops
from tfflops.graph import proto
from tfflops.reports.profile import render

SAME_1 = {"strides": [1, 1, 1, 1], "padding": "SAME"}


def conv_graph():
    """x [1,9,9,3] * filter [3,3,3,4], SAME, stride 1 → [1,9,9,4]: N = 324, K = 27."""
    g = proto.GraphDef()
    placeholder(g, "x", (1, 9, 9, 3))
    weights(g, "filter", (3, 3, 3, 4))
    weights(g, "bias", (4,))
    op(g, "conv", "Conv2D", ["x", "filter"], **SAME_1)
    return g


@pytest.mark.parametrize("operands", [["conv", "bias"], ["bias", "conv"]])
def test_an_add_of_a_bias_folds_whichever_side_it_is_on(operands):
    g = conv_graph()
    op(g, "add", "AddV2", operands)
    result = tfflops.profile(g, outputs=["add"], convention="exact-bias", tfprof=False)
    flops = {r.name: result.flops_of(r) for r in result.rows}
    assert flops == {"x": 0, "filter": 0, "bias": 0, "conv": 17820, "add": 0}  # (2*27+1)*324
    assert result.total_flops("exact") == 17496  # (2*27-1)*324 + 324


def test_an_add_of_two_activations_is_not_a_bias():
    g = conv_graph()
    op(g, "conv2", "Conv2D", ["x", "filter"], **SAME_1)
    op(g, "add", "AddV2", ["conv2", "conv"])
    result = tfflops.profile(g, outputs=["add"], convention="exact-bias", tfprof=False)
    # two convs (2*27-1)*324 = 17172 each + the add's 324: nothing folded
    assert result.totals["flops"] == 34668  # 2*17172 + 324


def test_a_transposed_conv_folds_its_bias():
    # conv2d_transpose: dy [1,4,4,6], filter [3,3,3,6] → image [1,8,8,3], stride 2.
    g = proto.GraphDef()
    placeholder(g, "dy", (1, 4, 4, 6))
    weights(g, "filter", (3, 3, 3, 6))
    ints(g, "sizes", [1, 8, 8, 3])
    op(
        g,
        "up",
        "Conv2DBackpropInput",
        ["sizes", "filter", "dy"],
        strides=[1, 2, 2, 1],
        padding="SAME",
    )
    weights(g, "bias", (3,))
    op(g, "out", "BiasAdd", ["up", "bias"])
    result = tfflops.profile(g, outputs=["out"], convention="exact-bias", tfprof=False)
    # MACs = N(image)*N(filter)/(Cin*Sh*Sw) = 192*162/12 = 2592 over 192 outputs:
    # exact 2*2592 - 192 = 4992, + 2*192 folded = 5376; the BiasAdd 0
    assert result.totals["flops"] == 5376
    assert result.total_flops("exact") == 5184  # 4992 + 192


def test_a_fused_matmul_is_shaped_and_counted():
    g = proto.GraphDef()
    placeholder(g, "a", (5, 7))
    weights(g, "b", (7, 3))
    weights(g, "bias", (3,))
    op(g, "mm", "_FusedMatMul", ["a", "b", "bias"], fused_ops=["BiasAdd", "Relu"])
    result = tfflops.profile(g, outputs=["mm"], tfprof=False)
    (row,) = [r for r in result.rows if r.name == "mm"]
    assert row.output_shapes == [[5, 3]]
    assert result.flops_of(row, "tfprof") == 0  # tf.profiler has no formula for it
    assert result.flops_of(row, "macs") == 105  # 7 * 15
    assert result.flops_of(row, "exact") == 210  # (2*7-1)*15 + 15 bias adds
    assert result.flops_of(row, "exact-bias") == 225  # (2*7+1)*15
    assert result.flops_of(row, "full") == 240  # 2*105 + 15 + 15
    assert result.totals["params"] == 24  # 7*3 + 3


def test_a_residual_add_is_not_a_bias():
    # x + x @ w: x has one value per output channel at batch 1, but it is an activation.
    g = proto.GraphDef()
    placeholder(g, "x", (-1, 8))
    weights(g, "w", (8, 8))
    op(g, "m", "MatMul", ["x", "w"])
    op(g, "r", "AddV2", ["x", "m"])
    result = tfflops.profile(g, outputs=["r"], convention="exact-bias", tfprof=False)
    flops = {r.name: result.flops_of(r) for r in result.rows}
    assert (flops["m"], flops["r"]) == (120, 8)  # (2*8-1)*8 and 8 adds: nothing folded


def test_a_bias_read_through_identity_is_folded():
    g = conv_graph()
    op(g, "bias/read", "Identity", ["bias"])
    op(g, "add", "AddV2", ["conv", "bias/read"])
    result = tfflops.profile(g, outputs=["add"], convention="exact-bias", tfprof=False)
    assert result.totals["flops"] == 17820  # (2*27+1)*324, the add 0


def test_a_fused_op_without_formula_is_named_not_zero():
    g = proto.GraphDef()
    placeholder(g, "x", (1, 9, 9, 3))
    weights(g, "filter", (3, 3, 3, 4))
    weights(g, "bias", (4,))
    op(
        g,
        "conv",
        "_FusedConv2D",
        ["x", "filter", "bias"],
        fused_ops=["BiasAdd", "_MklSwish"],
        **SAME_1,
    )
    result = tfflops.profile(g, outputs=["conv"], convention="macs", tfprof=False)
    assert result.totals["flops"] == 8748  # 27 * 324 MACs
    assert result.unsupported_ops == {"_MklSwish": 1}
    assert any("no formula for: _MklSwish ×1" in n for n in result.notes)
    (row,) = [r for r in result.rows if r.name == "conv"]
    assert "_MklSwish" in row.note


# ---------------------------------------------------------------- parameters


def dense_graph(kernel: str) -> proto.GraphDef:
    """x [1,3] − mean [3] (a Normalization's given mean), then @ kernel [3,4]."""
    g = proto.GraphDef()
    placeholder(g, "x", (1, 3))
    weights(g, "mean", (3,))
    weights(g, kernel, (3, 4))
    op(g, "centred", "Sub", ["x", "mean"])
    op(g, "dense", "MatMul", ["centred", kernel])
    return g


def test_constants_are_parameters_unless_the_graph_marks_its_weights():
    # Frozen by TensorFlow from resource variables, the kernel is `…/resource`: the graph
    # tells its weights apart, and the mean is a constant of the model's code.
    frozen = tfflops.profile(dense_graph("dense/ReadVariableOp/resource"), tfprof=False)
    assert frozen.totals["params"] == 12  # 3*4
    (note,) = [n for n in frozen.notes if n.startswith("not parameters")]
    assert "1 constant(s), 3 elements, a constant of the model's code" in note
    assert "mean [3]" in note
    # Nothing marks the weights: every float constant of one or more dimensions is one.
    plain = tfflops.profile(dense_graph("kernel"), tfprof=False)
    assert plain.totals["params"] == 15  # 3*4 + 3
    assert not any(n.startswith("not parameters") for n in plain.notes)


def test_an_integer_variable_frozen_is_a_parameter_an_integer_constant_is_not():
    # Keras' model.quantize("int8") keeps a Dense kernel in an int8 variable: frozen, an
    # int8 `…/resource` Const, cast and multiplied. The graph's own integer constants
    # (a shape, here one the Reshape reads) are no weights.
    g = proto.GraphDef()
    placeholder(g, "x", (1, 3))
    weights(g, "dense/ReadVariableOp/resource", (3, 4), dtype=proto.DATA_TYPES["DT_INT8"])
    ints(g, "shape", [3, 4])
    op(g, "kernel", "Reshape", ["dense/ReadVariableOp/resource", "shape"])
    cast = g.node.add(name="float_kernel", op="Cast", input=["kernel"])
    cast.attr["DstT"].type = proto.DATA_TYPES["DT_FLOAT"]
    op(g, "dense", "MatMul", ["x", "float_kernel"])
    p = tfflops.profile(g, outputs=["dense"], convention="macs", tfprof=False)
    assert p.totals["flops"] == 12  # 3*4
    assert p.totals["params"] == 12  # the int8 kernel's 3*4; not the shape's 2
    assert p.totals["weight_bytes"] == 12  # 1 byte each


def test_a_parameter_counts_on_the_op_that_reads_its_value_not_through_a_control_edge():
    # A lowered loop's Enter of a weight also gates a NoOp by control, which gates the
    # Identity of another loop variable: the weight must not land on that variable's
    # reader, a path of three edges where its own reader is four data edges away.
    g = proto.GraphDef()
    placeholder(g, "x", (1, 3))
    placeholder(g, "h", (1, 3))
    weights(g, "kernel", (3, 3))
    op(g, "enter", "Identity", ["kernel"])
    op(g, "gate", "NoOp", ["^enter"])
    op(g, "h_read", "Identity", ["h", "^gate"])
    op(g, "relu", "Relu", ["h_read"])
    op(g, "k1", "Identity", ["enter"])
    op(g, "k2", "Identity", ["k1"])
    op(g, "matmul", "MatMul", ["x", "k2"])
    op(g, "out", "AddV2", ["matmul", "relu"])
    p = tfflops.profile(g, outputs=["out"], tfprof=False)
    params = {r.name: r.params for r in p.rows if r.params}
    assert params == {"matmul": 9}  # the kernel's 3·3


def test_unsupported_ops_are_those_of_nodes_counted():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3))
    op(g, "relu", "Relu", ["x"])
    op(g, "plumbing", "DisableCopyOnRead", ["x"])  # a saver's: no output needs it
    p = tfflops.profile(g, outputs=["relu"], tfprof=False)
    assert p.unsupported_ops == {}
    p = tfflops.profile(g, outputs=["relu", "plumbing"], tfprof=False)
    assert p.unsupported_ops == {"DisableCopyOnRead": 1}


def test_totals_say_what_tf_profiler_misses():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 8))
    weights(g, "w1", (8, 8))
    weights(g, "w2", (8, 8))
    op(g, "matmul", "MatMul", ["x", "w1"])  # 8*(2*8) = 128 MACs, tf.profiler 256
    op(g, "einsum", "Einsum", ["matmul", "w2"], equation="ij,jk->ik")  # 128 MACs, tf.profiler 0
    p = tfflops.profile(g, outputs=["einsum"], tfprof=False)
    assert p.tfprof_missed() == (128, 256, "Einsum ×1")
    assert "  tf.profiler skips  50.0% of the MACs: Einsum ×1\n" in render(p)
    # One MAC in a hundred or more is worth the line; fewer are not.
    assert "tf.profiler skips" not in render(tfflops.profile(g, outputs=["matmul"], tfprof=False))


# ---------------------------------------------------------------- conds on fed predicates

DT_BOOL = proto.DATA_TYPES["DT_BOOL"]


def _counted(p, convention="full") -> dict[str, int]:
    return {r.name: p.flops_of(r, convention) for r in p.rows if p.flops_of(r, convention)}


def test_a_cond_inside_a_cond_side_weighs_only_the_inner_side_it_keeps():
    # x[1,4]; outer cond on p: then = MatMul [4,8] (full 2·4·8 = 64) and an inner cond on q
    # between MatMul [8,8] (2·8·8 = 128) and MatMul [8,8] + Relu (128 + 8 = 136): the inner
    # keeps 136, so then = 64 + 136 = 200; else = MatMul [4,8] 64 + MatMul [8,8] 128 +
    # Relu 8 + Relu 8 = 208 > 200 (with both inner sides, then would weigh 328).
    g = proto.GraphDef()
    placeholder(g, "x", (1, 4))
    placeholder(g, "p", (), DT_BOOL)
    placeholder(g, "q", (), DT_BOOL)
    op(g, "sw", "Switch", ["x", "p"])
    op(g, "t1", "MatMul", ["sw:1", weights(g, "w1", (4, 8))])
    op(g, "isw", "Switch", ["t1", "q"])
    op(g, "it", "MatMul", ["isw:1", weights(g, "w2", (8, 8))])
    op(g, "ie", "MatMul", ["isw:0", weights(g, "w3", (8, 8))])
    op(g, "ie_relu", "Relu", ["ie"])
    op(g, "imerge", "Merge", ["ie_relu", "it"])
    op(g, "e1", "MatMul", ["sw:0", weights(g, "w4", (4, 8))])
    op(g, "e2", "MatMul", ["e1", weights(g, "w5", (8, 8))])
    op(g, "e3", "Relu", ["e2"])
    op(g, "e4", "Relu", ["e3"])
    op(g, "merge", "Merge", ["e4", "imerge"])
    p = tfflops.profile(g, outputs=["merge"], tfprof=False)
    assert _counted(p) == {"e1": 64, "e2": 128, "e3": 8, "e4": 8}  # 208
    assert p.total_flops("macs") == 4 * 8 + 8 * 8  # e1 32 + e2 64 = 96
    assert p.totals["params"] == 32 + 64 + 64 + 32 + 64  # every side's weights: 256
    assert any(n.startswith("2 Switch predicate(s) not known statically") for n in p.notes)
    # tfprof keeps every side, as tf.profiler counts them (Relu 0): t1 64 + it 128 + ie 128
    # + e1 64 + e2 128 = 512
    assert p.total_flops("tfprof") == 512


def test_conds_on_one_predicate_take_the_same_side_and_train_only_through_it():
    # Cond A on p: then MatMul [4,4] (full 2·4·4 = 32, 16 MACs), else Relu (4). Cond B on
    # Identity(p): then Relu (4), else two MatMuls [4,4] (32 + 32). Alone, A would keep its
    # then side; together the true side weighs 32 + 4 = 36, the false side 4 + 64 = 68.
    g = proto.GraphDef()
    placeholder(g, "x", (1, 4))
    placeholder(g, "p", (), DT_BOOL)
    op(g, "p_id", "Identity", ["p"])
    op(g, "a_sw", "Switch", ["x", "p"])
    op(g, "a_then", "MatMul", ["a_sw:1", weights(g, "wa", (4, 4))])
    op(g, "a_else", "Relu", ["a_sw:0"])
    op(g, "a", "Merge", ["a_else", "a_then"])
    op(g, "b_sw", "Switch", ["a", "p_id"])
    op(g, "b_then", "Relu", ["b_sw:1"])
    op(g, "b_else1", "MatMul", ["b_sw:0", weights(g, "wb1", (4, 4))])
    op(g, "b_else2", "MatMul", ["b_else1", weights(g, "wb2", (4, 4))])
    op(g, "b", "Merge", ["b_else2", "b_then"])
    p = tfflops.profile(g, outputs=["b"], convention="macs", tfprof=False, training=True)
    assert _counted(p) == {"a_else": 4, "b_else1": 32, "b_else2": 32}  # 68
    assert p.totals["flops"] == 16 + 16  # the two MatMuls of B's false side, 4·4 each
    # Backward, through the side that runs only: b_else2 dW 16 + dX 16, b_else1 dW 16 (its
    # input, x through a Relu, needs no gradient); a_then's weights get none.
    assert p.totals["train_flops"] == 32 + 16 + 16 + 16  # 80


def test_the_ops_tf_profiler_counts_0_for_are_named_in_a_stable_order():
    """Ops of equal FLOPs keep the order of their first node tf.profiler counts 0 for,
    one of no element (a Relu of shape [1,0]: 0 FLOPs) included."""
    g = proto.GraphDef()
    placeholder(g, "empty", (1, 0))
    placeholder(g, "x", (1, 4))
    op(g, "a0", "Relu", ["empty"])  # 1·0 elements: 0 FLOPs, the first Relu
    op(g, "b", "Relu6", ["x"])  # 1·4 elements: 4 FLOPs under full
    op(g, "a1", "Relu", ["x"])  # 1·4 elements: 4 FLOPs under full
    p = tfflops.profile(g, outputs=["a0", "b", "a1"], convention="tfprof", tfprof=False)
    assert [n for n in p.notes if "counts 0" in n] == [
        "the tfprof convention counts 0, as tf.profiler does, for: Relu (4), Relu6 (4) — "
        "their FLOPs under --convention full"
    ]
