"""Every format users ship: SavedModel (TF1, TF2), .meta + checkpoint, .keras, .h5.

One small model — x[1,8,8,1] → Conv2D 3×3, 1→4, VALID, + bias → ReLU → flatten →
Dense 144→3 + bias — is written in each format here, in the test's own directory. Each
profiles (outputs from its signature, no --outputs) to the FLOPs of the same model frozen
by hand with TensorFlow, and to the hand-computed figure below; each freezes to a flat
graph that computes what the original computes.
"""

import json
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CORPUS, ROOT
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

import tfflops
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.graph.loader import parse_model
from tfflops.pipelines.compare import compare, compare_freeze
from tfflops.pipelines.freeze import freeze_model
from tfflops.pipelines.inspect import inspect_model
from tfflops.pipelines.open import open_model

tf1 = tf.compat.v1
tf.get_logger().setLevel("ERROR")

# tf.profiler's convention: Conv2D 2·(3·3·1)·(6·6·4) = 2592, its bias add 6·6·4 = 144,
# MatMul 2·144·3 = 864, its bias add 3; ReLU counts 0. 2592 + 144 + 864 + 3 = 3603.
FLOPS = 3603
# Every other figure, per convention (the tfprof one is FLOPS):
CONVENTIONS = {
    "tfprof": FLOPS,
    "macs": 1728,  # (3·3·1)·(6·6·4) + 144·3 = 1296 + 432
    "exact": 3456,  # (2·9 − 1)·144 = 2448, + 144 bias, (2·144 − 1)·3 = 861, + 3 bias
    "full": 3747,  # tfprof's 3603 + ReLU 6·6·4 = 144
}
# kernel 3·3·1·4 = 36, bias 4, dense 144·3 = 432, bias 3: 36 + 4 + 432 + 3 = 475.
PARAMS = 475
# The conv part alone (the TF2 model's "features" signature), tfprof: 2592 + 144 = 2736;
# exact: 2448 + 144 = 2592; macs: 1296.
FEATURES = {"tfprof": 2736, "exact": 2592, "macs": 1296}
INPUT = np.random.default_rng(3).random([1, 8, 8, 1], np.float32)
FUNCTION_OPS = {"PartitionedCall", "StatefulPartitionedCall", "If", "While"}
VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp", "ReadVariableOp"}


def to_proto(tf_graph_def) -> proto.GraphDef:
    return proto.GraphDef.FromString(tf_graph_def.SerializeToString())


def conv_dense(x, kernel, bias, weights, offset):
    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "VALID"), bias))
    return tf.nn.bias_add(tf.matmul(tf.reshape(h, [-1, 144]), weights), offset, name="logits")


# ---------------------------------------------------------------- the models


def make_keras(directory):
    x = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Conv2D(4, 3, activation="relu")(x)
    y = keras.layers.Dense(3)(keras.layers.Flatten()(h))
    model = keras.Model(x, y)
    model.save(directory / "model.keras")
    model.save(directory / "model.h5")
    expected = model.predict(INPUT, verbose=0)
    traced = tf.function(lambda t: model(t, training=False)).get_concrete_function(
        tf.TensorSpec([1, 8, 8, 1], tf.float32)
    )
    by_hand = convert_variables_to_constants_v2(traced)
    reference = (to_proto(by_hand.graph.as_graph_def()), [by_hand.outputs[0].op.name])
    return expected, reference


class Net(tf.Module):
    def __init__(self):
        rng = np.random.default_rng(5)
        self.kernel = tf.Variable(rng.random([3, 3, 1, 4], np.float32), name="kernel")
        self.bias = tf.Variable(rng.random([4], np.float32), name="bias")
        self.weights = tf.Variable(rng.random([144, 3], np.float32), name="weights")
        self.offset = tf.Variable(rng.random([3], np.float32), name="offset")

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
    def logits(self, x):
        return {"logits": conv_dense(x, self.kernel, self.bias, self.weights, self.offset)}

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
    def features(self, x):
        return {"features": tf.nn.bias_add(tf.nn.conv2d(x, self.kernel, 1, "VALID"), self.bias)}


