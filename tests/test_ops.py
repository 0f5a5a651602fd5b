"""Every formula under every convention, on hand-computed cases (traps included)."""

import pytest

from tfflops.analysis.conventions import CONVENTIONS, node_flops
from tfflops.analysis.ops import REGISTRY, ZERO_COST, OpView, UnknownShape, lookup, register

lookup("")  # load the formula modules

NHWC_2x2 = {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "data_format": "NHWC"}

# (id, OpView, tfprof, macs, exact, full)
CASES = [
    (
        "conv2d 3x3 3->8 on 32x32",
        OpView("Conv2D", ((1, 32, 32, 3), (3, 3, 3, 8)), ((1, 32, 32, 8),)),
        442368,  # 2*3*3*3*32*32*8
        221184,  # 3*3*3*32*32*8
        434176,  # (2*27 - 1) * 8192
        442368,
    ),
    (
        "conv2d grouped, filter Cin 2 of 4",
        OpView("Conv2D", ((1, 8, 8, 4), (3, 3, 2, 6)), ((1, 8, 8, 6),)),
        13824,  # 2 * 384 outputs * 3*3*2
        6912,  # 384 * 18
        13440,  # (2*18 - 1) * 384
        13824,
    ),
    (
        "matmul 25x16 @ 16x9",
        OpView("MatMul", ((25, 16), (16, 9)), ((25, 9),)),
        7200,  # 2*16*25*9
        3600,  # 16*225
        6975,  # (2*16 - 1) * 225
        7200,
    ),
    (
        "matmul transpose_a: K is a.shape[0]",
        OpView("MatMul", ((16, 25), (16, 9)), ((25, 9),), {"transpose_a": True}),
        7200,  # 2*16*225, not 2*25*225 = 11250
        3600,
        6975,
        7200,
    ),
    (
        "batch matmul adj_x: tf.profiler takes K = a.shape[-1]",
        OpView("BatchMatMulV2", ((2, 16, 25), (2, 16, 9)), ((2, 25, 9),), {"adj_x": True}),
        22500,  # tf.profiler: 2 * 25 * 450 (wrong K)
        7200,  # right K = 16: 16 * 2*25*9
        13950,  # (2*16 - 1) * 450
        14400,  # 2 * 7200
    ),
    (
        "depthwise 3x3 on 32x32x8",
        OpView("DepthwiseConv2dNative", ((1, 32, 32, 8), (3, 3, 8, 1)), ((1, 32, 32, 8),)),
        147456,  # 2 * 9 * 8192
        73728,  # 9 * 8192
        139264,  # (2*9 - 1) * 8192
        147456,
    ),
    (
        "conv3d 3x3x3 2->4 on 8x8x8",
        OpView("Conv3D", ((1, 8, 8, 8, 2), (3, 3, 3, 2, 4)), ((1, 8, 8, 8, 4),)),
        221184,  # 2 * 27*2 * 2048
        110592,  # 54 * 2048
        219136,  # (108 - 1) * 2048
        221184,
    ),
    (
        "einsum batched matmul",
        OpView("Einsum", ((2, 3, 4), (2, 4, 5)), ((2, 3, 5),), {"equation": "bij,bjk->bik"}),
        0,  # tf.profiler has no Einsum formula
        120,  # 2*3*4*5
        210,  # 2*120 - 30 outputs
        240,
    ),
    (
        "dilation2d 3x3 VALID",
        OpView("Dilation2D", ((1, 8, 8, 2), (3, 3, 2)), ((1, 6, 6, 2),)),
        1296,  # 2 * 9 * 72
        0,
        648,  # 9 adds per output * 72
        1296,  # adds + maxes
    ),
    (
        "conv2d backprop input",
        OpView(
            "Conv2DBackpropInput",
            ((4,), (3, 3, 3, 4), (1, 8, 8, 4)),
            ((1, 8, 8, 3),),
            {"strides": [1, 1, 1, 1]},
        ),
        13824,  # 2 * 192 * 108 / (3 * 1)
        6912,
        13632,  # 2*6912 - 192
        13824,
    ),
    (
        "conv2d backprop input, VALID stride 2 leaving a remainder",
        OpView(
            "Conv2DBackpropInput",
            ((4,), (3, 3, 3, 5), (1, 3, 3, 5)),
            ((1, 7, 7, 3),),
            {"strides": [1, 2, 2, 1], "padding": "VALID"},
        ),
        3307,  # tf.profiler: int(2 * 147 * 135 / (3 * 2*2)) = int(3307.5)
        1215,  # the forward conv's: N(dy) 45 * 3*3*3
        2283,  # 2*1215 - 147 image elements
        2430,  # 2 * 1215
    ),
    (
        "maxpool NHWC 2x2",
        OpView("MaxPool", ((1, 28, 28, 4),), ((1, 14, 14, 4),), NHWC_2x2),
        3136,  # 1*2*2*1 * 784
        0,
        0,
        3136,
    ),
    (
        "maxpool NCHW: tf.profiler counts 0",
        OpView(
            "MaxPool",
            ((1, 4, 28, 28),),
            ((1, 4, 14, 14),),
            {"ksize": [1, 1, 2, 2], "strides": [1, 1, 2, 2], "data_format": "NCHW"},
        ),
        0,
        0,
        0,
        3136,  # 4 * 784
    ),
    (
        "avgpool 3x3",
        OpView("AvgPool", ((1, 12, 12, 2),), ((1, 10, 10, 2),), {"ksize": [1, 3, 3, 1]}),
        1800,  # 9 * 200
        0,
        1800,  # 8 adds + 1 divide per output
        1800,
    ),
    (
        "addn 3 inputs + a control input: tf.profiler counts it",
        OpView("AddN", ((4, 5), (4, 5), (4, 5)), ((4, 5),), num_raw_inputs=4),
        60,  # 20 * (4 - 1)
        0,
        40,  # 20 * (3 - 1)
        40,
    ),
    (
        "bias add",
        OpView("BiasAdd", ((1, 32, 32, 8), (8,)), ((1, 32, 32, 8),)),
        8192,  # 32*32*8
        0,
        8192,
        8192,
    ),
    ("relu", OpView("Relu", ((1, 32, 32, 8),), ((1, 32, 32, 8),)), 0, 0, 0, 8192),
    ("add broadcast (1,3)+(4,1)", OpView("AddV2", ((1, 3), (4, 1)), ((4, 3),)), 12, 0, 12, 12),
    ("maximum", OpView("Maximum", ((4, 3), ()), ((4, 3),)), 12, 0, 0, 12),
    ("squared difference", OpView("SquaredDifference", ((3, 4), (3, 4)), ((3, 4),)), 24, 0, 24, 24),
    ("rsqrt", OpView("Rsqrt", ((64,),), ((64,),)), 128, 0, 0, 128),  # 2 * 64
    ("square", OpView("Square", ((5,),), ((5,),)), 5, 0, 5, 5),
    (
        "softmax",
        OpView("Softmax", ((2, 10),), ((2, 10),)),
        100,  # 5 * 20
        0,
        60,  # subtract, sum, divide: 3 * 20
        100,
    ),
    ("log softmax", OpView("LogSoftmax", ((2, 10),), ((2, 10),)), 0, 0, 60, 100),
    (
        "mean over H, W",
        OpView("Mean", ((1, 7, 7, 32), (2,)), ((1, 32),)),
        1568,  # 7*7*32
        0,
        1568,  # 1536 adds + 32 divides
        1568,
    ),
    ("sum", OpView("Sum", ((4, 5), (1,)), ((4,),)), 16, 0, 16, 16),  # 20 - 4
    ("argmax", OpView("ArgMax", ((4, 10), ()), ((4,),)), 36, 0, 0, 36),  # 40 - 4
    ("max reduce", OpView("Max", ((4, 10), ()), ((4,),)), 0, 0, 0, 36),
    (
        "l2 loss",
        OpView("L2Loss", ((10,),), ((),)),
        29,  # tf.profiler: 3*10 - 1
        0,
        20,  # 10 squares + 9 adds + 1 halving
        20,
    ),
    (
        "fused batch norm, inference",
        OpView(
            "FusedBatchNormV3",
            ((1, 14, 14, 4), (4,), (4,), (4,), (4,)),
            ((1, 14, 14, 4),),
            {"is_training": False},
        ),
        0,
        0,
        1584,  # 2 * 784 + 4 * 4
        1588,  # + 4 square roots
    ),
    (
        "einsum one operand, transpose: nothing computed",
        OpView("Einsum", ((5, 6),), ((6, 5),), {"equation": "ij->ji"}),
        0,
        0,
        0,
        0,
    ),
    (
        "einsum one operand, sum of all",
        OpView("Einsum", ((5, 6),), ((),), {"equation": "ij->"}),
        0,
        0,
        29,  # 30 elements summed: 30 - 1 adds
        29,
    ),
    (
        "einsum one operand, row sums",
        OpView("Einsum", ((5, 6),), ((5,),), {"equation": "ij->i"}),
        0,
        0,
        25,  # 5 * (6 - 1)
        25,
    ),
    (
        "einsum one operand, diagonal",
        OpView("Einsum", ((5, 5),), ((5,),), {"equation": "ii->i"}),
        0,
        0,
        0,
        0,
    ),
    (
        "einsum one operand, trace",
        OpView("Einsum", ((5, 5),), ((),), {"equation": "ii->"}),
        0,
        0,
        4,  # 5 diagonal elements summed: 5 - 1
        4,
    ),
    (
        "fused conv2d + BiasAdd + Relu (tf.profiler: 0)",
        OpView(
            "_FusedConv2D",
            ((1, 9, 9, 3), (3, 3, 3, 4), (4,)),
            ((1, 9, 9, 4),),
            {"fused_ops": ["BiasAdd", "Relu"]},
        ),
        0,
        8748,  # 27 * 324 outputs (9*9*4)
        17496,  # (2*27 - 1) * 324 + 324 bias adds = 17172 + 324
        18144,  # 2*8748 + 324 bias + 324 relu
    ),
    (
        "fused conv2d + FusedBatchNorm + Relu",
        OpView(
            "_FusedConv2D",
            ((1, 9, 9, 3), (3, 3, 3, 4), (4,), (4,), (4,), (4,)),
            ((1, 9, 9, 4),),
            {"fused_ops": ["FusedBatchNorm", "Relu"]},
        ),
        0,
        8748,
        17836,  # 17172 + batch norm 2*324 + 4*4 = 17172 + 664
        18488,  # 2*8748 + 664 + 4 square roots + 324 relu
    ),
    (
        "fused matmul + BiasAdd + Relu",
        OpView(
            "_FusedMatMul",
            ((5, 7), (7, 3), (3,)),
            ((5, 3),),
            {"fused_ops": ["BiasAdd", "Relu"]},
        ),
        0,
        105,  # 7 * 15
        210,  # (2*7 - 1) * 15 + 15
        240,  # 2*105 + 15 + 15
    ),
    (
        "sigmoid gradient dy*y*(1-y)",
        OpView("SigmoidGrad", ((3, 4), (3, 4)), ((3, 4),)),
        0,
        0,
        36,  # 3 per element * 12
        36,
    ),
]


