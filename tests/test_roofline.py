"""Device profiles and the roofline: intensity, bound, est_seconds; hostile device files."""

import json
import os
import subprocess
import sys

import pytest
from builders import op, placeholder, weights
from conftest import ROOT
from test_html import Page, assert_self_contained

import tfflops
from tfflops.analysis.devices import builtin_devices, parse_device
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.graph.loader import load_model
from tfflops.reports.profile import render

# Round figures, so that every estimate below is arithmetic by hand.
SLOW = {
    "name": "slow",
    "source": "a test",
    "peak_flops": {"float32": 1e9},
    "matrix_flops": {"float32": 4e9},
    "bandwidth": 1e8,
    "overhead": 1e-4,
}


def _device_file(tmp_path, document=SLOW, name="slow.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _by_name(p) -> dict:
    return {r["name"]: r for r in p.node_records()}


def test_estimates_on_a_device_file(samples, tmp_path):
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False, device=_device_file(tmp_path))
    nodes = _by_name(p)
    # conv: 442368 FLOPs / 4e9 (matrix) = 110.592 µs; 45920 B / 1e8 = 459.2 µs; + 100 µs
    assert nodes["conv"]["bound"] == "memory"
    assert nodes["conv"]["est_seconds"] == pytest.approx(559.2e-6, rel=1e-12)
    # bias add: 65568 B / 1e8 = 655.68 µs + 100 µs; relu: 65536 B → 655.36 µs + 100 µs
    assert nodes["bias_add"]["est_seconds"] == pytest.approx(755.68e-6, rel=1e-12)
    assert nodes["output"]["est_seconds"] == pytest.approx(755.36e-6, rel=1e-12)
    # a placeholder and constants launch nothing
    assert (nodes["x"]["est_seconds"], nodes["x"]["bound"]) == (0.0, None)
    assert nodes["filter"]["est_seconds"] == 0.0
    assert p.totals["est_seconds"] == pytest.approx(2070.24e-6, rel=1e-12)
    assert p.totals["device"] == "slow"


def test_compute_and_overhead_bounds(samples, tmp_path):
    fast_memory = {**SLOW, "bandwidth": 1e12, "overhead": 0.0}
    del fast_memory["matrix_flops"]
    p = tfflops.profile(
        samples / "conv_bias.pb", tfprof=False, device=_device_file(tmp_path, fast_memory)
    )
    conv = _by_name(p)["conv"]
    # no matrix units: 442368 / 1e9 = 442.368 µs > 45920 / 1e12 = 45.92 ns
    assert conv["bound"] == "compute"
    assert conv["est_seconds"] == pytest.approx(442.368e-6, rel=1e-12)
    a100 = _by_name(tfflops.profile(samples / "conv_bias.pb", tfprof=False, device="A100"))
    # on an A100 a 32x32 conv is a 5 µs launch: 442368/156e12 and 45920/2.039e12 are ns
    assert a100["conv"]["bound"] == "overhead"


def test_the_roofline_summary_in_the_table(samples, tmp_path):
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False, device=_device_file(tmp_path))
    text = render(p, "table")
    assert "  est. time          2.07 ms on slow" in text
    assert "roofline on slow: compute-bound 0.0%, memory-bound 100.0%, overhead-bound" in text
    # the three kernels are memory-bound; the layers most so: bias_add 755.68 µs, ...
    assert "most time memory-bound: bias_add (755.68 µs), output (755.36 µs), conv" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_html_draws_the_roofline_and_the_layers(samples, tmp_path):
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False, device=_device_file(tmp_path))
    text = render(p, "html")
    page = Page(text)
    assert_self_contained(page)
    assert "http://" not in text and "https://" not in text
    assert text.count("<circle ") == 3  # conv, bias_add, relu
    assert "conv: 9.63 FLOP/B" in text  # 442368 / 45920
    header, *rows = page.rows["by-layer"]
    assert header[:2] == ["layer", "nodes"]
    by_layer = {r[0]: r for r in rows}
    assert by_layer["conv"][3] == "442,368"  # FLOPs (tfprof)
    assert by_layer["conv"][6] == "memory"
    assert "memory-bound 100.0%" in page.text("roofline")


def test_html_escapes_names_in_the_roofline(tmp_path):
    g = proto.GraphDef()
    placeholder(g, "x", [1, 64])
    weights(g, "w", [64, 64])
    op(g, "<b>evil</b>&", "MatMul", ["x", "w"])
    text = render(tfflops.profile(g, tfprof=False, device="T4"), "html")
    assert "<b>evil" not in text
    assert "&lt;b&gt;evil&lt;/b&gt;&amp;: " in text
    assert_self_contained(Page(text))