def make_tf2(directory):
    net = Net()
    tf.saved_model.save(net, str(directory / "tf2"), signatures={"serving_default": net.logits})
    tf.saved_model.save(
        net,
        str(directory / "tf2_two"),
        signatures={"logits": net.logits, "features": net.features},
    )
    expected = net.logits(INPUT)["logits"].numpy()
    loaded = tf.saved_model.load(str(directory / "tf2"))  # holds the variables
    by_hand = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
    reference = (to_proto(by_hand.graph.as_graph_def()), [by_hand.outputs[0].op.name])
    return expected, reference


def make_tf1(directory):
    """A TF1 graph with reference variables (VariableV2), as a SavedModel and as a .meta."""
    graph = tf.Graph()
    rng = np.random.default_rng(9)
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 8, 8, 1], name="x")
        variables = [
            tf1.Variable(rng.random(shape, np.float32), name=name, use_resource=False)
            for name, shape in (
                ("kernel", [3, 3, 1, 4]),
                ("bias", [4]),
                ("weights", [144, 3]),
                ("offset", [3]),
            )
        ]
        logits = conv_dense(x, *variables)
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            expected = session.run(logits, {x: INPUT})
            saver.save(session, str(directory / "ckpt" / "model"))  # and model.meta
            tf1.saved_model.simple_save(
                session, str(directory / "tf1"), {"x": x}, {"logits": logits}
            )
            by_hand = tf1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), ["logits"]
            )
    assert {n.op for n in graph.as_graph_def().node} >= {"VariableV2"}
    return expected, (to_proto(by_hand), ["logits"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name → (model path, expected output on INPUT, (hand-frozen GraphDef, its outputs))."""
    d = tmp_path_factory.mktemp("formats")
    keras_expected, keras_reference = make_keras(d)
    tf2_expected, tf2_reference = make_tf2(d)
    tf1_expected, tf1_reference = make_tf1(d)
    return {
        "tf1-savedmodel": (d / "tf1", tf1_expected, tf1_reference),
        "tf2-savedmodel": (d / "tf2", tf2_expected, tf2_reference),
        "meta+checkpoint": (d / "ckpt" / "model.meta", tf1_expected, tf1_reference),
        "keras": (d / "model.keras", keras_expected, keras_reference),
        "h5": (d / "model.h5", keras_expected, keras_reference),
        "dir": d,
    }


FORMATS = ["tf1-savedmodel", "tf2-savedmodel", "meta+checkpoint", "keras", "h5"]
# The outputs each profile chooses: the signature's, the .meta's sink, the Keras output.
OUTPUTS = {
    "tf1-savedmodel": ["logits"],
    "tf2-savedmodel": ["StatefulPartitionedCall"],
    "meta+checkpoint": ["logits"],
    "keras": ["Identity"],
    "h5": ["Identity"],
}


def run_graph(graph_def: proto.GraphDef, output: str, feeds: dict):
    graph = tf.Graph()
    with graph.as_default():
        tf1.import_graph_def(tf1.GraphDef.FromString(graph_def.SerializeToString()), name="")
    with tf1.Session(graph=graph) as session:
        return session.run(f"{output}:0", feeds)


# ---------------------------------------------------------------- profile and freeze


@pytest.mark.parametrize("name", FORMATS)
def test_profiles_like_the_model_frozen_by_hand(built, name):
    path, _, (by_hand, by_hand_outputs) = built[name]
    p = tfflops.profile(path)
    reference = tfflops.profile(by_hand, outputs=by_hand_outputs)
    assert p.outputs == OUTPUTS[name]
    for convention in CONVENTIONS:
        expected = CONVENTIONS[convention]
        assert reference.total_flops(convention) == expected, convention
        assert p.total_flops(convention) == expected, convention
    assert p.totals["params"] == reference.totals["params"] == PARAMS
    assert p.mismatches() == []


def test_tf2_savedmodel_counts_what_tf_profiler_cannot_see(built):
    # The signature calls a function: tf.profiler never looks inside one (0), tfflops
    # counts its body as tf.profiler does once the graph is lowered.
    p = tfflops.profile(built["tf2-savedmodel"][0])
    assert (p.totals["flops"], p.totals["tfprof_flops"]) == (FLOPS, 0)
    assert any("tf.profiler counts 0 for them" in n for n in p.notes)


@pytest.mark.parametrize("name", ["tf1-savedmodel", "tf2-savedmodel", "keras"])
def test_compare_freeze_takes_the_signature_outputs(built, name):
    # Not the graph's sinks: those include the saver's functions, which cannot freeze.
    result = compare_freeze(built[name][0], tfprof=False)
    flops = result.totals["flops"]
    assert (flops["before"], flops["after"]) == (FLOPS, FLOPS)
    assert result.totals["params"]["after"] == PARAMS


def test_compare_reads_a_saved_model_by_its_signature(built):
    path = built["tf2-savedmodel"][0]
    result = compare(path, path, tfprof=False, signature="serving_default")
    assert result.totals["flops"]["before"] == FLOPS
    assert result.totals["flops"]["difference"] == 0
    with pytest.raises(tfflops.TfflopsError, match="`signature`"):
        compare(path, path, tfprof=False, signature="nope")


@pytest.mark.parametrize("name", FORMATS)
def test_freezes_flat_and_computes_the_same(built, name):
    path, expected, _ = built[name]
    # A .meta has no signature: freeze needs its outputs named (profile guesses its sinks).
    frozen = freeze_model(path, "logits" if name == "meta+checkpoint" else None)
    ops = {n.op for n in frozen.graph_def.node}
    assert not ops & (FUNCTION_OPS | VARIABLE_OPS)
    assert frozen.outputs == OUTPUTS[name]
    feed = next(n.name for n in frozen.graph_def.node if n.op == "Placeholder")
    actual = run_graph(frozen.graph_def, frozen.outputs[0], {f"{feed}:0": INPUT})
    np.testing.assert_allclose(actual, expected, rtol=1e-5)
    p = tfflops.profile(frozen.graph_def, outputs=frozen.outputs)
    assert (p.totals["flops"], p.totals["tfprof_flops"], p.totals["params"]) == (
        FLOPS,
        FLOPS,
        PARAMS,
    )


def test_meta_freezes_from_the_checkpoint_beside_it(built):
    with pytest.raises(tfflops.TfflopsError, match=r"`outputs`: name .* \(its sinks are logits\)"):
        freeze_model(built["meta+checkpoint"][0])
    frozen = freeze_model(built["meta+checkpoint"][0], "logits")
    assert frozen.values_from == f"checkpoint {built['dir'] / 'ckpt' / 'model'}"
    assert any("beside the graph" in note for note in frozen.notes)


def test_tf2_signature_graph_is_frozen_flat_with_a_note(built):
    frozen = freeze_model(built["tf2-savedmodel"][0])
    assert frozen.values_from == "the SavedModel's variables"
    assert any("signature calls functions" in note for note in frozen.notes)
    assert not frozen.graph_def.library.function


@pytest.mark.parametrize("name, key", [("tf2-savedmodel", "x"), ("keras", "image")])
def test_batch_from_input_shape_by_signature_key(built, name, key):
    p = tfflops.profile(built[name][0], input_shapes={key: [2, 8, 8, 1]}, convention="exact")
    assert p.totals["flops"] == 6912  # 2 · 3456: every figure is per sample


def test_compare_takes_input_shapes_by_signature_key(built):
    path = built["tf2-savedmodel"][0]
    result = compare(path, path, input_shapes={"x": [2, 8, 8, 1]}, convention="exact")
    assert result.totals["flops"]["before"] == 6912  # 2 · 3456, as profile gives


def test_check_applies_a_tag_set_to_the_saved_models_of_a_folder(built, tmp_path):
    from tfflops.pipelines.check import expand_models, run_checks

    shutil.copytree(built["tf2-savedmodel"][0], tmp_path / "export")
    hand_frozen, _ = built["tf2-savedmodel"][2]
    (tmp_path / "frozen.pb").write_bytes(hand_frozen.SerializeToString())
    models = expand_models([str(tmp_path)])
    budgets = {"params": 10**9}  # something to check
    run = run_checks(models, budgets, tag_set="serve", tfprof=False)  # not refused for frozen.pb
    assert [r.measurement.totals["flops"] for r in run.results] == [FLOPS, FLOPS]


# ---------------------------------------------------------------- signatures and tag sets


def test_ambiguous_signatures_are_listed(built):
    path = built["dir"] / "tf2_two"
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.profile(path, tfprof=False)
    assert "2 signatures and none is serving_default: features, logits" in str(error.value)
    assert "`signature`" in str(error.value)


@pytest.mark.parametrize("signature, figures", [("logits", CONVENTIONS), ("features", FEATURES)])
def test_signature_chooses_the_graph(built, signature, figures):
    p = tfflops.profile(built["dir"] / "tf2_two", signature=signature, convention="exact")
    assert p.totals["flops"] == figures["exact"]
    frozen = freeze_model(built["dir"] / "tf2_two", signature=signature)
    p = tfflops.profile(frozen.graph_def, outputs=frozen.outputs)
    assert (p.totals["flops"], p.total_flops("macs")) == (figures["tfprof"], figures["macs"])


def test_unknown_signature_is_refused_with_the_list(built):
    with pytest.raises(tfflops.TfflopsError, match=r"`signature` nope: .* \(features, logits\)"):
        tfflops.profile(built["dir"] / "tf2_two", signature="nope", tfprof=False)


def test_outputs_need_no_signature(built):
    p = tfflops.profile(built["dir"] / "tf2_two", outputs="StatefulPartitionedCall", tfprof=False)
    assert p.outputs == ["StatefulPartitionedCall"]


def test_signature_on_a_graph_def_is_refused(built):
    _, _, (by_hand, _) = built["tf1-savedmodel"]
    path = built["dir"] / "frozen.pb"
    path.write_bytes(by_hand.SerializeToString())
    with pytest.raises(tfflops.TfflopsError, match=r"frozen\.pb is a GraphDef, which has no sign"):
        tfflops.profile(path, signature="serving_default", tfprof=False)


def test_signature_input_computed_by_the_graph_is_fed(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 2], name="x")
        first, second = tf.split(x, 2, axis=0, name="split")
        tf.identity(first, name="z")  # reads split:0, so split stays, feeding split:1
        y = tf.matmul(second, tf1.constant(np.ones([2, 3], np.float32)), name="y")
        with tf1.Session(graph=graph) as session:
            tf1.saved_model.simple_save(session, str(tmp_path / "m"), {"b": second}, {"y": y})
    p = tfflops.profile(tmp_path / "m", tfprof=False)
    assert p.outputs == ["y"]
    assert p.totals["flops"] == 12  # b fed as (?, 2), batch 1: 2·1·2·3
    assert any("feeds split:1 (Split), which the graph computes" in n for n in p.notes)


@pytest.mark.parametrize(
    "role, name, message",
    [
        ("outputs", "nosuch:0", "its tensor 'nosuch:0' (logits) is not in the graph"),
        ("inputs", "", "'x' is a sparse or composite tensor"),
    ],
)
def test_broken_signature_is_refused(built, tmp_path, role, name, message):
    export = tmp_path / "tf2"
    shutil.copytree(built["tf2-savedmodel"][0], export)
    saved_model = proto.SavedModel.FromString((export / "saved_model.pb").read_bytes())
    signature = saved_model.meta_graphs[0].signature_def["serving_default"]
    tensors = getattr(signature, role)
    tensors[next(iter(tensors))].name = name
    (export / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.profile(export, tfprof=False)
    assert str(error.value).startswith(f"`signature` serving_default: {export}: {message}")


@pytest.fixture(scope="module")
def two_tag_sets(tmp_path_factory):
    """A TF1 SavedModel with MetaGraphs tagged train (first) and serve."""
    export = tmp_path_factory.mktemp("tags") / "model"
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 4], name="x")
        w = tf1.Variable(np.ones([4, 2], np.float32), name="w", use_resource=False)
        y = tf.matmul(x, w, name="y")
        z = tf.matmul(y, tf1.constant(np.ones([2, 5], np.float32)), name="z")
        builder = tf1.saved_model.Builder(str(export))
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            info = tf1.saved_model.build_tensor_info

            def signature(output):
                return tf1.saved_model.predict_signature_def({"x": x}, {"out": output})

            builder.add_meta_graph_and_variables(
                session, ["train"], signature_def_map={"serving_default": signature(z)}
            )
            builder.add_meta_graph(["serve"], signature_def_map={"serving_default": signature(y)})
            assert info(x).name == "x:0"
        builder.save()
    return export


def test_tag_set_default_is_serve_and_others_are_chosen_by_tags(two_tag_sets):
    serve = tfflops.profile(two_tag_sets, tfprof=False)
    assert serve.outputs == ["y"]
    assert serve.totals["flops"] == 16  # 2·4·2
    assert any("tagged serve of 2 (train; serve)" in n for n in serve.notes)
    train = tfflops.profile(two_tag_sets, tag_set="train", tfprof=False)
    assert train.outputs == ["z"]
    assert train.totals["flops"] == 36  # 2·4·2 + 2·2·5 = 16 + 20


def test_unknown_tag_set_is_refused_with_the_list(two_tag_sets):
    with pytest.raises(tfflops.TfflopsError, match=r"`tag_set` gpu,serve: .*\(its tag sets: tra"):
        tfflops.profile(two_tag_sets, tag_set="serve,gpu", tfprof=False)


@pytest.mark.parametrize(
    ("name", "kind"), [("conv_bias.pb", "GraphDef"), ("seed_refvars.pbtxt", "GraphDef (text)")]
)
def test_a_tag_set_for_a_graph_def_says_so(samples, name, kind):
    # Not "corrupt", not silently ignored.
    with pytest.raises(tfflops.TfflopsError, match=re.escape(f"is a {kind}, which has no tag")):
        tfflops.profile(samples / name, tag_set="serve", tfprof=False)


# ---------------------------------------------------------------- refusals


def test_tf2_restore_is_vetted_before_it_runs(built, tmp_path):
    export = tmp_path / "tf2"
    shutil.copytree(built["tf2-savedmodel"][0], export)
    saved_model = proto.SavedModel.FromString((export / "saved_model.pb").read_bytes())
    library = saved_model.meta_graphs[0].graph_def.library
    restore = next(f for f in library.function if "traced_restore" in f.signature.name)
    restore.node_def.add(name="exfiltrate", op="WriteFile")
    (export / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert tfflops.profile(export, tfprof=False).outputs == ["StatefulPartitionedCall"]
    with pytest.raises(tfflops.TfflopsError) as error:
        freeze_model(export)
    assert "would execute WriteFile (node 'exfiltrate' in function __inference__traced_re" in (
        str(error.value)
    )
    assert "`allow_unsafe_ops`" in str(error.value)


def _string_const(node, value: bytes):
    node.attr["dtype"].type = proto.DATA_TYPES["DT_STRING"]
    tensor = node.attr["value"].tensor
    tensor.dtype = proto.DATA_TYPES["DT_STRING"]
    tensor.string_val.append(value)


@pytest.mark.parametrize("name", ["tf1-savedmodel", "tf2-savedmodel"])
def test_a_restore_from_a_path_of_the_graphs_own_is_refused(built, tmp_path, name):
    # The restore must read the checkpoint given (the saver's fed filename), not a path
    # written into the graph.
    export = tmp_path / "export"
    shutil.copytree(built[name][0], export)
    saved_model = proto.SavedModel.FromString((export / "saved_model.pb").read_bytes())
    graph_def = saved_model.meta_graphs[0].graph_def
    if name == "tf1-savedmodel":  # the saver's own (save_1/restore_all → save_1/RestoreV2)
        scope = saved_model.meta_graphs[0].saver_def.restore_op_name.split("/")[0]
        restore = next(n for n in graph_def.node if n.name == f"{scope}/RestoreV2")
        _string_const(graph_def.node.add(name="elsewhere", op="Const"), b"/tmp/other/ckpt")
    else:
        body = next(f for f in graph_def.library.function if "traced_restore" in f.signature.name)
        restore = next(n for n in body.node_def if n.op == "RestoreV2")
        _string_const(body.node_def.add(name="elsewhere", op="Const"), b"/tmp/other/ckpt")
    restore.input[0] = "elsewhere:output:0" if name == "tf2-savedmodel" else "elsewhere"
    (export / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    with pytest.raises(tfflops.TfflopsError, match="checkpoint path of the graph's own"):
        freeze_model(export)


def test_savedmodel_without_variables_profiles_but_does_not_freeze(built, tmp_path):
    export = tmp_path / "tf1"
    shutil.copytree(built["tf1-savedmodel"][0], export)
    shutil.rmtree(export / "variables")
    assert tfflops.profile(export, tfprof=False).totals["flops"] == FLOPS
    with pytest.raises(tfflops.TfflopsError, match=r"has no variables/variables\.index"):
        freeze_model(export)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_lambda_is_refused_by_safe_mode(tmp_path, suffix):
    x = keras.Input((4,), name="x")
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2.0)(x))
    model.save(tmp_path / f"lambda{suffix}")
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.profile(tmp_path / f"lambda{suffix}", tfprof=False)
    message = str(error.value)
    assert f"lambda{suffix}: Keras cannot load it" in message
    assert "Lambda" in message and "safe mode" in message
    assert "\n" not in message


def test_keras_named_otherwise_is_told_by_content(built, tmp_path):
    renamed = tmp_path / "model.bin"
    shutil.copy(built["keras"][0], renamed)
    assert open_model(renamed).kind == "Keras"
    assert tfflops.profile(renamed, tfprof=False).totals["flops"] == FLOPS


def test_keras_unknown_input_dimensions_need_an_input_shape(tmp_path):
    x = keras.Input((None, None, 3), name="pixels")
    keras.Model(x, keras.layers.Conv2D(2, 1)(x)).save(tmp_path / "fcn.keras")
    with pytest.raises(tfflops.TfflopsError, match=r"`input_shapes` pixels=1,"):
        tfflops.profile(tmp_path / "fcn.keras", tfprof=False)
    p = tfflops.profile(tmp_path / "fcn.keras", input_shapes={"pixels": [1, 5, 5, 3]})
    assert p.totals["flops"] == 350  # conv 2·(1·1·3)·(5·5·2) = 300, bias add 5·5·2 = 50


def test_keras_dict_inputs_and_outputs_are_traced_with_their_structure(tmp_path):
    # keras_hub's backbones take and return dicts: {token_ids, padding_mask} → {...}.
    tokens = keras.Input((None,), dtype="int32", name="token_ids")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    embedded = keras.layers.Embedding(10, 4)(tokens)  # 10*4 = 40 params
    scores = keras.layers.Dense(2)(embedded)  # 4*2 + 2 = 10 params
    masked = scores * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    model = keras.Model(
        {"token_ids": tokens, "padding_mask": mask},
        {"sequence": masked, "pooled": keras.ops.sum(masked, axis=1)},
    )
    model.save(tmp_path / "dicts.keras")
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.profile(tmp_path / "dicts.keras", tfprof=False)
    # Every input without its shape is named at once.
    assert "padding_mask (?, ?), token_ids (?, ?)" in str(error.value)
    shapes = {"token_ids": [1, 7], "padding_mask": [1, 7]}
    p = tfflops.profile(tmp_path / "dicts.keras", input_shapes=shapes, convention="macs")
    assert p.totals["flops"] == 56  # the Dense: 7 tokens * 4*2
    assert p.totals["params"] == 50  # 40 + 10
    assert sorted(p.outputs) == ["Identity", "Identity_1"]
    assert "outputs pooled (Identity:0), sequence (Identity_1:0)" in p.notes[0]
    assert p.mismatches() == []


def test_keras_trace_failure_gives_the_reason_not_the_traceback(tmp_path):
    x = keras.Input((None, 3), name="x")
    keras.Model(x, keras.layers.Reshape((6,))(x)).save(tmp_path / "reshape.keras")
    with pytest.raises(tfflops.TfflopsError) as error:  # 4*3 = 12 elements are no [1, 6]
        tfflops.profile(tmp_path / "reshape.keras", input_shapes={"x": [1, 4, 3]}, tfprof=False)
    message = str(error.value)
    assert "reshape.keras: tracing the Keras model failed: " in message
    assert "The total size of the tensor must be unchanged" in message
    assert "input_shape=(4, 3), target_shape=(6,)" in message and "\n" not in message
    assert "\x1b" not in message  # Keras' bold, a terminal escape
    assert 'File "' not in message and "in user code" not in message


def _big_saved_model(d):
    export = d / "big"
    export.mkdir()
    with open(export / "saved_model.pb", "wb") as f:
        f.truncate(2**31)  # sparse: 2 GiB on paper, nothing on disk
    return export


def _onnx(d):
    path = d / "model.onnx"
    # ModelProto: ir_version 7, producer_name "pytorch", producer_version "2.1", graph ...
    path.write_bytes(b"\x08\x07\x12\x07pytorch\x1a\x032.1:\x02\x0a\x00" + bytes(16))
    return path


def _checkpoint_dir(d):
    shutil.copytree(ROOT / "sample_graphs", d / "unused")  # any files, then a checkpoint's
    (d / "ckpt").mkdir()
    for name in ("model.meta", "model.index", "checkpoint"):
        (d / "ckpt" / name).write_bytes(b"")
    return d / "ckpt"


def _torch_zip(d):
    import zipfile

    path = d / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    return path


def _tflite(d):
    path = d / "model.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3\x00\x00\x12\x00" + bytes(32))
    return path


REFUSED = {
    "over-2GiB": (_big_saved_model, ["2147483648 bytes", "2 GiB", "2147483647 bytes"]),
    "onnx": (_onnx, ["an ONNX model"]),
    "tflite": (_tflite, ["TensorFlow Lite"]),
    "checkpoint-dir": (_checkpoint_dir, ["not a SavedModel", "give its model.meta"]),
    "torch-zip": (_torch_zip, ["zip archive without a Keras config.json"]),
}


@pytest.mark.parametrize("make, words", list(REFUSED.values()), ids=list(REFUSED))
def test_refused_through_the_cli(tmp_path, capsys, make, words):
    path = make(tmp_path)
    assert main(["profile", str(path), "--no-tfprof"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"tfflops: error: {path}")
    for word in words:
        assert word in err


@pytest.mark.parametrize("first", [b"{", b"[", b"#", b"n"])
def test_binary_graph_def_opening_like_text_is_binary(first):
    # GraphDef.node's tag (a newline byte), then the node's length: any byte, "{" too.
    graph_def = proto.GraphDef()
    graph_def.node.add(name="a" * (first[0] - 8), op="NoOp")  # 2 + name + 2 + 4 = length
    data = graph_def.SerializeToString()
    assert data[:2] == b"\n" + first
    assert parse_model(data, "model.pb") == (graph_def, "GraphDef")


# ---------------------------------------------------------------- the command line


def cli(*argv) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tfflops", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("name", FORMATS)
def test_cli_profile_json(built, name):
    code, out, err = cli("profile", built[name][0], "--format", "json", "--convention", "exact")
    assert code == 0, err
    report = json.loads(out)
    assert report["outputs"] == OUTPUTS[name]
    assert report["totals"]["flops"] == CONVENTIONS["exact"]


def test_cli_freeze_without_outputs(built, tmp_path):
    target = tmp_path / "frozen.pb"
    code, out, err = cli("freeze", built["tf2-savedmodel"][0], "-o", target)
    assert code == 0, err
    assert "4 variable(s) frozen from the SavedModel's variables" in " ".join(out.split())
    assert "signature calls functions" in err
    assert tfflops.profile(target).totals["flops"] == FLOPS


def test_cli_check_with_signature(built):
    model = built["dir"] / "tf2_two"
    code, out, err = cli("check", model, "--signature", "features", "--max-macs", "1296")
    assert code == 0, err  # 1296 is exactly the features signature's MACs
    assert out.startswith("PASS")
    code, out, err = cli("check", model, "--signature", "logits", "--max-macs", "1296")
    assert code == 1, err  # 1728 > 1296
    assert "1,728 (1.73 K) is over the budget 1,296" in out
    code, out, err = cli("check", model, "--max-flops", "1G")  # the model's own error line
    assert code == 2 and out.startswith(f"ERROR [1/1] {model}")
    assert "choose one with --signature" in err


def test_cli_ambiguous_signature_is_one_line(built):
    code, out, err = cli("profile", built["dir"] / "tf2_two", "--no-tfprof")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"tfflops: error: {built['dir'] / 'tf2_two'}: 2 signatures and none is "
        "serving_default: features, logits; choose one with --signature NAME (or name --outputs)"
    ]


def test_inspect_lists_signatures_and_format(built):
    s = inspect_model(built["dir"] / "tf2_two", signature="features")
    assert s["format"] == "SavedModel"
    assert s["format_detail"].startswith("SavedModel (TF2: functions, resource variables; tags")
    assert [x["name"] for x in s["signatures"]] == ["features", "logits"]
    features = s["signatures"][0]
    assert features["inputs"] == [
        {"key": "x", "name": "features_x:0", "dtype": "float", "shape": [None, 8, 8, 1]}
    ]
    assert features["outputs"][0]["key"] == "features"
    assert features["outputs"][0]["shape"] == [None, 6, 6, 4]
    assert s["signature"] == "features" and s["outputs_from"] == "signature"


def test_inspect_tf1_savedmodel_without_tensorflow(built):
    code = (
        "import sys, json; from tfflops.pipelines.inspect import inspect_model; "
        f"s = inspect_model({str(built['tf1-savedmodel'][0])!r}); "
        "print(json.dumps([s['format_detail'], s['outputs'], s['signatures'][0]['inputs'], "
        "'tensorflow' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    detail, outputs, inputs, imported = json.loads(proc.stdout)
    assert detail.startswith("SavedModel (TF1; tags serve")
    assert outputs == ["logits"]
    assert inputs == [{"key": "x", "name": "x:0", "dtype": "float", "shape": [None, 8, 8, 1]}]
    assert imported is False


def test_cli_inspect_keras(built):
    code, out, err = cli("inspect", built["keras"][0])
    assert code == 0, err
    assert "Keras (.keras, Keras " in " ".join(out.split("\n\n")[0].split())  # the header
    assert "    input  image = image:0  float  (1, 8, 8, 1)" in out
    assert "    output dense = Identity:0  float  (1, 3)" in out


# ---------------------------------------------------------------- the corpus SavedModels

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
SERVING = CORPUS / "graphs" / "tensorflow__serving"
TESTDATA = "tensorflow_serving__servables__tensorflow__testdata__"
HALF_PLUS_TWO = SERVING / f"{TESTDATA}saved_model_half_plus_two_cpu__00000123"
HALF_PLUS_TWO_TF2 = SERVING / f"{TESTDATA}saved_model_half_plus_two_tf2_cpu__00000123"
REGRESSION = CORPUS / "graphs" / "tensorflow__rust" / "examples__regression_savedmodel"


@needs_corpus
@pytest.mark.parametrize(
    "signature, outputs, fed",
    [
        (None, ["y"], "x:0"),  # serving_default: y = 0.5·x + 2
        ("regress_x2_to_y3", ["y3"], "x2:0"),  # y3 = 0.5·x2 + 3
    ],
)
def test_corpus_half_plus_two_profiles_by_signature(signature, outputs, fed):
    p = tfflops.profile(HALF_PLUS_TWO, signature=signature)
    assert p.outputs == outputs
    assert p.totals["flops"] == 2  # one Mul and one Add on one example (batch 1)
    assert any(f"feeds {fed} (Identity), which the graph computes" in n for n in p.notes)
    assert p.mismatches() == []


@needs_corpus
def test_corpus_tf2_half_plus_two_profiles_and_freezes_by_signature():
    p = tfflops.profile(HALF_PLUS_TWO_TF2, convention="exact")
    assert p.outputs == ["StatefulPartitionedCall_5"]  # serving_default's y
    assert p.totals["flops"] == 2  # 0.5·x + 2 on x of shape (1,): one Mul, one Add
    frozen = freeze_model(HALF_PLUS_TWO_TF2)
    assert not {n.op for n in frozen.graph_def.node} & (FUNCTION_OPS | VARIABLE_OPS)
    assert tfflops.profile(frozen.graph_def, outputs=frozen.outputs).totals["flops"] == 2
    y = run_graph(frozen.graph_def, frozen.outputs[0], {"serving_default_x:0": [4.0]})
    np.testing.assert_allclose(y, [4.0])  # 0.5·4 + 2


@needs_corpus
def test_corpus_regression_savedmodel_by_signature():
    with pytest.raises(tfflops.TfflopsError, match=r"3 signatures .*: b, train, w; choose one"):
        tfflops.profile(REGRESSION, tfprof=False)
    assert tfflops.profile(REGRESSION, signature="w").outputs == ["StatefulPartitionedCall_2"]
    frozen = freeze_model(REGRESSION, signature="w")
    assert not {n.op for n in frozen.graph_def.node} & (FUNCTION_OPS | VARIABLE_OPS)
    loaded = tf.saved_model.load(str(REGRESSION))
    by_tensorflow = loaded.signatures["w"]()["output"].numpy()
    np.testing.assert_allclose(run_graph(frozen.graph_def, frozen.outputs[0], {}), by_tensorflow)
    with pytest.raises(tfflops.TfflopsError, match="takes variable 'SGD/iter' as a resource"):
        freeze_model(REGRESSION, signature="train")  # it trains: it cannot be frozen