@pytest.mark.parametrize(
    ("view", "tfprof", "macs", "exact", "full"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_formula(view, tfprof, macs, exact, full):
    cost = lookup(view.op)(view)
    assert node_flops(cost, "tfprof") == tfprof
    assert node_flops(cost, "macs") == macs
    assert node_flops(cost, "exact") == exact
    assert node_flops(cost, "exact-bias") == exact  # no bias folded
    assert node_flops(cost, "full") == full
    for convention in CONVENTIONS:
        assert type(node_flops(cost, convention)) is int


def test_exact_bias_folds_the_bias_into_the_contraction():
    conv = lookup("Conv2D")(OpView("Conv2D", ((1, 32, 32, 3), (3, 3, 3, 8)), ((1, 32, 32, 8),)))
    bias = lookup("BiasAdd")(OpView("BiasAdd", ((1, 32, 32, 8), (8,)), ((1, 32, 32, 8),)))
    assert node_flops(conv, "exact-bias", "folded-here") == 450560  # (2*27 + 1) * 8192
    assert node_flops(bias, "exact-bias", "folded-away") == 0


def test_exact_bias_of_a_fused_contraction_with_its_bias():
    view = OpView(
        "_FusedConv2D",
        ((1, 9, 9, 3), (3, 3, 3, 4), (4,)),
        ((1, 9, 9, 4),),
        {"fused_ops": ["BiasAdd", "Relu"]},
    )
    cost = lookup("_FusedConv2D")(view)
    assert node_flops(cost, "exact-bias", "fused-in") == 17820  # (2*27 + 1) * 324


def test_a_fused_op_without_formula_is_left_out_of_the_cost():
    view = OpView(
        "_FusedConv2D",
        ((1, 9, 9, 3), (3, 3, 3, 4), (4,)),
        ((1, 9, 9, 4),),
        {"fused_ops": ["BiasAdd", "_MklSwish"]},
    )
    cost = lookup("_FusedConv2D")(view)
    assert node_flops(cost, "macs") == 8748  # 27 * 324: the contraction still counts
    assert node_flops(cost, "exact") == 17496  # 53*324 + 324 bias; _MklSwish not counted


def test_counts_are_exact_beyond_int64():
    # 2 * 100000 * 100000 * 100000 overflows int32 and float64's exact integers: Python ints.
    view = OpView("MatMul", ((100000, 100000), (100000, 10**9)), ((100000, 10**9),))
    # 2 * K * N(out) = 2 * 1e5 * (1e5 * 1e9) = 2e19 > 2**63 - 1
    assert node_flops(lookup("MatMul")(view), "tfprof") == 20000000000000000000


def test_unknown_shape_is_reported_not_zero():
    with pytest.raises(UnknownShape, match=r"output 0 is \('\?', 32, 32, 8\)"):
        lookup("Conv2D")(OpView("Conv2D", ((None, 32, 32, 3), (3, 3, 3, 8)), ((None, 32, 32, 8),)))


def test_registry_refuses_a_duplicate():
    with pytest.raises(ValueError, match="MatMul"):
        register("MatMul")(lambda v: None)
    with pytest.raises(ValueError, match="Identity"):
        register("Identity")(lambda v: None)


def test_zero_cost_and_registry_are_disjoint():
    assert not set(REGISTRY) & ZERO_COST
    assert "Relu" in REGISTRY and "Reshape" in ZERO_COST
    assert lookup("MyCustomOp") is None  # unsupported: neither list


def test_every_formula_says_what_it_counts(capsys):
    from tfflops.cli import main

    assert main(["ops"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80  # not a terminal: 80 columns
    listing = lines[: lines.index("")]
    # Op groups (continued two columns in), each followed by its formula (four columns in,
    # continued six in).
    groups: list[tuple[list[str], list[str]]] = []
    for line in listing:
        if not line.startswith(" "):
            groups.append(([line], []))
        elif not line.startswith("    ") and not groups[-1][1]:
            groups[-1][0].append(line.strip())
        else:
            groups[-1][1].append(line.strip())
    assert len(groups) > 30
    assert all(formula for _, formula in groups), "an op group without a formula line"
    formulas = {" ".join(names): " ".join(formula) for names, formula in groups}
    assert formulas["Add, AddV2, Mul, RealDiv, Sub"] == (
        "1 arithmetic op per output element; tf.profiler: 1·N(out)"
    )