def test_devices_lists_the_builtin_profiles(capsys):
    assert main(["devices"]) == 0
    text = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line[:1].isalnum()}
    for name in ("A100", "H100", "H200", "L4", "T4", "x86-server", "mobile-soc"):
        assert name in rows
    assert rows["A100"][1:4] == ["19.50", "156.00", "312.00"]  # FP32, TF32, BF16/FP16 TC
    assert rows["H200"][4:6] == ["4.80", "TB/s"]
    assert main(["devices", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["devices"]
    assert [d["name"] for d in listed] == list(builtin_devices())
    assert all("datasheet" in d["source"] or "ARK" in d["source"] for d in listed[:6])


def test_device_names_ignore_case_and_unknown_names_are_refused(samples, capsys):
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False, device="h100")
    assert p.totals["device"] == "H100"
    code = main(["profile", str(samples / "conv_bias.pb"), "--no-tfprof", "--device", "B200"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device 'B200': not a built-in device (A100," in err


HOSTILE = [
    ("not json {", "not a JSON device profile"),
    ("[]", "a device profile is a JSON object, not a list"),
    ('{"name": "x"}', "key 'source' is missing"),
    (json.dumps({**SLOW, "bandwidth": float("nan")}), "NaN is not a number a device can have"),
    (json.dumps({**SLOW, "bandwidth": float("inf")}), "Infinity is not a number"),
    (json.dumps(SLOW).replace("100000000.0", "1e999"), "key 'bandwidth': inf B/s is out of"),
    (json.dumps({**SLOW, "bandwidth": -1}), "key 'bandwidth': -1 B/s is out of range"),
    (json.dumps({**SLOW, "bandwidth": 0}), "key 'bandwidth': 0 B/s is out of range"),
    (json.dumps({**SLOW, "bandwidth": True}), "key 'bandwidth' must be a number of B/s"),
    (json.dumps({**SLOW, "bandwidth": "1e12"}), "key 'bandwidth' must be a number of B/s"),
    (json.dumps({**SLOW, "overhead": 5}), "key 'overhead': 5 s is out of range (0 to 1)"),
    (json.dumps({**SLOW, "peak_flops": {"float32": 1e30}}), "'peak_flops.float32': 1e+30"),
    (json.dumps({**SLOW, "peak_flops": {"float16": 1e12}}), "'peak_flops' must give float32"),
    (json.dumps({**SLOW, "peak_flops": {"fp33": 1e12}}), "'peak_flops.fp33': not a dtype"),
    (json.dumps({**SLOW, "peak_flops": [1e12]}), "'peak_flops' must map dtypes to FLOP/s"),
    (json.dumps({**SLOW, "bandwith": 1e12}), "unknown key 'bandwith'"),
    (json.dumps({**SLOW, "name": "\x1b[31mred"}), "key 'name' holds control characters"),
    (json.dumps({**SLOW, "name": "n" * 65}), "key 'name' is 65 characters (at most 64)"),
    (json.dumps({**SLOW, "name": ""}), "key 'name' must be non-empty text"),
    ("[" * 100000 + "]" * 100000, "not a JSON device profile"),
    ('{"bandwidth": ' + "9" * 5000 + "}", "not a JSON device profile"),
    (b"\xff\xfe{}", "not UTF-8 text"),
]


@pytest.mark.parametrize("text, message", HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_device_files_are_one_line_errors(samples, tmp_path, capsys, text, message):
    path = tmp_path / "device.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["profile", str(samples / "conv_bias.pb"), "--no-tfprof", "--device", str(path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tfflops: error: {path}: ")
    assert message in err


def test_huge_files_folders_and_fifos_are_not_read(samples, tmp_path, capsys):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (1 << 20) + b"{}")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # reading it would block forever
    folder = tmp_path / "folder.json"
    folder.mkdir()
    for path, message in (
        (big, "1048578 bytes; a device profile is a small JSON file"),
        (fifo, "not a regular file"),
        (folder, "not a regular file"),
        (tmp_path / "missing.json", "cannot read the device file: No such file"),
    ):
        argv = ["check", str(samples / "conv_bias.pb"), "--max-params", "300", "--no-tfprof"]
        argv += ["--device", str(path)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{path}: {message}" in err


def test_a_device_written_out_reads_back_the_same():
    for device in builtin_devices().values():
        assert parse_device(json.dumps(device.to_dict()), "copy") == device


def mobilenet_v2_block(batch: int) -> proto.GraphDef:
    """MobileNetV2's last block and head at 7x7: expand 1x1 160→960, depthwise 3x3,
    project 1x1 960→320, Conv_1 1x1 320→1280 (no BN, no activations)."""
    g = proto.GraphDef()
    placeholder(g, "x", [batch, 7, 7, 160])
    same = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    weights(g, "expand/w", [1, 1, 160, 960])
    op(g, "expand", "Conv2D", ["x", "expand/w"], **same)
    weights(g, "depthwise/w", [3, 3, 960, 1])
    op(g, "depthwise", "DepthwiseConv2dNative", ["expand", "depthwise/w"], **same)
    weights(g, "project/w", [1, 1, 960, 320])
    op(g, "project", "Conv2D", ["depthwise", "project/w"], **same)
    weights(g, "Conv_1/w", [1, 1, 320, 1280])
    op(g, "Conv_1", "Conv2D", ["project", "Conv_1/w"], **same)
    return g


def test_mobilenet_v2_block_shapes_on_an_a100():
    nodes = _by_name(tfflops.profile(mobilenet_v2_block(64), tfprof=False, device="A100"))
    # depthwise: 2*64*49*960*9 = 54190080 FLOPs / 19.5e12 (vector) = 2.78 µs;
    # 4*(2*64*49*960 + 3*3*960) = 24119040 B / 2.039e12 = 11.83 µs → memory
    assert nodes["depthwise"]["bound"] == "memory"
    assert round(nodes["depthwise"]["intensity"], 2) == 2.25  # 54190080 / 24119040
    # project: 2*64*49*960*320 = 1926758400 FLOPs / 156e12 (TF32) = 12.35 µs;
    # 4*(64*49*960 + 960*320 + 64*49*320) = 17285120 B / 2.039e12 = 8.48 µs → compute
    assert nodes["project"]["bound"] == "compute"
    assert nodes["project"]["est_seconds"] == pytest.approx(1926758400 / 156e12 + 5e-6)
    # Conv_1: 2*64*49*320*1280 = 2569011200 FLOPs → 16.47 µs; 21708800 B → 10.65 µs
    assert nodes["Conv_1"]["bound"] == "compute"
    # expand 160→960: 963379200 FLOPs → 6.18 µs; 14663680 B → 7.19 µs → memory
    assert nodes["expand"]["bound"] == "memory"
    # at batch 1 every one of them is a launch: 5 µs > compute and memory
    at_one = _by_name(tfflops.profile(mobilenet_v2_block(1), tfprof=False, device="A100"))
    assert {at_one[n]["bound"] for n in ("expand", "depthwise", "project", "Conv_1")} == {
        "overhead"
    }


def test_mobilenet_v2_on_an_a100():
    """The frozen keras.applications MobileNetV2 at batch 64: every depthwise convolution
    is memory-bound, the two largest 1x1 convolutions compute-bound."""
    cache = ROOT / ".cache" / "keras"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "freeze_keras"), str(cache), "MobileNetV2"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    graph_def, _ = load_model(cache / "MobileNetV2.pb")
    for node in graph_def.node:  # frozen at batch 1: unpin the batch
        if node.name == "input":
            node.attr["shape"].shape.dim[0].size = -1
    p = tfflops.profile(
        graph_def, ["Identity"], {"input": [64, 224, 224, 3]}, tfprof=False, device="A100"
    )
    records = p.node_records()
    depthwise = [r for r in records if r["op"] == "DepthwiseConv2dNative"]
    assert len(depthwise) == 17
    assert {r["bound"] for r in depthwise} == {"memory"}
    compute = sorted(r["layer"] for r in records if r["bound"] == "compute")
    # block_16_project 960→320 and Conv_1 320→1280 at 7x7 (scopes as Keras traced them)
    assert compute == ["Conv_1_1", "block_16_project_1"]


def test_check_and_compare_take_a_device(samples, tmp_path, capsys):
    device = str(_device_file(tmp_path))
    conv_bias = str(samples / "conv_bias.pb")
    assert main(["check", conv_bias, "--max-params", "300", "--no-tfprof", "--device", device]) == 0
    # 559.2 + 755.68 + 755.36 µs (test_estimates_on_a_device_file)
    assert "      est. 2.07 ms on slow (roofline)" in capsys.readouterr().out
    assert main(["compare", conv_bias, conv_bias, "--no-tfprof", "--device", device]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["est.", "time", "(slow)", "2.07", "ms", "2.07", "ms", "0"] in rows


def test_what_constants_alone_compute_runs_no_kernel(tmp_path):
    """A batch norm's scale, gamma * var: TensorFlow computes it once, when it loads."""
    g = proto.GraphDef()
    placeholder(g, "x", [1, 64])
    weights(g, "gamma", [64])
    weights(g, "var", [64])
    op(g, "scale", "Mul", ["gamma", "var"])
    op(g, "y", "Mul", ["x", "scale"])
    p = tfflops.profile(g, ["y"], tfprof=False, device=_device_file(tmp_path))
    nodes = _by_name(p)
    assert (nodes["scale"]["est_seconds"], nodes["scale"]["bound"]) == (0.0, None)
    # y: 64 FLOPs / 1e9 = 0.064 µs; 3*64*4 = 768 B / 1e8 = 7.68 µs; + 100 µs overhead
    assert nodes["y"]["est_seconds"] == pytest.approx(107.68e-6, rel=1e-12)
    assert p.totals["est_seconds"] == pytest.approx(107.68e-6, rel=1e-12)
