"""Static shape inference on small hand-built GraphDefs, against hand-computed shapes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from builders import placeholder

from tfflops import TfflopsError
from tfflops.analysis.shapes import infer_shapes
from tfflops.graph import proto
from tfflops.graph.index import Graph

DT_FLOAT = proto.DATA_TYPES["DT_FLOAT"]
DT_INT32 = proto.DATA_TYPES["DT_INT32"]


# ---------------------------------------------------------------- graph builders


def const(g, name, values, dims=None, dtype=DT_INT32, content=False):
    """A Const of ``values`` (flat), shaped ``dims`` (default: a vector, or a scalar for
    a bare number); ``content`` stores it in tensor_content instead of int_val/float_val."""
    if not isinstance(values, list):
        values, dims = [values], [] if dims is None else dims
    if dims is None:
        dims = [len(values)]
    n = g.node.add(name=name, op="Const")
    n.attr["dtype"].type = dtype
    t = n.attr["value"].tensor
    t.dtype = dtype
    for d in dims:
        t.tensor_shape.dim.add(size=d)
    np_dtype = np.float32 if dtype == DT_FLOAT else np.int32
    if content:
        t.tensor_content = np.array(values, dtype=np_dtype).tobytes()
    elif dtype == DT_FLOAT:
        t.float_val.extend(values)
    else:
        t.int_val.extend(values)
    return name


def node(g, name, op, inputs, **attrs):
    """An op node; attrs: bool → b, int → i, str → s, list of int → list.i."""
    n = g.node.add(name=name, op=op)
    n.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bool):
            n.attr[key].b = value
        elif isinstance(value, int):
            n.attr[key].i = value
        elif isinstance(value, str):
            n.attr[key].s = value.encode()
        else:
            n.attr[key].list.i.extend(value)
    return name


def infer(g, input_shapes=None):
    return infer_shapes(Graph(g), input_shapes)


def shape_of(g, name, index=0, input_shapes=None):
    return infer(g, input_shapes).output(name, index).shape


# ---------------------------------------------------------------- convolutions

# (x shape, filter HWIO, strides, padding, dilations, data_format, explicit, expected)
CONV2D_CASES = {
    "same-s1": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 1, 1, 1], "SAME", None, "NHWC", None,
                (1, 32, 32, 8)),  # ceil(32/1) = 32
    "valid-s1": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 1, 1, 1], "VALID", None, "NHWC", None,
                 (1, 30, 30, 8)),  # (32-3)//1+1 = 30
    "valid-s2": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 2, 2, 1], "VALID", None, "NHWC", None,
                 (1, 15, 15, 8)),  # (32-3)//2+1 = 15
    "same-s2-odd": ((1, 33, 33, 3), (3, 3, 3, 8), [1, 2, 2, 1], "SAME", None, "NHWC", None,
                    (1, 17, 17, 8)),  # ceil(33/2) = 17
    "valid-dilation2": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 1, 1, 1], "VALID", [1, 2, 2, 1],
                        "NHWC", None, (1, 28, 28, 8)),  # k_eff = (3-1)*2+1 = 5; 32-5+1 = 28
    "same-dilation2": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 1, 1, 1], "SAME", [1, 2, 2, 1],
                       "NHWC", None, (1, 32, 32, 8)),  # SAME ignores k: ceil(32/1) = 32
    "valid-rect-strides": ((2, 20, 10, 3), (5, 3, 3, 4), [1, 2, 3, 1], "VALID", None, "NHWC",
                           None, (2, 8, 3, 4)),  # H (20-5)//2+1 = 8; W (10-3)//3+1 = 3
    "explicit-nhwc": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 1, 1, 1], "EXPLICIT", None, "NHWC",
                      [0, 0, 1, 2, 3, 4, 0, 0],
                      (1, 33, 37, 8)),  # H 32+1+2-3+1 = 33; W 32+3+4-3+1 = 37
    "explicit-s2": ((1, 32, 32, 3), (3, 3, 3, 8), [1, 2, 2, 1], "EXPLICIT", None, "NHWC",
                    [0, 0, 1, 1, 0, 0, 0, 0],
                    (1, 16, 15, 8)),  # H (32+2-3)//2+1 = 16; W (32-3)//2+1 = 15
    "nchw-valid-s2": ((1, 3, 32, 32), (3, 3, 3, 8), [1, 1, 2, 2], "VALID", None, "NCHW", None,
                      (1, 8, 15, 15)),  # (32-3)//2+1 = 15, channels at axis 1
    "nchw-same-s2": ((1, 3, 33, 31), (3, 3, 3, 8), [1, 1, 2, 2], "SAME", None, "NCHW", None,
                     (1, 8, 17, 16)),  # ceil(33/2) = 17; ceil(31/2) = 16
    "nchw-explicit": ((1, 3, 10, 10), (3, 3, 3, 8), [1, 1, 1, 1], "EXPLICIT", None, "NCHW",
                      [0, 0, 0, 0, 1, 1, 2, 2],
                      (1, 8, 10, 12)),  # H 10+1+1-3+1 = 10; W 10+2+2-3+1 = 12
    "nchw-dilation2": ((1, 3, 32, 32), (3, 3, 3, 8), [1, 1, 1, 1], "VALID", [1, 1, 2, 2],
                       "NCHW", None, (1, 8, 28, 28)),  # k_eff 5: 32-5+1 = 28
}  # fmt: skip


@pytest.mark.parametrize(
    "x, f, strides, padding, dilations, fmt, explicit, expected",
    list(CONV2D_CASES.values()),
    ids=list(CONV2D_CASES),
)
def test_conv2d(x, f, strides, padding, dilations, fmt, explicit, expected):
    g = proto.GraphDef()
    placeholder(g, "x", x)
    placeholder(g, "w", f)
    attrs = {"strides": strides, "padding": padding, "data_format": fmt}
    if dilations:
        attrs["dilations"] = dilations
    if explicit:
        attrs["explicit_paddings"] = explicit
    node(g, "y", "Conv2D", ["x", "w"], **attrs)
    assert shape_of(g, "y") == expected


def test_conv2d_filter_from_tensor_content_const():
    g = proto.GraphDef()
    placeholder(g, "x", (1, 32, 32, 3))
    const(g, "w", [0.0] * 216, [3, 3, 3, 8], DT_FLOAT, content=True)  # 3*3*3*8 = 216
    node(g, "y", "Conv2D", ["x", "w"], strides=[1, 2, 2, 1], padding="VALID")
    result = infer(g)
    assert result.output("w").shape == (3, 3, 3, 8)
    assert result.output("y").shape == (1, 15, 15, 8)  # (32-3)//2+1 = 15


@pytest.mark.parametrize(
    "strides, padding, expected",
    [
        ([1, 2, 2, 1], "SAME", (1, 8, 8, 6)),  # ceil(16/2) = 8; channels 3*2 = 6
        ([1, 1, 1, 1], "VALID", (1, 14, 14, 6)),  # 16-3+1 = 14; channels 3*2 = 6
        ([1, 2, 2, 1], "VALID", (1, 7, 7, 6)),  # (16-3)//2+1 = 7
    ],
)
def test_depthwise_multiplier_2(strides, padding, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (1, 16, 16, 3))
    placeholder(g, "w", (3, 3, 3, 2))  # multiplier 2
    node(g, "y", "DepthwiseConv2dNative", ["x", "w"], strides=strides, padding=padding)
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "op, x, ksize, strides, padding, fmt, expected",
    [
        ("MaxPool", (1, 33, 33, 8), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", "NHWC",
         (1, 16, 16, 8)),  # (33-2)//2+1 = 16
        ("MaxPool", (1, 33, 33, 8), [1, 2, 2, 1], [1, 2, 2, 1], "SAME", "NHWC",
         (1, 17, 17, 8)),  # ceil(33/2) = 17
        ("AvgPool", (2, 32, 32, 4), [1, 3, 3, 1], [1, 2, 2, 1], "VALID", "NHWC",
         (2, 15, 15, 4)),  # (32-3)//2+1 = 15
        ("AvgPool", (2, 32, 30, 4), [1, 3, 3, 1], [1, 3, 3, 1], "SAME", "NHWC",
         (2, 11, 10, 4)),  # ceil(32/3) = 11; ceil(30/3) = 10
        ("MaxPool", (1, 8, 32, 31), [1, 1, 3, 3], [1, 1, 2, 2], "SAME", "NCHW",
         (1, 8, 16, 16)),  # ceil(32/2) = 16; ceil(31/2) = 16
        ("AvgPool", (1, 8, 32, 31), [1, 1, 3, 3], [1, 1, 2, 2], "VALID", "NCHW",
         (1, 8, 15, 15)),  # (32-3)//2+1 = 15; (31-3)//2+1 = 15
    ],
)  # fmt: skip
def test_pool(op, x, ksize, strides, padding, fmt, expected):
    g = proto.GraphDef()
    placeholder(g, "x", x)
    node(g, "y", op, ["x"], ksize=ksize, strides=strides, padding=padding, data_format=fmt)
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "padding, shown", [(b"same", "same"), (b"SAME ", "SAME "), (b"\xff", "\ufffd")]
)
@pytest.mark.parametrize(
    "op, attrs",
    [
        ("Conv2D", {"strides": [1, 1, 1, 1]}),
        ("MaxPool", {"ksize": [1, 3, 3, 1], "strides": [1, 1, 1, 1]}),
    ],
)
def test_a_padding_tensorflow_refuses_leaves_the_node_unknown(op, attrs, padding, shown):
    """TensorFlow accepts SAME, VALID and EXPLICIT only; any other padding was taken
    for VALID: "same" on an 8×8 input gave a 6×6 output, a count that looked right."""
    g = proto.GraphDef()
    placeholder(g, "x", (1, 8, 8, 3))
    placeholder(g, "w", (3, 3, 3, 4))
    node(g, "y", op, ["x", "w"] if op == "Conv2D" else ["x"], **attrs)
    g.node[-1].attr["padding"].s = padding
    result = infer(g)
    assert result.unknown["y"] == (
        f"shape inference failed: padding {shown!r}: TensorFlow accepts SAME, VALID or EXPLICIT"
    )


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("Conv2D", {"strides": [1, 1, 1, 1]}),
        ("MaxPool", {"ksize": [1, 3, 3, 1], "strides": [1, 1, 1, 1]}),
    ],
)
def test_no_padding_leaves_the_node_unknown(op, attrs):
    """TensorFlow requires the attr; it was taken for VALID."""
    g = proto.GraphDef()
    placeholder(g, "x", (1, 8, 8, 3))
    placeholder(g, "w", (3, 3, 3, 4))
    node(g, "y", op, ["x", "w"] if op == "Conv2D" else ["x"], **attrs)
    assert infer(g).unknown["y"] == (
        "shape inference failed: padding None: TensorFlow accepts SAME, VALID or EXPLICIT"
    )


@pytest.mark.parametrize(
    "op, attrs, fmt, accepted",
    [
        ("Conv2D", {"strides": [1, 1, 1, 1]}, "nhwc", "NHWC, NCHW, NCHW_VECT_C"),
        ("Conv2D", {"strides": [1, 1, 1, 1]}, "NHCW", "NHWC, NCHW, NCHW_VECT_C"),
        (
            "MaxPool",
            {"ksize": [1, 3, 3, 1], "strides": [1, 1, 1, 1]},
            "NDHWC",
            "NHWC, NCHW, NCHW_VECT_C",
        ),
    ],
)
def test_a_data_format_tensorflow_refuses_leaves_the_node_unknown(op, attrs, fmt, accepted):
    """Any data_format but NC… was taken for NHWC: "NHCW" on an 8×8×3 input counted a
    6×6×4 output, a count that looked right for a graph TensorFlow refuses."""
    g = proto.GraphDef()
    placeholder(g, "x", (1, 8, 8, 3))
    placeholder(g, "w", (3, 3, 3, 4))
    inputs = ["x", "w"] if op == "Conv2D" else ["x"]
    node(g, "y", op, inputs, padding="VALID", data_format=fmt, **attrs)
    result = infer(g)
    assert result.unknown["y"] == (
        f"shape inference failed: data_format {fmt!r}: TensorFlow accepts {accepted}"
    )


# ---------------------------------------------------------------- matrix products


@pytest.mark.parametrize(
    "a, b, ta, tb, expected",
    [
        ((4, 6), (6, 7), False, False, (4, 7)),  # (m=4,k=6) @ (k=6,n=7)
        ((6, 4), (6, 7), True, False, (4, 7)),  # a^T: m = a[1] = 4
        ((4, 6), (7, 6), False, True, (4, 7)),  # b^T: n = b[0] = 7
        ((6, 4), (7, 6), True, True, (4, 7)),  # both transposed
    ],
)
def test_matmul(a, b, ta, tb, expected):
    g = proto.GraphDef()
    placeholder(g, "a", a)
    placeholder(g, "b", b)
    node(g, "y", "MatMul", ["a", "b"], transpose_a=ta, transpose_b=tb)
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "a, b, adj_x, adj_y, expected",
    [
        ((2, 1, 4, 6), (3, 6, 7), False, False, (2, 3, 4, 7)),  # batch (2,1)+(3,) → (2,3)
        ((5, 6, 4), (6, 7), True, False, (5, 4, 7)),  # adj_x: m = a[-1] = 4
        ((4, 6), (2, 7, 6), False, True, (2, 4, 7)),  # adj_y: n = b[-2] = 7
        ((1, 6, 4), (3, 7, 6), True, True, (3, 4, 7)),  # batch 1 vs 3 → 3
    ],
)
def test_batch_matmul_v2(a, b, adj_x, adj_y, expected):
    g = proto.GraphDef()
    placeholder(g, "a", a)
    placeholder(g, "b", b)
    node(g, "y", "BatchMatMulV2", ["a", "b"], adj_x=adj_x, adj_y=adj_y)
    assert shape_of(g, "y") == expected


# ---------------------------------------------------------------- elementwise


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((1, 3), (4, 1), (4, 3)),  # each 1 stretches to the other's size
        ((2, 1, 5), (3, 1), (2, 3, 5)),  # (3,1) is left-padded to (1,3,1)
        ((), (4,), (4,)),  # a scalar broadcasts to anything
        ((7, 1), (7, 2), (7, 2)),
    ],
)
def test_broadcasting_add(a, b, expected):
    g = proto.GraphDef()
    placeholder(g, "a", a)
    placeholder(g, "b", b)
    node(g, "y", "Add", ["a", "b"])
    assert shape_of(g, "y") == expected


def test_add_of_incompatible_shapes_is_unknown_with_reason():
    g = proto.GraphDef()
    placeholder(g, "a", (2, 3))
    placeholder(g, "b", (4, 3))  # 2 vs 4: neither is 1
    node(g, "y", "Add", ["a", "b"])
    result = infer(g)
    assert "do not broadcast" in result.unknown["y"]


def test_constant_arithmetic_is_folded():
    g = proto.GraphDef()
    const(g, "a", [1, 2, 3])
    const(g, "b", 10)
    node(g, "y", "Mul", ["a", "b"])
    info = infer(g).output("y")
    assert info.shape == (3,)
    assert info.value.tolist() == [10, 20, 30]  # [1,2,3] * 10


# ---------------------------------------------------------------- shape manipulation


@pytest.mark.parametrize(
    "target, expected",
    [
        ([-1, 4], (6, 4)),  # 2*3*4 = 24; 24/4 = 6
        ([2, -1], (2, 12)),  # 24/2 = 12
        ([-1], (24,)),  # 2*3*4 = 24
        ([4, 3, 2], (4, 3, 2)),
    ],
)
def test_reshape(target, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3, 4))
    const(g, "s", target)
    node(g, "y", "Reshape", ["x", "s"])
    assert shape_of(g, "y") == expected


def test_pad():
    g = proto.GraphDef()
    placeholder(g, "x", (1, 5, 5, 3))
    const(g, "p", [0, 0, 1, 2, 3, 4, 0, 0], [4, 2])
    node(g, "y", "Pad", ["x", "p"])
    assert shape_of(g, "y") == (1, 8, 12, 3)  # 5+1+2 = 8; 5+3+4 = 12


@pytest.mark.parametrize(
    "shapes, axis, expected",
    [
        ([(2, 3, 4), (2, 3, 5)], -1, (2, 3, 9)),  # 4+5 = 9 on the last axis
        ([(2, 1, 4), (2, 2, 4), (2, 3, 4)], 1, (2, 6, 4)),  # 1+2+3 = 6
        ([(2, 3), (5, 3)], 0, (7, 3)),  # 2+5 = 7
    ],
)
def test_concat_v2(shapes, axis, expected):
    g = proto.GraphDef()
    names = [placeholder(g, f"in{i}", s) for i, s in enumerate(shapes)]
    const(g, "axis", axis)
    node(g, "y", "ConcatV2", [*names, "axis"], N=len(names))
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "op, axes, keep, expected",
    [
        ("Mean", [1, 2], True, (2, 1, 1, 5)),
        ("Mean", [1, 2], False, (2, 5)),
        ("Mean", [-1], False, (2, 3, 4)),  # -1 is axis 3
        ("Sum", [0], False, (3, 4, 5)),
        ("Sum", [0, 3], True, (1, 3, 4, 1)),
        ("Sum", [0, 1, 2, 3], False, ()),
    ],
)
def test_reductions(op, axes, keep, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3, 4, 5))
    const(g, "axes", axes)
    node(g, "y", op, ["x", "axes"], keep_dims=keep)
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "squeeze_dims, expected",
    [
        (None, (3, 5)),  # every size-1 dim goes
        ([2], (1, 3, 5)),
        ([-4], (3, 1, 5)),  # -4 is axis 0 of a rank-4 tensor
        ([0, 2], (3, 5)),
    ],
)
def test_squeeze(squeeze_dims, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (1, 3, 1, 5))
    attrs = {} if squeeze_dims is None else {"squeeze_dims": squeeze_dims}
    node(g, "y", "Squeeze", ["x"], **attrs)
    assert shape_of(g, "y") == expected


def test_transpose():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3, 4, 5))
    const(g, "perm", [0, 3, 1, 2])
    node(g, "y", "Transpose", ["x", "perm"])
    assert shape_of(g, "y") == (2, 5, 3, 4)  # (x[0], x[3], x[1], x[2])


# (begin, end, strides, masks, expected) on x of shape (10, 8, 6)
STRIDED_SLICE_CASES = {
    "plain": ([2], [8], [2], {}, (3, 8, 6)),  # range(2,8,2) = 2,4,6 → 3
    "shrink": ([3], [4], [1], {"shrink_axis_mask": 1}, (8, 6)),
    "neg-stride-masked": ([0], [0], [-2], {"begin_mask": 1, "end_mask": 1},
                          (5, 8, 6)),  # 9,7,5,3,1 → ceil(10/2) = 5
    "neg-stride-bounds": ([8], [2], [-3], {}, (2, 8, 6)),  # 8,5 → 2
    "neg-stride-neg-begin": ([-1], [0], [-1], {}, (9, 8, 6)),  # 9 down to 1 → 9
    "two-axes-end-mask": ([1, 0], [0, 5], [1, 2], {"end_mask": 1},
                          (9, 3, 6)),  # 1..9 → 9; 0,2,4 → 3
    "shrink-then-neg-begin": ([0, -3], [0, 0], [1, 1],
                              {"shrink_axis_mask": 1, "end_mask": 2},
                              (3, 6)),  # axis 0 dropped; 8-3 = 5..7 → 3
    "ellipsis": ([0, 1], [0, 3], [1, 1], {"ellipsis_mask": 1}, (10, 8, 2)),  # 1,2 → 2
    "new-axis": ([0, 0], [0, 0], [1, 1], {"new_axis_mask": 1, "end_mask": 2},
                 (1, 10, 8, 6)),
}  # fmt: skip


@pytest.mark.parametrize(
    "begin, end, strides, masks, expected",
    list(STRIDED_SLICE_CASES.values()),
    ids=list(STRIDED_SLICE_CASES),
)
def test_strided_slice(begin, end, strides, masks, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (10, 8, 6))
    const(g, "b", begin)
    const(g, "e", end)
    const(g, "s", strides)
    node(g, "y", "StridedSlice", ["x", "b", "e", "s"], **masks)
    assert shape_of(g, "y") == expected


def test_strided_slice_of_a_known_value_keeps_the_value():
    g = proto.GraphDef()
    const(g, "v", [10, 11, 12, 13, 14, 15])
    const(g, "b", [-1])
    const(g, "e", [0])
    const(g, "s", [-2])
    node(g, "y", "StridedSlice", ["v", "b", "e", "s"], end_mask=1)
    info = infer(g).output("y")
    assert info.shape == (3,)  # indices 5,3,1
    assert info.value.tolist() == [15, 13, 11]


def _flatten_chain_graph():
    """Reshape(x, Pack([StridedSlice(Shape(x), [0], [1], [1], shrink_axis_mask=1), -1]))."""
    g = proto.GraphDef()
    placeholder(g, "x", (None, 4, 6))
    node(g, "shape", "Shape", ["x"])
    const(g, "b", [0])
    const(g, "e", [1])
    const(g, "s", [1])
    node(g, "batch", "StridedSlice", ["shape", "b", "e", "s"], shrink_axis_mask=1)
    const(g, "minus1", -1)
    node(g, "target", "Pack", ["batch", "minus1"], N=2, axis=0)
    node(g, "y", "Reshape", ["x", "target"])
    return g


def test_shape_strided_slice_pack_reshape_chain_resolves():
    result = infer(_flatten_chain_graph())
    assert result.output("shape").value.tolist() == [1, 4, 6]  # batch defaulted to 1
    assert result.output("batch").shape == ()
    assert result.output("batch").value.tolist() == 1
    assert result.output("target").value.tolist() == [1, -1]
    assert result.output("y").shape == (1, 24)  # 4*6 = 24
    assert "y" not in result.unknown


def test_shape_chain_follows_an_input_shape_override():
    result = infer(_flatten_chain_graph(), {"x": [3, 4, 6]})
    assert result.output("target").value.tolist() == [3, -1]
    assert result.output("y").shape == (3, 24)  # 3*4*6 / 3 = 24


def test_split():
    g = proto.GraphDef()
    const(g, "axis", 1)
    placeholder(g, "x", (4, 6, 2))
    node(g, "y", "Split", ["axis", "x"], num_split=3)
    result = infer(g)
    for i in range(3):
        assert result.output("y", i).shape == (4, 2, 2)  # 6/3 = 2
    assert result.output("y", 3) is None


def test_split_v_with_minus_one():
    g = proto.GraphDef()
    placeholder(g, "x", (4, 10))
    const(g, "sizes", [2, -1, 3])
    const(g, "axis", -1)
    node(g, "y", "SplitV", ["x", "sizes", "axis"], num_split=3)
    result = infer(g)
    assert result.output("y", 0).shape == (4, 2)
    assert result.output("y", 1).shape == (4, 5)  # 10-2-3 = 5
    assert result.output("y", 2).shape == (4, 3)


@pytest.mark.parametrize(
    "indices, axis, batch_dims, expected",
    [
        ((2, 3), 1, 0, (5, 2, 3, 7)),  # params[:1] + indices + params[2:]
        ((4,), 0, 0, (4, 6, 7)),
        ((3,), -1, 0, (5, 6, 3)),  # -1 is axis 2
        ((5, 3), 1, 1, (5, 3, 7)),  # params[:1] + indices[1:] + params[2:]
    ],
)
def test_gather_v2(indices, axis, batch_dims, expected):
    g = proto.GraphDef()
    placeholder(g, "params", (5, 6, 7))
    placeholder(g, "indices", indices, DT_INT32)
    const(g, "axis", axis)
    node(g, "y", "GatherV2", ["params", "indices", "axis"], batch_dims=batch_dims)
    assert shape_of(g, "y") == expected


@pytest.mark.parametrize(
    "axis, expected",
    [(0, (1, 2, 3)), (1, (2, 1, 3)), (-1, (2, 3, 1)), (-3, (1, 2, 3))],
)
def test_expand_dims(axis, expected):
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3))
    const(g, "axis", axis)
    node(g, "y", "ExpandDims", ["x", "axis"])
    assert shape_of(g, "y") == expected


def test_tile():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3, 1))
    const(g, "m", [1, 2, 4])
    node(g, "y", "Tile", ["x", "m"])
    assert shape_of(g, "y") == (2, 6, 4)  # 2*1, 3*2, 1*4


def test_fill():
    g = proto.GraphDef()
    const(g, "dims", [2, 3])
    const(g, "v", 0.5, dtype=DT_FLOAT)
    node(g, "y", "Fill", ["dims", "v"])
    info = infer(g).output("y")
    assert info.shape == (2, 3)
    assert info.dtype == DT_FLOAT
    assert info.value.tolist() == [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]


def test_const_from_tensor_content_and_splat():
    g = proto.GraphDef()
    const(g, "c", [7, 8, 9, 10, 11, 12], [2, 3], content=True)
    const(g, "splat", [5], [2, 2])  # one int_val fills the whole shape
    result = infer(g)
    assert result.output("c").value.tolist() == [[7, 8, 9], [10, 11, 12]]
    assert result.output("splat").value.tolist() == [[5, 5], [5, 5]]


# ---------------------------------------------------------------- placeholders, errors


def test_unknown_batch_defaults_to_1_and_is_listed():
    g = proto.GraphDef()
    placeholder(g, "x", (None, 8))
    placeholder(g, "z", (2, 8))
    node(g, "y", "Relu", ["x"])
    result = infer(g)
    assert result.output("x").shape == (1, 8)
    assert result.output("y").shape == (1, 8)
    assert result.defaulted_batch == ["x"]
    assert result.input_shapes["x"] == (1, 8)


@pytest.mark.parametrize("name", ["x", "x:0"])
def test_input_shape_override_propagates(name):
    g = proto.GraphDef()
    placeholder(g, "x", (None, 8, 8, 3))
    placeholder(g, "w", (3, 3, 3, 4))
    node(g, "conv", "Conv2D", ["x", "w"], strides=[1, 2, 2, 1], padding="SAME")
    node(g, "y", "Relu", ["conv"])
    result = infer(g, {name: [4, 8, 8, 3]})
    assert result.output("x").shape == (4, 8, 8, 3)
    assert result.output("y").shape == (4, 4, 4, 4)  # ceil(8/2) = 4, 4 filters
    assert result.defaulted_batch == []


def test_input_shapes_name_not_in_graph_is_an_error_naming_it():
    g = proto.GraphDef()
    placeholder(g, "x", (None, 8))
    with pytest.raises(TfflopsError, match="nosuch"):
        infer(g, {"nosuch": [1, 8]})


def test_input_shapes_of_the_wrong_rank_is_an_error():
    g = proto.GraphDef()
    placeholder(g, "x", (None, 8))
    with pytest.raises(TfflopsError, match=r"rank 3 given"):
        infer(g, {"x": [1, 8, 1]})


def test_op_without_shape_function_is_unknown_with_reason():
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3))
    node(g, "custom", "MyCustomOp", ["x"])
    node(g, "y", "Relu", ["custom"])
    result = infer(g)
    assert result.output("custom") is None
    assert "MyCustomOp" in result.unknown["custom"]
    assert result.output("y").shape is None  # unknown rank past the unknown op
    assert result.output("x").shape == (2, 3)


# ---------------------------------------------------------------- TensorLists

DT_VARIANT = proto.DATA_TYPES["DT_VARIANT"]


def tensor_list_graph():
    """x[5,2,3] unstacked into a list of five [2,3] elements; a reserved list of four."""
    g = proto.GraphDef()
    placeholder(g, "x", [5, 2, 3])
    const(g, "any_rows", [-1, 3])  # element_shape with an unknown dimension
    const(g, "any_rank", -1)  # a scalar -1: any rank
    const(g, "zero", 0)
    node(g, "rows", "TensorListFromTensor", ["x", "any_rows"], element_dtype=DT_FLOAT)
    node(g, "row", "TensorListGetItem", ["rows", "zero", "any_rank"], element_dtype=DT_FLOAT)
    node(g, "stacked", "TensorListStack", ["rows", "any_rank"], element_dtype=DT_FLOAT)
    node(g, "length", "TensorListLength", ["rows"])
    node(g, "element_shape", "TensorListElementShape", ["rows"], shape_type=DT_INT32)
    node(g, "more", "TensorListPushBack", ["rows", "row"], element_dtype=DT_FLOAT)
    node(g, "more_stacked", "TensorListStack", ["more", "any_rank"], element_dtype=DT_FLOAT)
    const(g, "two_by_three", [2, 3])
    const(g, "four", 4)
    node(g, "reserved", "TensorListReserve", ["any_rows", "four"], element_dtype=DT_FLOAT)
    node(g, "written", "TensorListSetItem", ["reserved", "zero", "row"], element_dtype=DT_FLOAT)
    node(g, "reserved_stacked", "TensorListStack", ["reserved", "any_rank"], element_dtype=DT_FLOAT)
    node(g, "written_stacked", "TensorListStack", ["written", "any_rank"], element_dtype=DT_FLOAT)
    node(
        g,
        "one_stacked",
        "TensorListStack",
        ["written", "two_by_three"],
        element_dtype=DT_FLOAT,
        num_elements=1,
    )
    return g


def test_tensor_list_shapes_follow_their_handles():
    shapes = infer(tensor_list_graph())
    rows = shapes.output("rows")
    assert (rows.shape, rows.dtype) == ((), DT_VARIANT)  # a handle: a variant scalar
    assert rows.items.shape == (2, 3) and rows.items.length == 5  # x[5,2,3] by rows
    assert shapes.output("row").shape == (2, 3)  # its element_shape says nothing: the list's
    assert shapes.output("stacked").shape == (5, 2, 3)
    assert shapes.output("length").value.item() == 5
    assert shapes.output("element_shape").value.tolist() == [2, 3]
    assert shapes.output("more_stacked").shape == (6, 2, 3)  # pushed one: 5 + 1
    # Reserved: four elements of [?, 3]; a [2,3] item written makes them [2,3].
    assert shapes.output("reserved_stacked").shape == (4, None, 3)
    assert shapes.output("written_stacked").shape == (4, 2, 3)
    # num_elements set on the Stack: that many elements, whatever the list says.
    assert shapes.output("one_stacked").shape == (1, 2, 3)


def test_tensor_list_element_shapes_that_contradict_are_unknown():
    g = proto.GraphDef()
    placeholder(g, "x", [5, 2, 3])
    const(g, "wrong", [2, 4])
    node(g, "rows", "TensorListFromTensor", ["x", "wrong"], element_dtype=DT_FLOAT)
    shapes = infer(g)
    assert shapes.output("rows") is None
    assert "contradict" in shapes.unknown["rows"]
