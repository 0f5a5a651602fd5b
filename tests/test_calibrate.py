"""``tfflops calibrate``: what it measures, how the figures are derived, the file it writes.

The clock is replaced by the graphs' own size (no test asserts a time): every step of a
chain "takes" 1 ms, so each figure is its work per step / 1 ms, arithmetic by hand.
"""

import json

import pytest

from tfflops.analysis.devices import load_device
from tfflops.cli import main
from tfflops.tf import calibrate as calibration

STEP_OPS = {"MatMul", "DepthwiseConv2dNative", "Mul", "AddV2"}


@pytest.fixture
def one_ms_per_step(monkeypatch):
    """Time a graph as 10 ms + 1 ms per op of the chain measured: built, never run."""

    def seconds(self, build):
        graph = self.tf.Graph()
        with graph.as_default():
            build()
        steps = sum(1 for op in graph.get_operations() if op.type in STEP_OPS)
        return 0.010 + 0.001 * steps

    monkeypatch.setattr(calibration._Runner, "seconds", seconds)


def test_the_figures_are_work_per_step(one_ms_per_step):
    device = calibration.calibrate(threads=1, repeats=3)
    # MatMul chains of n = 256, 512, 1024: the best is 2*1024**3 FLOPs per 1 ms
    assert device.matrix_flops == {
        d: 2 * 1024**3 / 1e-3 for d in ("float32", "float16", "bfloat16")
    }
    # 3x3 depthwise on 1x56x56x96: 2*9*56*56*96 = 5419008 FLOPs per 1 ms
    assert device.peak_flops["float32"] == pytest.approx(5419008 / 1e-3)
    # y * 1.0001 on 16 MiB reads and writes 2*16*2**20 = 33554432 bytes per 1 ms
    assert device.bandwidth == pytest.approx(33554432 / 1e-3)
    assert device.overhead == pytest.approx(1e-3)  # one more scalar add: 1 ms
    assert device.name == "calibrated CPU (1 thread(s))"
    assert "MatMul n x n, n in 256, 512, 1024, the best" in device.source


def test_cli_writes_a_device_file_that_profile_reads(one_ms_per_step, tmp_path, samples, capsys):
    out = tmp_path / "here.json"
    assert main(["calibrate", "--threads", "1", "--repeats", "3", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""  # the file says it all
    assert load_device(out).bandwidth == pytest.approx(33554432 / 1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.json"]  # no temporary left
    argv = ["profile", str(samples / "conv_bias.pb"), "--no-tfprof", "--device", str(out)]
    assert main(argv) == 0
    assert "roofline on calibrated CPU (1 thread(s)):" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--repeats", "2"], "--repeats 2: must be a whole number from 3 to 50"),
        (["--repeats", "1000000"], "--repeats 1000000: must be a whole number from 3 to 50"),
        (["--threads", "0"], "--threads 0: must be a whole number from 1 to 1024"),
        (["-o", "/nonexistent-dir/x.json"], "-o /nonexistent-dir/x.json: no directory"),
    ],
)
def test_bad_options_fail_before_measuring(one_ms_per_step, capsys, argv, message):
    assert main(["calibrate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_device_file_prints_as_json_without_o(one_ms_per_step, capsys):
    assert main(["calibrate", "--repeats", "3"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["name"] == "calibrated CPU (all threads)"
    assert set(written) == {"name", "source", "peak_flops", "matrix_flops", "bandwidth", "overhead"}
