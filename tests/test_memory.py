"""Memory: output_bytes per node, weight_bytes, peak_activation_bytes, intensity."""

import pytest
from builders import op, placeholder, weights

import tfflops
from tfflops.graph import proto


def _by_name(p) -> dict:
    return {r["name"]: r for r in p.node_records()}


def test_conv_bias(samples):
    """x 1x32x32x3 → Conv2D 3x3 3→8 → BiasAdd → Relu, float32 (DESIGN.md's example)."""
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False)
    nodes = _by_name(p)
    assert nodes["x"]["output_bytes"] == 12288  # 32*32*3*4
    assert nodes["conv"]["output_bytes"] == 32768  # 32*32*8*4
    assert nodes["filter"]["output_bytes"] == 864  # 3*3*3*8*4
    assert p.totals["weight_bytes"] == 896  # (3*3*3*8 + 8)*4
    # conv: x + its output 12288 + 32768 = 45056; bias add: 32768 + 32768 = 65536
    # (x freed after the conv); relu: 65536
    assert p.totals["peak_activation_bytes"] == 65536
    # Conv2D under full: 2*3*3*3*32*32*8 = 442368 FLOPs over 12288 + 864 + 32768 = 45920 B
    assert round(nodes["conv"]["intensity"], 2) == 9.63
    assert nodes["conv"]["intensity"] == 442368 / 45920
    # BiasAdd: 8192 adds over 32768 + 32 + 32768 B; Relu: 8192 over 65536
    assert nodes["bias_add"]["intensity"] == 8192 / 65568
    assert nodes["output"]["intensity"] == 0.125
    assert nodes["x"]["intensity"] is None  # nothing moved


def test_depthwise_separable(samples):
    """x 1x32x32x8 → depthwise 3x3 → pointwise 1x1 8→16 → Identity output."""
    p = tfflops.profile(samples / "depthwise_separable.pb", tfprof=False)
    nodes = _by_name(p)
    assert p.totals["weight_bytes"] == 800  # (3*3*8 + 8*16)*4 = 288 + 512
    # x 32768; depthwise: x + its output = 65536; pointwise: 32768 + 65536 = 98304;
    # the Identity output is a view of the pointwise output: no new buffer
    assert p.totals["peak_activation_bytes"] == 98304
    assert nodes["pointwise"]["output_bytes"] == 65536  # 32*32*16*4
    assert nodes["output"]["output_bytes"] == 65536  # the tensor it outputs, a view
    # depthwise: 2*3*3*8*32*32 = 147456 FLOPs over 32768 + 288 + 32768 = 65824 B
    assert nodes["depthwise"]["intensity"] == 147456 / 65824
    assert round(nodes["depthwise"]["intensity"], 2) == 2.24
    # pointwise: 2*8*16*32*32 = 262144 over 32768 + 512 + 65536 = 98816 B
    assert round(nodes["pointwise"]["intensity"], 2) == 2.65


def _chain(dtype=proto.DATA_TYPES["DT_FLOAT"]) -> proto.GraphDef:
    """x[1,1024] → a = x·W[1024,256] → b = Relu(a) → c = a + b (a read late) → out."""
    g = proto.GraphDef()
    placeholder(g, "x", [1, 1024])
    weights(g, "w", [1024, 256])
    op(g, "a", "MatMul", ["x", "w"])
    op(g, "b", "Relu", ["a"])
    op(g, "c", "AddV2", ["a", "b"])
    op(g, "out", "Identity", ["c"])
    return g


def test_a_tensor_lives_until_its_last_reader():
    p = tfflops.profile(_chain(), outputs=["out"], tfprof=False)
    # x 4096 B, a b c 1024 B each. a: x + a = 5120; x freed. b: a + b = 2048.
    # c: a + b + c = 3072 (a's last reader is c). Peak: 5120.
    assert p.totals["peak_activation_bytes"] == 5120
    assert p.totals["weight_bytes"] == 1048576  # 1024*256*4


def test_a_bigger_input_than_any_later_tensor_is_the_peak_only_while_read():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 4096])  # 16384 B
    weights(g, "w", [4096, 4])
    op(g, "y", "MatMul", ["x", "w"])  # 16 B
    op(g, "z", "Relu", ["y"])  # 16 B
    p = tfflops.profile(g, outputs=["z"], tfprof=False)
    assert p.totals["peak_activation_bytes"] == 16400  # x + y while y is computed


def test_an_output_nobody_reads_is_freed_at_once_and_outputs_live_to_the_end():
    g = proto.GraphDef()
    placeholder(g, "x", [256])  # 1024 B
    op(g, "first", "Relu", ["x"])  # 1024 B, an output, kept
    op(g, "second", "Relu", ["x"])  # 1024 B, dropped after
    op(g, "third", "Neg", ["second"])  # 1024 B
    p = tfflops.profile(g, outputs=["first", "third"], tfprof=False)
    # first: x + first = 2048; second: x + first + second = 3072 (x freed);
    # third: first + second + third = 3072
    assert p.totals["peak_activation_bytes"] == 3072


