"""The op table: every op has a shape function and a cost decision; the ops that had a
shape and no cost decision before get one, each checked against hand-computed counts."""

import pytest
from builders import ints, placeholder

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.ops import (
    OPS,
    REGISTRY,
    VIEW,
    VIEW_OPS,
    WALKER,
    ZERO,
    ZERO_COST,
    OpView,
    lookup,
    register,
)
from tfflops.analysis.shapes import infer_shapes
from tfflops.graph import proto
from tfflops.graph.index import Graph

DT_FLOAT = proto.DATA_TYPES["DT_FLOAT"]


def test_every_op_has_both_decisions():
    for op, spec in OPS.items():
        assert callable(spec.shape) or spec.shape == WALKER, op
        assert callable(spec.cost) or spec.cost in (ZERO, VIEW), op


def test_the_lists_of_ops_are_views_of_the_one_table():
    assert set(REGISTRY) == {op for op, spec in OPS.items() if callable(spec.cost)}
    assert {op for op, spec in OPS.items() if spec.cost in (ZERO, VIEW)} == ZERO_COST
    assert {op for op, spec in OPS.items() if spec.cost == VIEW} == VIEW_OPS


def test_a_decision_cannot_be_left_out():
    with pytest.raises(ValueError, match="no shape function"):
        register("NotAnOpA", cost=ZERO)
    with pytest.raises(ValueError, match="cost must be"):
        register("NotAnOpB", shape=WALKER, cost="free")
    assert "NotAnOpA" not in OPS and "NotAnOpB" not in OPS


def test_every_op_in_the_table_is_one_tensorflow_has():
    from tfflops.tf import import_tensorflow

    import_tensorflow()
    from tensorflow.python.framework import op_def_registry

    unknown = sorted(op for op in OPS if op_def_registry.get(op) is None)
    assert unknown == []


def _costs(view):
    cost = lookup(view.op)(view)
    return {c: node_flops(cost, c) for c in ("tfprof", "macs", "exact", "full")}


