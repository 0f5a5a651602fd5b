"""keras.applications models frozen at batch 1: the tfprof convention equals tf.profiler on
every node, and params equal Keras' count_params(): the model's weights, not the constants
of its code (EfficientNetV2B0's Normalization, given its mean and variance, holds them as
constants: Keras does not count them, nor does tfflops).

The models are built with random weights (no download) by scripts/freeze_keras into
.cache/keras/ (reused by later runs) — about two minutes the first time.
"""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

import tfflops

MODELS = [
    "MobileNet",
    "MobileNetV2",
    "ResNet50",
    "InceptionV3",
    "EfficientNetB0",
    "EfficientNetV2B0",
    "DenseNet121",
    "Xception",
    "NASNetMobile",
    "VGG16",
]
CACHE = ROOT / ".cache" / "keras"


@pytest.fixture(scope="module")
def frozen_models():
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "freeze_keras"), str(CACHE), *MODELS],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {name: json.loads((CACHE / f"{name}.json").read_text()) for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_keras_model_matches_tf_profiler_on_every_node(frozen_models, name):
    meta = frozen_models[name]
    p = tfflops.profile(CACHE / f"{name}.pb", outputs=meta["outputs"])
    records = p.node_records()
    wrong = [r["name"] for r in records if r["status"] != "match"]
    assert wrong == []
    assert p.totals["flops"] == p.totals["tfprof_flops"]
    assert sum(r["tfprof_flops"] for r in records) == p.totals["tfprof_flops"]
    assert p.unsupported_ops == {}
    expected_params = meta["count_params"]
    if name == "EfficientNetB0":
        # Keras also counts its Normalization layer's variables, mean [3], variance [3]
        # and count (an int64 scalar): 7, which the graph never reads — it reads constant
        # copies Keras made of them when the layer was built, constants of the model's
        # code like EfficientNetV2B0's (a note names them).
        expected_params -= 3 + 3 + 1
    assert p.totals["params"] == expected_params


def test_resnet50_reference_figures(frozen_models):
    p = tfflops.profile(CACHE / "ResNet50.pb", outputs=["Identity"], tfprof=False)
    assert p.totals["params"] == 25636712  # Keras' published ResNet50 size
    by_op = {}
    for r in p.node_records():
        by_op[r["op"]] = by_op.get(r["op"], 0) + r["flops"]
    assert by_op["MatMul"] == 4096000  # fc: 2*2048*1000
    stem = [r for r in p.node_records() if r["output_shapes"] == [[1, 112, 112, 64]]]
    stem_conv = next(r for r in stem if r["op"] == "Conv2D")
    assert stem_conv["flops"] == 236027904  # 2*7*7*3 * 112*112*64 (Pad 3 + VALID, stride 2)


def test_a_model_quantized_to_int8_counts_its_int8_kernels(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((6,), name="x")
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.Dense(5)(x)))
    model.quantize("int8")  # int8 kernels, float32 scales and biases
    model.save(tmp_path / "int8.keras")
    p = tfflops.profile(tmp_path / "int8.keras", convention="macs", tfprof=False)
    assert p.totals["flops"] == 45  # 6*5 + 5*3
    # kernels 6*5 + 5*3 = 45 (int8), scales 5 + 3, biases 5 + 3: 61, as Keras counts
    assert p.totals["params"] == model.count_params() == 61
    assert p.totals["weight_bytes"] == 109  # 45 * 1 byte + 16 * 4 bytes


def test_a_grouped_convolution_counts_its_kernel_passed_to_its_xla_function(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((9, 9, 4), name="x")
    model = keras.Model(x, keras.layers.Conv2D(4, 3, groups=2, dilation_rate=2)(x))
    model.save(tmp_path / "grouped.keras")
    p = tfflops.profile(tmp_path / "grouped.keras", convention="macs", tfprof=False)
    # Keras runs a grouped conv in an XLA function; freezing names the kernel it passes
    # there by a number, not `…/resource`: still a weight. 3*3*2*4 + bias 4 = 76
    assert p.totals["params"] == model.count_params() == 76
    assert not any(n.startswith("not parameters") for n in p.notes)
    # TensorFlow dilates by space-to-batch: 9 padded to 10, four 5x5 blocks, each a 3x3
    # VALID conv, 3x3 positions: 4*3*3 * 4 channels * 3*3*2 = 2592 MACs as the graph
    # runs it (the 5*5*4 * 18 = 1800 the crop keeps, and 792 it drops).
    assert p.totals["flops"] == 2592
    # Its Conv2D, `convolution`, is named as the scope of its helpers: a layer of its own.
    layers = {r["layer"] for r in p.leaf_records() if r["op"] == "Conv2D"}
    assert layers == {"convolution"}