def test_constant_subgraphs_are_weights_not_activations():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 64])
    weights(g, "gamma", [64])
    weights(g, "var", [64])
    op(g, "scale", "Mul", ["gamma", "var"])  # computed from constants: folded, a weight
    op(g, "y", "Mul", ["x", "scale"])
    p = tfflops.profile(g, outputs=["y"], tfprof=False)
    assert p.totals["peak_activation_bytes"] == 512  # x 256 + y 256
    assert p.totals["weight_bytes"] == 512  # gamma + var, 64*4 each


def test_weight_bytes_follow_the_dtype():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 8], dtype=proto.DATA_TYPES["DT_HALF"])
    w = g.node.add(name="w", op="Const")
    w.attr["dtype"].type = proto.DATA_TYPES["DT_HALF"]
    t = w.attr["value"].tensor
    t.dtype = proto.DATA_TYPES["DT_HALF"]
    t.tensor_shape.dim.add(size=8)
    t.tensor_shape.dim.add(size=8)
    t.half_val.append(0)
    y = g.node.add(name="y", op="MatMul")
    y.input.extend(["x", "w"])
    y.attr["T"].type = proto.DATA_TYPES["DT_HALF"]
    p = tfflops.profile(g, outputs=["y"], tfprof=False)
    assert p.totals["params"] == 64
    assert p.totals["weight_bytes"] == 128  # 64 float16 parameters, 2 bytes each
    assert p.totals["peak_activation_bytes"] == 32  # x 16 + y 16


def test_unknown_sizes_are_said_in_the_notes_not_hidden():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 8])
    op(g, "y", "SomeCustomOp", ["x"])  # no shape function: its output is unknown
    op(g, "z", "Relu", ["y"])
    p = tfflops.profile(g, outputs=["z"], tfprof=False)
    nodes = _by_name(p)
    assert nodes["y"]["output_bytes"] is None
    assert nodes["x"]["output_bytes"] == 32
    assert p.totals["peak_activation_bytes"] == 32  # what is known: x
    assert any(n.startswith("peak_activation_bytes leaves out 2 tensor(s)") for n in p.notes)
    df = p.nodes.set_index("name")
    assert str(df["output_bytes"].dtype) == "Int64"  # whole numbers, <NA> when unknown
    assert df.loc["x", "output_bytes"] == 32 and df["output_bytes"].isna().loc["y"]


def test_a_shape_tensorflow_refuses_holds_no_bytes():
    g = proto.GraphDef()
    placeholder(g, "x", [1, 8])
    placeholder(g, "huge", [1 << 40, 1 << 40])  # 2^80 elements: past int64, no such tensor
    op(g, "y", "Relu", ["huge"])
    op(g, "z", "AddV2", ["x", "y"])
    p = tfflops.profile(g, outputs=["z"], tfprof=False)
    # x 32 B; huge and y (and z, whose shape is not inferred from them) left out, and said
    assert p.totals["peak_activation_bytes"] == 32
    assert any(n.startswith("peak_activation_bytes leaves out 3 tensor(s)") for n in p.notes)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_memory_columns_in_json_and_csv(samples, fmt):
    import csv
    import io
    import json

    from tfflops.reports.profile import render

    text = render(tfflops.profile(samples / "conv_bias.pb", tfprof=False), fmt)
    if fmt == "json":
        doc = json.loads(text)
        assert doc["totals"]["peak_activation_bytes"] == 65536
        assert doc["totals"]["weight_bytes"] == 896
        conv = next(n for n in doc["nodes"] if n["name"] == "conv")
    else:
        conv = next(r for r in csv.DictReader(io.StringIO(text)) if r["name"] == "conv")
        conv = {**conv, "output_bytes": int(conv["output_bytes"])}
    assert conv["output_bytes"] == 32768
    assert conv["layer"] == "conv"


def test_a_tensors_size_is_kept_and_survives_a_copy():
    """``TensorInfo.nbytes`` is computed once per tensor and kept; a pickled or copied
    TensorInfo (check's worker processes send profiles back) keeps answering it."""
    import copy
    import pickle

    from tfflops.analysis.ops import TensorInfo

    float32, string = 1, 7
    info = TensorInfo((2, 3, 4), float32)
    assert info.nbytes() == 96  # 2·3·4 elements · 4 B
    assert info.nbytes() == 96  # kept
    for clone in (pickle.loads(pickle.dumps(info)), copy.deepcopy(info), copy.copy(info)):
        assert clone == info
        assert clone.nbytes() == 96
    fresh = pickle.loads(pickle.dumps(TensorInfo((5,), float32)))  # never asked before
    assert fresh.nbytes() == 20  # 5 · 4 B
    assert TensorInfo((2, None), float32).nbytes() is None  # not fully known
    assert TensorInfo((2, -1), float32).nbytes() is None  # TensorFlow refuses it
    assert TensorInfo((3,), string).nbytes() == 0  # a string's size is not known
