"""``--by layer``: nodes grouped by name scope below the model's own name, N components deep."""

import csv
import io

import pytest
from builders import op, placeholder, weights

import tfflops
from tfflops.analysis.layers import layer_names, shared_prefix
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.reports.text import group_rows


def test_the_model_name_every_scoped_node_shares_is_dropped():
    names = [
        "input",
        "model/block_1/conv/Conv2D",
        "model/block_1/bn/mul",
        "model/block_2/dense/MatMul",
        "Identity",
    ]
    assert shared_prefix(names) == ["model"]  # input and Identity have no scope
    assert layer_names(names) == ["input", "block_1", "block_1", "block_2", "Identity"]
    assert layer_names(names, depth=2) == [
        "input",
        "block_1/conv",
        "block_1/bn",
        "block_2/dense",
        "Identity",
    ]
    # deeper than a node's scope: its whole scope
    assert layer_names(names, depth=9)[1] == "block_1/conv"


def test_a_model_of_one_layer_keeps_that_layer():
    # every scoped node shares model/dense, but dense is the layer: one scope level stays
    names = ["x", "model/dense/MatMul", "model/dense/BiasAdd", "model/dense"]
    assert layer_names(names) == ["x", "dense", "dense", "dense"]


def test_no_shared_prefix_and_no_scopes():
    assert layer_names(["conv/Conv2D", "fc/MatMul"]) == ["conv", "fc"]
    assert layer_names(["conv", "bias_add", "output"]) == ["conv", "bias_add", "output"]
    assert layer_names([]) == []


def test_a_node_named_as_the_shared_prefix_is_a_layer_of_its_own():
    # A dilated convolution TensorFlow runs by space-to-batch (Keras' grouped conv, in its
    # XLA function): the Conv2D is "convolution", its helpers are scoped below it.
    names = [
        "convolution/SpaceToBatchND",
        "convolution/required_space_to_batch_paddings/paddings",
        "convolution",
    ]
    assert layer_names(names) == [
        "SpaceToBatchND",
        "required_space_to_batch_paddings",
        "convolution",
    ]


def test_the_prefix_comes_from_the_grouped_names():
    # init-phase nodes (save/..., a/Assign) do not break the inference nodes' prefix
    names = ["net/fc/MatMul", "net/conv/Conv2D", "save/Const", "init"]
    grouped = [True, True, False, False]
    assert layer_names(names, grouped) == ["fc", "conv", "save", "init"]
    assert layer_names(names) == ["net", "net", "save", "init"]


def test_function_body_rows_group_like_any_names():
    # rows of a call's body, named call/function/node, share the call and function
    names = [
        "x",
        "StatefulPartitionedCall/__inference_serve_12/seq/dense/MatMul",
        "StatefulPartitionedCall/__inference_serve_12/seq/dense_1/MatMul",
        "StatefulPartitionedCall",
    ]
    assert layer_names(names) == ["x", "dense", "dense_1", "StatefulPartitionedCall"]


def keras_like_graph() -> proto.GraphDef:
    """model/block_1/{conv 3x3 3→8 on 8x8, bias}, model/block_2/{dense 512→10}, Keras-style."""
    g = proto.GraphDef()
    placeholder(g, "input", [1, 8, 8, 3])
    weights(g, "model/block_1/conv/kernel", [3, 3, 3, 8])
    op(g, "model/block_1/conv/Conv2D", "Conv2D", ["input", "model/block_1/conv/kernel"],
       strides=[1, 1, 1, 1], padding="SAME")  # fmt: skip
    weights(g, "model/block_1/conv/bias", [8])
    op(g, "model/block_1/conv/BiasAdd", "BiasAdd",
       ["model/block_1/conv/Conv2D", "model/block_1/conv/bias"])  # fmt: skip
    op(g, "model/block_1/relu/Relu", "Relu", ["model/block_1/conv/BiasAdd"])
    shape = g.node.add(name="model/flatten/shape", op="Const")
    shape.attr["dtype"].type = proto.DATA_TYPES["DT_INT32"]
    t = shape.attr["value"].tensor
    t.dtype = proto.DATA_TYPES["DT_INT32"]
    t.tensor_shape.dim.add(size=2)
    t.int_val.extend([1, 512])
    reshape = op(g, "model/flatten/Reshape", "Reshape", ["model/block_1/relu/Relu", shape.name])
    g.node[-1].attr["Tshape"].type = proto.DATA_TYPES["DT_INT32"]
    weights(g, "model/block_2/dense/kernel", [512, 10])
    op(g, "model/block_2/dense/MatMul", "MatMul", [reshape, "model/block_2/dense/kernel"])
    op(g, "Identity", "Identity", ["model/block_2/dense/MatMul"])
    return g