# (name, view, tfprof, macs, exact, full)
CASES = [
    (
        "Cumsum inclusive along 5",
        OpView("Cumsum", ((2, 5), ()), ((2, 5),), values=(None, (1,))),
        0,
        0,
        8,  # 2 lines · (5 − 1) adds
        8,
    ),
    (
        "Cumsum exclusive along 5",
        OpView("Cumsum", ((2, 5), ()), ((2, 5),), {"exclusive": True}, values=(None, (-1,))),
        0,
        0,
        6,  # 2 lines · (5 − 2) adds
        6,
    ),
    (
        "Cumprod along axis 0 of 4",
        OpView("Cumprod", ((4, 3), ()), ((4, 3),), values=(None, (0,))),
        0,
        0,
        9,  # 3 lines · 3 multiplies
        9,
    ),
    (
        "LRN radius 2 over 6 channels",
        OpView("LRN", ((1, 2, 2, 6),), ((1, 2, 2, 6),), {"depth_radius": 2}),
        0,
        0,
        # window terms per channel 3+4+5+5+4+3 = 24; adds 4·(24 − 6) = 72;
        # 24 squares + 72 adds + 3·24 (·alpha, +bias, divide) = 168
        168,
        192,  # + 24 powers
    ),
    (
        "ResizeBilinear to 4x4x3",
        OpView("ResizeBilinear", ((1, 2, 2, 3), (2,)), ((1, 4, 4, 3),)),
        0,
        0,
        432,  # 9 · 48
        432,
    ),
    (
        "ResizeBicubic to 2x2",
        OpView("ResizeBicubic", ((1, 4, 4, 1), (2,)), ((1, 2, 2, 1),)),
        0,
        0,
        140,  # 35 · 4
        140,
    ),
    (
        "ResizeArea 4x4 → 2x2",
        OpView("ResizeArea", ((1, 4, 4, 1), (2,)), ((1, 2, 2, 1),)),
        0,
        0,
        36,  # 4 outputs · 2·2 cells · 2 + 4 scales
        36,
    ),
    (
        "ResizeArea 5x5 → 2x2, 2 channels",
        OpView("ResizeArea", ((1, 5, 5, 2), (2,)), ((1, 2, 2, 2),)),
        0,
        0,
        # rows: [0, ⌈2.5⌉) = 3 and [⌊2.5⌋, 5) = 3; taps 6·6 = 36; 2·36·2 + 8
        152,
        152,
    ),
    (
        "FractionalMaxPool 6x6 → 4x4",
        OpView(
            "FractionalMaxPool",
            ((1, 6, 6, 2),),
            ((1, 4, 4, 2), (5,), (5,)),
            {"pooling_ratio": [1.0, 1.5, 1.5, 1.0]},
        ),
        0,
        0,
        0,
        40,  # 72 cells − 32 outputs comparisons
    ),
    (
        "FractionalMaxPool overlapping",
        OpView(
            "FractionalMaxPool",
            ((1, 6, 6, 2),),
            ((1, 4, 4, 2), (5,), (5,)),
            {"overlapping": True},
        ),
        0,
        0,
        0,
        130,  # (6 + 4 − 1)² · 2 = 162 cells − 32
    ),
    (
        "MaxPoolWithArgmax 2x2",
        OpView(
            "MaxPoolWithArgmax",
            ((1, 4, 4, 1),),
            ((1, 2, 2, 1), (1, 2, 2, 1)),
            {"ksize": [1, 2, 2, 1]},
        ),
        0,
        0,
        0,
        16,  # 4 window · 4 outputs
    ),
    (
        "MaxPoolV2 3x3 window",
        OpView(
            "MaxPoolV2",
            ((1, 6, 6, 1), (4,), (4,)),
            ((1, 2, 2, 1),),
            values=(None, (1, 3, 3, 1), None),
        ),
        0,
        0,
        0,
        36,  # 9 · 4
    ),
    (
        "MaxPoolGradV2 2x2 window",
        OpView(
            "MaxPoolGradV2",
            ((1, 4, 4, 1), (1, 2, 2, 1), (1, 2, 2, 1), (4,), (4,)),
            ((1, 4, 4, 1),),
            values=(None, None, None, (1, 2, 2, 1), None),
        ),
        0,
        0,
        4,  # 4 gradient adds
        20,  # + 4·4 comparisons
    ),
    (
        "Conv3DBackpropInputV2 (Conv3DTranspose)",
        OpView(
            "Conv3DBackpropInputV2",
            ((5,), (2, 3, 3, 4, 8), (1, 4, 6, 6, 8)),
            ((1, 4, 6, 6, 4),),
        ),
        0,
        82944,  # N(dy) 1152 · 2·3·3·4
        165312,  # 2·82944 − 576 outputs
        165888,
    ),
    (
        "Conv3DBackpropFilterV2",
        OpView(
            "Conv3DBackpropFilterV2",
            ((1, 4, 6, 6, 4), (5,), (1, 4, 6, 6, 8)),
            ((2, 3, 3, 4, 8),),
        ),
        0,
        82944,  # 1152 · 72
        165312,  # 2·82944 − 576 filter elements
        165888,
    ),
    (
        "DepthwiseConv2dNativeBackpropInput",
        OpView(
            "DepthwiseConv2dNativeBackpropInput",
            ((4,), (3, 3, 4, 1), (1, 8, 8, 4)),
            ((1, 8, 8, 4),),
        ),
        0,
        2304,  # 256 · 9
        4352,  # 2·2304 − 256
        4608,
    ),
    (
        "DepthwiseConv2dNativeBackpropFilter",
        OpView(
            "DepthwiseConv2dNativeBackpropFilter",
            ((1, 8, 8, 4), (4,), (1, 8, 8, 4)),
            ((3, 3, 4, 1),),
        ),
        0,
        2304,
        4572,  # 2·2304 − 36
        4608,
    ),
    (
        "FusedPadConv2D",
        OpView("FusedPadConv2D", ((1, 4, 4, 2), (4, 2), (3, 3, 2, 4)), ((1, 6, 6, 4),)),
        0,
        2592,  # 144 outputs · 18
        5040,  # 2·2592 − 144
        5184,
    ),
    (
        "FusedResizeAndPadConv2D",
        OpView(
            "FusedResizeAndPadConv2D",
            ((1, 4, 4, 2), (2,), (4, 2), (3, 3, 2, 4)),
            ((1, 8, 8, 4),),
            values=(None, (8, 8), None, None),
        ),
        0,
        4608,  # 256 · 18
        10112,  # 2·4608 − 256 + 9·(8·8·2) resize
        10368,  # 2·4608 + 1152
    ),
    (
        "FakeQuantWithMinMaxVars",
        OpView("FakeQuantWithMinMaxVars", ((3, 4), (), ()), ((3, 4),)),
        0,
        0,
        48,  # 4 · 12
        84,  # + 3 · 12
    ),
    (
        "BitwiseAnd",
        OpView("BitwiseAnd", ((2, 3), (2, 3)), ((2, 3),)),
        0,
        0,
        0,
        6,
    ),
    (
        "AssignAddVariableOp",
        OpView("AssignAddVariableOp", ((), (5, 5))),
        0,
        0,
        25,
        25,
    ),
]


