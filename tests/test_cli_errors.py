"""Bad input through the CLI: exit code 2, one line on stderr naming the culprit, no output."""

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from tfflops.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CONV_BIAS = SAMPLES / "conv_bias.pb"


def run_cli(*args, cwd=None):
    """``python -m tfflops profile ARGS`` (analytic only unless a test says otherwise)."""
    return subprocess.run(
        [sys.executable, "-m", "tfflops", "profile", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


def assert_one_line_error(returncode, stdout, stderr, *culprits):
    """Exit 2, nothing on stdout, one ``tfflops: error:`` line naming every culprit."""
    assert returncode == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tfflops: error:"), stderr
    for culprit in culprits:
        assert culprit in lines[0], f"{culprit!r} not in {lines[0]!r}"


# ---------------------------------------------------------------- bad model files


def _empty(d: Path) -> Path:
    path = d / "empty.pb"
    path.write_bytes(b"")
    return path


def _truncated(d: Path) -> Path:
    data = CONV_BIAS.read_bytes()
    path = d / "truncated.pb"
    path.write_bytes(data[: len(data) // 2])
    return path


def _random_bytes(d: Path) -> Path:
    path = d / "random.pb"
    path.write_bytes(random.Random(20240601).randbytes(4096))
    return path


def _png(d: Path) -> Path:
    path = d / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02")
    return path


def _json(d: Path) -> Path:
    path = d / "model.json"
    path.write_text(json.dumps({"node": [{"name": "x", "op": "Placeholder"}]}))
    return path


def _zip(d: Path) -> Path:
    path = d / "model.keras"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(32))
    return path


def _tflite(d: Path) -> Path:
    path = d / "model.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3\x00\x00\x12\x00" + bytes(32))
    return path


def _directory(d: Path) -> Path:
    path = d / "saved_model"
    path.mkdir()
    return path


def _missing(d: Path) -> Path:
    return d / "does_not_exist.pb"


# (factory, words the message must contain besides the path)
BAD_FILES = {
    "empty": (_empty, ["empty"]),
    "truncated": (_truncated, ["not a GraphDef", "truncated or corrupt"]),
    "random-bytes": (_random_bytes, ["GraphDef"]),
    "png": (_png, ["a PNG image"]),
    "json": (_json, ["a JSON file"]),
    "zip": (_zip, ["zip archive"]),
    "tflite": (_tflite, ["TensorFlow Lite"]),
    "directory": (_directory, ["is a directory"]),
    "missing": (_missing, ["cannot read"]),
}


@pytest.mark.parametrize("make, words", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_model_file(tmp_path, make, words):
    path = make(tmp_path)
    proc = run_cli(path, "--no-tfprof")
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, str(path), *words)


# ---------------------------------------------------------------- bad flags

# (extra arguments, words the message must contain)
BAD_FLAGS = {
    "unknown-output": (["--outputs", "nosuch_node"], ["--outputs", "'nosuch_node'"]),
    "unknown-output-among-good": (["--outputs", "output,ghost:0"], ["--outputs", "'ghost'"]),
    "shape-bad-dim": (["--input-shape", "x=1,a,3"], ["--input-shape", "x=1,a,3", "'a'"]),
    "shape-no-equals": (["--input-shape", "x"], ["--input-shape", "'x'", "NAME=D1"]),
    "shape-unknown-node": (["--input-shape", "nosuch=1,2"], ["--input-shape", "'nosuch'"]),
    "shape-wrong-rank": (["--input-shape", "x=1,32,3"], ["--input-shape x", "rank 3"]),
    "shape-contradicts": (["--input-shape", "x=1,31,32,3"], ["--input-shape x", "contradicts"]),
    "top-negative": (["--top", "-1"], ["--top -1", "0 (every row) or more"]),
    "top-not-int": (["--top", "many"], ["--top", "'many'"]),
    "unknown-convention": (["--convention", "bogus"], ["--convention", "'bogus'"]),
    "unknown-format": (["--format", "xml"], ["--format", "'xml'"]),
}


@pytest.mark.parametrize("args, words", list(BAD_FLAGS.values()), ids=list(BAD_FLAGS))
def test_bad_flag(args, words):
    proc = run_cli(CONV_BIAS, "--no-tfprof", *args)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, *words)


def test_no_model_argument():
    proc = run_cli()
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "model")


# ---------------------------------------------------------------- main(argv) in process


def test_main_returns_2_for_an_empty_file(tmp_path, capsys):
    path = _empty(tmp_path)
    assert main(["profile", str(path), "--no-tfprof"]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, str(path), "empty")


