"""tfflops inspect: inputs, outputs, variables, params, op histogram — no TensorFlow."""

import json
import subprocess
import sys

from conftest import SAMPLES

from tfflops.pipelines.inspect import inspect_model


def test_inspect_unfrozen_seed():
    s = inspect_model(SAMPLES / "seed_resvars.pb")
    assert s["format"] == "GraphDef"
    assert s["outputs"] == ["output"]
    assert [(v["name"], v["shape"], v["elements"]) for v in s["variables"]] == [
        ("a", [25, 16], 400),  # 25*16
        ("b", [16, 9], 144),  # 16*9
    ]
    assert s["params"] == 544  # 400 + 144
    assert s["op_types"]["VarHandleOp"] == 2
    assert s["uncountable_ops"] == []


def test_inspect_keeps_the_unknown_batch_visible():
    s = inspect_model(SAMPLES / "conv_bias.pb")
    assert s["inputs"] == [
        {"name": "x", "dtype": "float", "shape": [None, 32, 32, 3], "elements": None}
    ]
    assert "conv" in s["unknown_shape_nodes"]  # inspect does not default the batch


def test_inspect_cli_json_without_tensorflow():
    code = (
        "import sys; from tfflops.cli import main; "
        f"rc = main(['inspect', {str(SAMPLES / 'small_cnn.pb')!r}, '--format', 'json']); "
        "print('TF' if 'tensorflow' in sys.modules else 'NO-TF')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    body, marker = proc.stdout.rsplit("\n", 2)[0], proc.stdout.split()[-1]
    assert marker == "NO-TF"
    summary = json.loads(body)
    assert summary["params"] == 7906  # 36+4 conv, 4*4 batch norm, 7840+10 dense
    assert summary["op_types"]["FusedBatchNormV3"] == 1