def test_layer_rows_carry_their_nodes_figures():
    p = tfflops.profile(keras_like_graph(), convention="macs", tfprof=False)
    layers = {r["name"]: r for r in group_rows(p, "layer")}
    assert layers["block_1"]["flops"] == 13824  # 3*3*3 * 8*8*8 = 13824 MACs
    assert layers["block_1"]["params"] == 224  # 3*3*3*8 + 8
    assert layers["block_1"]["count"] == 5  # kernel, conv, bias, bias add, relu
    assert layers["block_2"]["flops"] == 5120  # 512*10
    assert layers["block_2"]["params"] == 5120
    assert layers["flatten"]["flops"] == 0
    assert sorted(layers) == ["Identity", "block_1", "block_2", "flatten", "input"]
    assert p.nodes.set_index("name").loc["model/block_2/dense/MatMul", "layer"] == "block_2"


def test_cli_by_layer_in_table_csv_and_markdown(tmp_path, capsys):
    model = tmp_path / "model.pb"
    model.write_bytes(keras_like_graph().SerializeToString())
    base = ["profile", str(model), "--no-tfprof", "--convention", "macs", "--by", "layer"]

    assert main(base) == 0
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.startswith("b")}
    assert rows["block_1"][1:3] == ["5", "13.82"]  # 13824 MACs, humanized
    assert rows["block_2"][1:3] == ["2", "5.12"]  # kernel + MatMul; 5120 MACs
    header = next(line for line in table.splitlines() if line.startswith("layer"))
    assert header.split()[:3] == ["layer", "n", "MACs"]

    assert main([*base, "--format", "csv", "--depth", "2"]) == 0
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_layer = {r["layer"]: r for r in records}
    assert by_layer["block_1/conv"]["flops"] == "13824"  # 3*3*3*8*8*8
    assert by_layer["block_1/relu"]["flops"] == "0"
    assert by_layer["block_2/dense"]["flops"] == "5120"  # 512*10

    assert main([*base, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| layer | count | MACs | tf.profiler | params | bytes |" in markdown
    assert "| `block_1` | 5 | 13,824 | - | 224 |" in markdown


def test_depth_must_be_positive(capsys):
    assert main(["profile", "x.pb", "--by", "layer", "--depth", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "tfflops: error: --depth 0: a layer is at least 1 name scope component"
    )
    with pytest.raises(tfflops.TfflopsError, match="`depth` 0: a layer is at least 1"):
        tfflops.profile(keras_like_graph(), tfprof=False, depth=0)


def test_keras_model_layers_carry_their_macs(tmp_path):
    """A Keras model built here: conv 3x3 3→4 on 8x8 VALID, batch norm, dense 144→10."""
    import keras

    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    keras.Model(inputs, outputs, name="tiny").save(tmp_path / "tiny.keras")
    p = tfflops.profile(tmp_path / "tiny.keras", convention="macs", tfprof=False)
    # Keras traces the model's layers in scopes tiny_1/conv_1, tiny_1/bn_1, ...
    layers = {r["name"]: r for r in group_rows(p, "layer")}
    assert layers["conv_1"]["flops"] == 3888  # 3*3*3 * 6*6*4 (VALID: 6x6)
    assert layers["conv_1"]["params"] == 112  # 3*3*3*4 + 4
    assert layers["bn_1"]["flops"] == 0  # no multiply-accumulate
    assert layers["bn_1"]["params"] == 16  # gamma, beta, mean, variance: 4 each
    assert layers["logits_1"]["flops"] == 1440  # 6*6*4 = 144 inputs * 10
    assert layers["logits_1"]["params"] == 1450  # 144*10 + 10
    assert layers["relu_1"]["flops"] == 0
    full = tfflops.profile(tmp_path / "tiny.keras", convention="full", tfprof=False)
    relu = {r["name"]: r for r in group_rows(full, "layer")}["relu_1"]
    assert relu["flops"] == 144  # one max per element of 6*6*4


def test_a_saved_models_function_bodies_group_into_its_layers(tmp_path):
    """model.export(): the layers are in the traced function's body, under its own scope."""
    import keras

    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    keras.Model(inputs, outputs, name="tiny").export(tmp_path / "export", verbose=False)
    p = tfflops.profile(tmp_path / "export", convention="macs", tfprof=False)
    layers = {r["name"]: r for r in group_rows(p, "layer")}
    assert layers["conv_1"]["flops"] == 3888  # 3*3*3 * 6*6*4
    assert layers["logits_1"]["flops"] == 1440  # 144*10
    assert layers["StatefulPartitionedCall_1"]["params"] == 1562  # the variables it reads
    bodies = [r for r in p.to_dict()["function_nodes"] if r["op"] == "Conv2D"]
    assert {r["layer"] for r in bodies} == {"conv_1"}  # in each function that runs it