def test_main_returns_2_for_a_bad_choice_without_exiting(capsys):
    # argparse would sys.exit(2) and print a usage block; main turns it into one line.
    assert main(["profile", str(CONV_BIAS), "--no-tfprof", "--convention", "flops"]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "--convention", "'flops'")


def test_main_returns_2_for_a_malformed_input_shape(capsys):
    argv = ["profile", str(CONV_BIAS), "--no-tfprof", "--input-shape", "x=1,32,32,three"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "--input-shape", "'three'")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--outputs", ""], ["--outputs", "empty"]),
        (["--outputs", " , "], ["--outputs", "empty"]),
        (["--input-shape", "x=99999999999999999999,32,32,3"], ["--input-shape", "int64"]),
        (["--input-shape", "x=1,32,32,3", "--input-shape", "x:0=2,32,32,3"], ["x:0", "twice"]),
        (["--tag-set", "serve"], ["--tag-set", "GraphDef, which has no tag sets"]),
        (["--format", "json", "--top", "3"], ["--top", "--format json always has every node"]),
        (["--format", "html", "--by", "op"], ["--by", "--format html always has every node"]),
    ],
)
def test_flags_that_cannot_mean_anything(capsys, argv, words):
    assert main(["profile", str(CONV_BIAS), *argv]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, *words)


@pytest.mark.parametrize(
    "argv",
    [
        ["profile", str(CONV_BIAS), "--no-tfprof", "-o", ""],
        ["compare", str(CONV_BIAS), str(CONV_BIAS), "--no-tfprof", "-o", ""],
        ["freeze", str(CONV_BIAS), "-o", ""],
    ],
)
def test_an_empty_output_path_is_not_stdout(capsys, argv):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "-o", "empty path")


def test_freeze_refuses_a_bad_output_before_running_anything(capsys, tmp_path, monkeypatch):
    import tfflops.pipelines.freeze

    def never(*args, **kwargs):
        raise AssertionError("freeze_model ran")

    monkeypatch.setattr(tfflops.pipelines.freeze, "freeze_model", never)
    out_path = tmp_path / "missing" / "frozen.pb"
    assert main(["freeze", str(CONV_BIAS), "--outputs", "output", "-o", str(out_path)]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, str(out_path), "no directory")


def test_freeze_of_a_graph_def_takes_no_input_shape(capsys, tmp_path):
    out_path = tmp_path / "frozen.pb"
    argv = ["freeze", str(SAMPLES / "seed_refvars.pb"), "--outputs", "output", "-o", str(out_path)]
    assert main([*argv, "--input-shape", "x=1"]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "--input-shape", "Keras", "is a GraphDef")
    assert not out_path.exists()


def test_summary_and_junit_into_one_file_is_refused(capsys, tmp_path):
    report = tmp_path / "report.md"
    argv = ["check", str(CONV_BIAS), "--no-tfprof", "--summary", str(report)]
    assert main([*argv, "--junit", str(report)]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "--summary and --junit", str(report))
    assert not report.exists()


def test_a_report_over_the_baseline_is_refused(capsys, tmp_path):
    baseline = tmp_path / "baseline.json"
    argv = ["check", str(CONV_BIAS), "--no-tfprof", "--baseline", str(baseline)]
    assert main([*argv, "--update-baseline"]) == 0
    written = baseline.read_text()
    capsys.readouterr()
    assert main([*argv, "--summary", str(baseline)]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, "--baseline and --summary", str(baseline))
    assert baseline.read_text() == written


def test_an_input_shape_as_a_numpy_array():
    import numpy as np

    import tfflops

    p = tfflops.profile(CONV_BIAS, input_shapes={"x": np.array([2, 32, 32, 3])}, tfprof=False)
    assert p.totals["flops"] == 901120  # 2 * 450560 (batch 2)


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ([2**63, 32, 32, 3], "9223372036854775808 is not a dimension"),
        ("abc", "'abc' is not a list of dimensions"),
        ([1, -5, 32, 3], "-5 is not a dimension"),
        ([3.7, 32, 32, 3], "3.7 is not a dimension"),
        ([True, 32, 32, 3], "True is not a dimension"),
    ],
)
def test_a_bad_shape_through_the_api_is_a_tfflops_error(shape, words):
    import tfflops

    with pytest.raises(tfflops.TfflopsError, match=re.escape(f"`input_shapes` x: {words}")):
        tfflops.profile(CONV_BIAS, input_shapes={"x": shape})