@pytest.mark.parametrize(
    ("view", "tfprof", "macs", "exact", "full"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_new_formula(view, tfprof, macs, exact, full):
    assert _costs(view) == {"tfprof": tfprof, "macs": macs, "exact": exact, "full": full}


@pytest.mark.parametrize(
    "op",
    ["ResizeNearestNeighbor", "ConjugateTranspose", "DebugIdentity", "SaveSlices", "GatherNd"],
)
def test_deliberately_free(op):
    assert op in ZERO_COST


def _shapes_of(build):
    g = proto.GraphDef()
    build(g)
    result = infer_shapes(Graph(g))
    return result


def test_fractional_max_pool_shape():
    def build(g):
        placeholder(g, "x", (1, 6, 6, 2))
        n = g.node.add(name="pool", op="FractionalMaxPool", input=["x"])
        n.attr["T"].type = DT_FLOAT
        n.attr["pooling_ratio"].list.f.extend([1.0, 1.5, 1.5, 1.0])

    outs = _shapes_of(build).tensors["pool"]
    assert [o.shape for o in outs] == [(1, 4, 4, 2), (5,), (5,)]


def test_gather_nd_and_where_shapes():
    def build(g):
        placeholder(g, "params", (5, 7, 3))
        placeholder(g, "idx", (4, 2), proto.DATA_TYPES["DT_INT32"])
        g.node.add(name="gather", op="GatherNd", input=["params", "idx"])
        g.node.add(name="where", op="Where", input=["params"])

    result = _shapes_of(build)
    assert result.tensors["gather"][0].shape == (4, 3)  # indices (4,) + params[2:]
    assert result.tensors["where"][0].shape == (None, 3)


def test_fused_resize_and_pad_conv_shape():
    def build(g):
        placeholder(g, "x", (1, 4, 4, 2))
        ints(g, "size", [8, 8])
        n = g.node.add(name="pads", op="Const")
        n.attr["dtype"].type = proto.DATA_TYPES["DT_INT32"]
        t = n.attr["value"].tensor
        t.dtype = proto.DATA_TYPES["DT_INT32"]
        t.tensor_shape.dim.add(size=4)
        t.tensor_shape.dim.add(size=2)
        t.int_val.extend([0, 0, 1, 1, 1, 1, 0, 0])
        placeholder(g, "w", (3, 3, 2, 4))
        conv = g.node.add(name="conv", op="FusedResizeAndPadConv2D")
        conv.input.extend(["x", "size", "pads", "w"])
        conv.attr["T"].type = DT_FLOAT
        conv.attr["strides"].list.i.extend([1, 1, 1, 1])
        conv.attr["padding"].s = b"VALID"

    # resized 8x8, padded to 10x10, VALID 3x3 → 8x8x4
    assert _shapes_of(build).tensors["conv"][0].shape == (1, 8, 8, 4)


QUANTIZED = [
    (
        "QuantizedConv2D 3x3x8 → 16, 6x6 out",
        OpView("QuantizedConv2D", ((1, 8, 8, 8), (3, 3, 8, 16)), ((1, 6, 6, 16), (), ())),
        0,
        41472,  # N(out) 576 · 3·3·8 integer MACs
        82368,  # 2·41472 − 576
        82944,
    ),
    (
        "QuantizedMatMul 4x8 @ 8x16",
        OpView("QuantizedMatMul", ((4, 8), (8, 16)), ((4, 16), (), ())),
        0,
        512,  # 8 · 64
        960,  # 2·512 − 64
        1024,
    ),
    (
        "QuantizedMaxPool 2x2",
        OpView(
            "QuantizedMaxPool",
            ((1, 4, 4, 2), (), ()),
            ((1, 2, 2, 2), (), ()),
            {"ksize": [1, 2, 2, 1]},
        ),
        0,
        0,
        0,
        32,  # 4 · 8
    ),
    (
        "QuantizeV2",
        OpView("QuantizeV2", ((2, 5), (), ()), ((2, 5), (), ())),
        0,
        0,
        20,  # 2 · 10
        50,  # + 3 · 10
    ),
    (
        "Dequantize",
        OpView("Dequantize", ((2, 5), (), ()), ((2, 5),)),
        0,
        0,
        20,  # 2 · 10
        20,
    ),
    (
        "RequantizationRange",
        OpView("RequantizationRange", ((3, 4), (), ()), ((), ())),
        0,
        0,
        0,
        24,  # min and max: 2 · 12
    ),
]


@pytest.mark.parametrize(
    ("view", "tfprof", "macs", "exact", "full"),
    [case[1:] for case in QUANTIZED],
    ids=[case[0] for case in QUANTIZED],
)
def test_quantized_formula(view, tfprof, macs, exact, full):
    assert _costs(view) == {"tfprof": tfprof, "macs": macs, "exact": exact, "full": full}


def test_a_quantized_graph_counts_its_integer_macs_with_the_dtype_shown():
    def build(g):
        placeholder(g, "x", (4, 8), proto.DATA_TYPES["DT_QUINT8"])
        placeholder(g, "w", (8, 16), proto.DATA_TYPES["DT_QUINT8"])
        for name in ("x_min", "x_max", "w_min", "w_max"):
            placeholder(g, name, ())
        mm = g.node.add(name="mm", op="QuantizedMatMul")
        mm.input.extend(["x", "w", "x_min", "x_max", "w_min", "w_max"])
        mm.attr["Toutput"].type = proto.DATA_TYPES["DT_QINT32"]

    g = proto.GraphDef()
    build(g)
    import tfflops

    p = tfflops.profile(g, outputs=["mm"], convention="macs", tfprof=False)
    (node,) = [n for n in p.to_dict()["nodes"] if n["name"] == "mm"]
    assert node["flops"] == 512  # 8 · (4·16) integer MACs
    assert node["dtype"] == "qint32"
    assert node["output_shapes"] == [[4, 16], [], []]