def test_unknown_dimensions_through_the_api():
    import tfflops

    p = tfflops.profile(CONV_BIAS, input_shapes={"x": [None, 32, -1, 3]}, tfprof=False)
    assert p.shapes.input_shapes["x"] == (None, 32, None, 3)  # pinned as given


@pytest.mark.parametrize(
    "command", [["profile", "--no-tfprof"], ["inspect"], ["check", "--no-tfprof"]]
)
def test_an_unreadable_saved_model_is_one_line(tmp_path, monkeypatch, capsys, command):
    # chmod 000 does not stop root (CI may run as root): the stat fails as it would.
    import pathlib

    model = tmp_path / "sm"
    model.mkdir()
    denied = model / "saved_model.pb"

    real_is_file = pathlib.Path.is_file

    def is_file(self):
        if self == denied:
            raise PermissionError(13, "Permission denied", str(denied))
        return real_is_file(self)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    assert main([command[0], str(model), *command[1:]]) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(2, out, err, str(denied), "Permission denied")


def test_a_tensorflow_error_is_told_by_its_cause():
    from tfflops.tf.values import first_line

    message = (
        "Graph execution error:\n\nDetected at node 'RestoreV2' defined at (most recent call "
        "last):\n    File \"<stdin>\", line 4, in <module>\nNode: 'RestoreV2'\n"
        "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for "
        "/tmp/m/variables\n\t [[{{node RestoreV2}}]]"
    )
    assert first_line(ValueError(message)) == (
        "node 'RestoreV2': Unsuccessful TensorSliceReader constructor: Failed to find any "
        "matching files for /tmp/m/variables"
    )
    assert first_line(ValueError("Graph execution error:\n\nsomething broke")) == (
        "something broke"
    )


# ---------------------------------------------------------------- -o FILE


def test_output_file_is_written_whole_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("stale contents of an earlier run " * 1000)
    proc = run_cli(CONV_BIAS, "--no-tfprof", "--format", "json", "-o", target)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    report = json.loads(target.read_text())
    assert report["outputs"] == ["output"]
    assert report["totals"]["params"] == 224  # filter 3*3*3*8 = 216, + bias 8 = 224


def test_output_equal_to_the_model_is_refused(tmp_path):
    model = tmp_path / "model.pb"
    original = CONV_BIAS.read_bytes()
    model.write_bytes(original)
    proc = run_cli(model, "--no-tfprof", "-o", model)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "-o", str(model))
    assert model.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pb"]


def test_output_equal_to_the_model_by_another_spelling_is_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    model = tmp_path / "model.pb"
    original = CONV_BIAS.read_bytes()
    model.write_bytes(original)
    proc = run_cli(model, "--no-tfprof", "-o", "sub/../model.pb", cwd=tmp_path)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "-o", "sub/../model.pb")
    assert model.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pb", "sub"]


@pytest.mark.parametrize(
    "args",
    [["--outputs", "nosuch_node"], ["--input-shape", "x=1,32,3"]],
    ids=["bad-outputs", "bad-input-shape"],
)
def test_failing_run_leaves_no_output_file(tmp_path, args):
    target = tmp_path / "out.json"
    proc = run_cli(CONV_BIAS, "--no-tfprof", "-o", target, *args)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr)
    assert list(tmp_path.iterdir()) == []


def test_failing_model_leaves_no_output_file(tmp_path):
    bad = _truncated(tmp_path)
    proc = run_cli(bad, "--no-tfprof", "-o", tmp_path / "out.json")
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, str(bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truncated.pb"]


def test_output_into_a_directory_is_refused(tmp_path):
    proc = run_cli(CONV_BIAS, "--no-tfprof", "-o", tmp_path)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "-o", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_missing_directory_is_refused(tmp_path):
    target = tmp_path / "no_such_dir" / "out.json"
    proc = run_cli(CONV_BIAS, "--no-tfprof", "-o", target)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "-o", str(target))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- --no-tfprof


def test_no_tfprof_never_imports_tensorflow():
    code = (
        "import sys\n"
        "from tfflops.cli import main\n"
        f"rc = main(['profile', {str(CONV_BIAS)!r}, '--no-tfprof', '--format', 'json'])\n"
        "print('TENSORFLOW-IMPORTED' if 'tensorflow' in sys.modules else 'TENSORFLOW-ABSENT')\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "TENSORFLOW-ABSENT"
    report = json.loads(proc.stdout.rsplit("\n", 2)[0])  # the JSON before the marker line
    assert report["totals"]["tfprof_flops"] is None
