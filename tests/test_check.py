"""``tfflops check``: budgets, baselines, findings, several models, JUnit and Markdown."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from tfflops import TfflopsError
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.numbers import parse_number
from tfflops.pipelines.check import (
    Baseline,
    Measurement,
    evaluate,
    expand_models,
    measure,
    measure_models,
    model_keys,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CONV_BIAS = SAMPLES / "conv_bias.pb"
DEPTHWISE = SAMPLES / "depthwise_separable.pb"

# conv_bias.pb: Conv2D 3x3, 3→8, SAME on 32x32, + BiasAdd + Relu, batch 1
CONV_FLOPS = 442368  # 2*3*3*3*32*32*8
BIAS_FLOPS = 8192  # 32*32*8
FLOPS = 450560  # 442368 + 8192
MACS = 221184  # 3*3*3*32*32*8
PARAMS = 224  # 3*3*3*8 + 8
BYTES = 177024  # conv (12288 in + 864 filter + 32768 out) + bias_add (32768 + 32 + 32768)
#                 + relu (32768 + 32768) = 45920 + 65568 + 65536
# depthwise_separable.pb: depthwise 3x3 on 8 channels, pointwise 1x1 8→16, 32x32, batch 1
DW_FLOPS = 409600  # 2*3*3*8*32*32 + 2*8*16*32*32 = 147456 + 262144
DW_PARAMS = 200  # 3*3*8 + 8*16


def check(capsys, *args):
    """``tfflops check ARGS`` in this process: (exit code, stdout, stderr)."""
    code = main(["check", *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    """The report with its line wrapping undone."""
    return " ".join(text.split())


def assert_one_line_error(code, out, err, *words):
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfflops: error:"), err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.1G", 4100000000),  # 4.1 * 10**9
        ("300M", 300000000),  # 300 * 10**6
        ("1M", 1000000),
        ("400K", 400000),
        ("1.5k", 1500),  # 1.5 * 10**3, suffixes in either case
        ("2T", 2000000000000),  # 2 * 10**12
        ("1500", 1500),
        ("1_000", 1000),
        ("1,000", 1000),
        ("1e3", 1000),
        (" 7 ", 7),
        ("0", 0),
    ],
)
def test_parse_number(text, expected):
    value = parse_number(text)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["not a number"]),
        ("abc", ["not a number"]),
        ("4.1.1G", ["not a number"]),
        ("5X", ["not a number"]),
        ("-5", ["not negative"]),
        ("nan", ["finite"]),
        ("inf", ["finite"]),
        ("1.5", ["whole number"]),
        ("1.2345K", ["whole number"]),  # 1234.5
        # Decimal would overflow on the first, the second makes an int too long to print,
        # the third would round to 0
        ("1e999999999999", ["over the largest count, 9,223,372,036,854,775,807"]),
        ("1e5000", ["over the largest count"]),
        ("9223372036854775808", ["over the largest count"]),  # 2^63
        ("1e-999999999999", ["whole number"]),
    ],
)
def test_parse_number_rejects(text, words):
    with pytest.raises(TfflopsError) as e:
        parse_number(text, "max_flops")
    for word in ["`max_flops`", repr(text), *words]:
        assert word in str(e.value)


# ---------------------------------------------------------------- budgets


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--max-flops", "1M", "--max-params", "300"], 0, ["1 model passed"]),
        (
            ["--max-flops", "400K"],
            1,
            # 450560 - 400000 = 50560; 50560 / 400000 = 12.64%
            ["FLOPs (tfprof) 450,560 (450.56 K) is over the budget 400,000", "by 50,560 (+12.6%)"],
        ),
        (["--max-params", "200"], 1, ["params 224 is over the budget 200 by 24 (+12.0%)"]),
        (["--max-flops", "450560"], 0, []),  # a budget is a maximum: equal passes
        (["--max-flops", "450559"], 1, ["by 1 ("]),
        (["--max-macs", "221184"], 0, []),  # 3*3*3*32*32*8, whatever --convention says
        (["--max-macs", "221K"], 1, ["MACs 221,184 (221.18 K) is over the budget 221,000"]),
        (["--max-bytes", "177K"], 1, ["bytes moved 177,024 (177.02 K) is over"]),
        (["--max-bytes", "177024"], 0, []),
        (["--convention", "macs", "--max-flops", "221184"], 0, ["221.18 K MACs (macs)"]),
        (["--convention", "full", "--max-flops", "458751"], 1, ["FLOPs (full) 458,752"]),
    ],
)
def test_budgets(capsys, args, code, words):
    got, out, err = check(capsys, CONV_BIAS, "--no-tfprof", *args)
    assert got == code, out + err
    assert err == ""  # no progress when stderr is not a terminal
    assert out.startswith(("PASS", "FAIL")[code])
    for word in words:
        assert word in flat(out)


# ---------------------------------------------------------------- baselines


def test_baseline_written_then_checked(capsys, tmp_path):
    baseline = tmp_path / "tfflops-baseline.json"
    code, out, _ = check(
        capsys, CONV_BIAS, "--no-tfprof", "--baseline", baseline, "--update-baseline"
    )
    assert code == 0
    assert f"wrote {baseline}" in flat(out)
    doc = json.loads(baseline.read_text())
    assert doc["convention"] == "tfprof"
    assert doc["tfflops_version"] == "0.1.0"
    entry = doc["models"]["conv_bias.pb"]  # keyed by file name
    assert entry["totals"] == {"flops": FLOPS, "macs": MACS, "params": PARAMS, "bytes": BYTES}
    assert entry["op_types"]["Conv2D"] == {
        "flops": CONV_FLOPS,
        "macs": MACS,
        "params": 216,  # 3*3*3*8
        "bytes": 45920,  # 12288 + 864 + 32768
    }
    assert entry["op_types"]["BiasAdd"]["flops"] == BIAS_FLOPS
    assert entry["outputs"] == ["output"]

    code, out, _ = check(capsys, CONV_BIAS, "--no-tfprof", "--baseline", baseline)
    assert (code, out.splitlines()[-1]) == (0, "1 model passed")


def _baseline(tmp_path, capsys, *extra) -> Path:
    path = tmp_path / "baseline.json"
    code, _, err = check(
        capsys, CONV_BIAS, "--no-tfprof", "--baseline", path, "--update-baseline", *extra
    )
    assert code == 0, err
    return path


def test_bigger_model_fails_naming_flops(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    code, out, _ = check(
        capsys,
        CONV_BIAS,
        "--no-tfprof",
        "--baseline",
        baseline,
        "--tolerance",
        "1",
        "--input-shape",
        "x=2,32,32,3",
    )
    assert code == 1
    # batch 2 doubles every figure but params: 2*450560 = 901120
    assert (
        "FLOPs (tfprof) grew by 450,560 (+100.0%): 450,560 → 901,120, over the 1% tolerance; "
        "most growth: Conv2D +442,368, BiasAdd +8,192"
    ) in flat(out)
    assert "MACs grew by 221,184 (+100.0%)" in flat(out)  # 2*221184 = 442368
    assert "params grew" not in flat(out)
    assert out.splitlines()[-1] == "1 of 1 model failed"


@pytest.mark.parametrize(("tolerance", "code"), [("100", 0), ("99.9", 1)])
def test_tolerance_is_per_figure_percent(capsys, tmp_path, tolerance, code):
    baseline = _baseline(tmp_path, capsys)
    got, out, _ = check(
        capsys,
        CONV_BIAS,
        "--no-tfprof",
        "--baseline",
        baseline,
        "--tolerance",
        tolerance,
        "--input-shape",
        "x=2,32,32,3",
    )
    assert got == code
    # bytes grew 176128 / 177024 = 99.49%: within both tolerances; FLOPs grew exactly 100%
    assert (
        f"bytes moved grew by 176,128 (+99.5%): 177,024 → 353,152, within the {tolerance}%"
        in flat(out)
    )
    verdict = "within" if code == 0 else "over"
    # FLOPs grew exactly 100%
    assert f"(+100.0%): 450,560 → 901,120, {verdict} the {tolerance}% tolerance" in flat(out)


def test_shrinking_is_reported_not_failed(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys, "--input-shape", "x=2,32,32,3")
    code, out, _ = check(capsys, CONV_BIAS, "--no-tfprof", "--baseline", baseline)
    assert code == 0
    # 901120 → 450560
    assert "FLOPs (tfprof) shrank by 450,560 (-50.0%): 901,120 → 450,560" in flat(out)
    assert "most shrinkage: Conv2D -442,368, BiasAdd -8,192" in flat(out)
    assert "--update-baseline" in flat(out)


def test_missing_baseline_is_a_usage_error(capsys, tmp_path):
    missing = tmp_path / "nope.json"
    code, out, err = check(capsys, CONV_BIAS, "--no-tfprof", "--baseline", missing)
    assert_one_line_error(code, out, err, str(missing), "no such file", "--update-baseline")
    assert not missing.exists()


def test_a_model_given_as_baseline_is_told_and_kept(capsys, tmp_path):
    path = tmp_path / "model.pb"
    path.write_bytes(CONV_BIAS.read_bytes())
    for extra in ([], ["--update-baseline"]):
        code, out, err = check(capsys, CONV_BIAS, "--no-tfprof", "--baseline", path, *extra)
        assert_one_line_error(code, out, err, str(path), "not a baseline")
    assert path.read_bytes() == CONV_BIAS.read_bytes()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", ["not JSON"]),
        ('{"models": {}}', ["not a tfflops baseline"]),
        ('{"tfflops_baseline": 1, "convention": "tfprof", "models": []}', ["malformed"]),
        (
            '{"tfflops_baseline": 1, "convention": "tfprof", '
            '"models": {"conv_bias.pb": {"totals": {"flops": -1}}}}',
            ["malformed entry 'conv_bias.pb'"],
        ),
    ],
)
def test_bad_baseline_file(capsys, tmp_path, content, words):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    for extra in ([], ["--update-baseline"]):  # never overwritten either
        code, out, err = check(capsys, CONV_BIAS, "--no-tfprof", "--baseline", path, *extra)
        assert_one_line_error(code, out, err, str(path), *words)
    assert path.read_text() == content


def test_baseline_of_another_convention_is_refused(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    for extra in ([], ["--update-baseline"]):
        code, out, err = check(
            capsys, CONV_BIAS, "--no-tfprof", "--baseline", baseline, "--convention", "macs", *extra
        )
        assert_one_line_error(code, out, err, "'tfprof'", "'macs'", "--convention tfprof")


def test_model_not_in_baseline_fails(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    code, out, _ = check(capsys, DEPTHWISE, "--no-tfprof", "--baseline", baseline)
    assert code == 1
    assert "depthwise_separable.pb: not in" in flat(out) and "--update-baseline" in flat(out)


def test_nothing_to_check_is_a_usage_error(capsys):
    # No budget, baseline or finding to fail on: passing would say nothing.
    code, out, err = check(capsys, CONV_BIAS, "--no-tfprof")
    words = ["nothing to check", "--max-flops/--max-macs/--max-params/--max-bytes"]
    assert_one_line_error(code, out, err, *words, "--baseline", "--fail-on")


def test_a_baseline_entry_without_a_model_is_reported(capsys, tmp_path):
    baseline = tmp_path / "baseline.json"
    argv = ["--no-tfprof", "--baseline", baseline]
    assert check(capsys, CONV_BIAS, DEPTHWISE, *argv, "--update-baseline")[0] == 0
    summary = tmp_path / "summary.md"
    code, out, _ = check(capsys, CONV_BIAS, *argv, "--summary", summary)
    assert code == 0  # a remark, not a failure
    remark = (
        "1 baseline entry without a model in this run: depthwise_separable.pb (removed or "
        f"renamed? delete it from {baseline})"
    )
    assert f"·{remark}".replace(" ", "") in "".join(out.split())  # however it is wrapped
    assert out.splitlines()[-1] == "1 model passed"
    assert f"#### Baseline entries without a model\n\n- {remark}\n" in summary.read_text()
    code, out, _ = check(capsys, CONV_BIAS, DEPTHWISE, *argv)
    assert code == 0 and "without a model" not in out


def test_update_keeps_the_other_models(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    code, _, _ = check(
        capsys, DEPTHWISE, "--no-tfprof", "--baseline", baseline, "--update-baseline"
    )
    assert code == 0
    models = json.loads(baseline.read_text())["models"]
    assert sorted(models) == ["conv_bias.pb", "depthwise_separable.pb"]
    assert models["depthwise_separable.pb"]["totals"]["flops"] == DW_FLOPS
    assert models["conv_bias.pb"]["totals"]["flops"] == FLOPS


def test_baseline_follows_the_file_name_not_the_directory(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    elsewhere = tmp_path / "ci" / "checkout" / "conv_bias.pb"
    elsewhere.parent.mkdir(parents=True)
    shutil.copy(CONV_BIAS, elsewhere)
    code, out, _ = check(capsys, elsewhere, "--no-tfprof", "--baseline", baseline)
    assert code == 0, out


def test_model_keys_tell_shared_file_names_apart():
    models = ["r/a/s/saved_model.pb", "r/b/s/saved_model.pb", "r/c/conv.pb", "other/x.pb"]
    assert model_keys(models) == ["a/s/saved_model.pb", "b/s/saved_model.pb", "conv.pb", "x.pb"]


def test_baseline_lookup_takes_the_longest_trailing_path():
    baseline = Baseline("tfprof", "0.1.0", {"saved_model.pb": {}, "b/saved_model.pb": {}})
    assert baseline.entry_key("/x/a/saved_model.pb") == "saved_model.pb"
    assert baseline.entry_key("/x/b/saved_model.pb") == "b/saved_model.pb"
    assert baseline.entry_key("/x/b/other.pb") is None


# ---------------------------------------------------------------- findings


def _custom_op_graph(path: Path) -> Path:
    """x[1,4] → MyCustomOp (no formula) → MatMul with w[4,2] (input shape unknown)."""
    g = proto.GraphDef()
    x = g.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    for d in (1, 4):
        x.attr["shape"].shape.dim.add(size=d)
    g.node.add(name="custom", op="MyCustomOp").input.append("x")
    w = g.node.add(name="w", op="Const")
    w.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    tensor = w.attr["value"].tensor
    tensor.dtype = proto.DATA_TYPES["DT_FLOAT"]
    for d in (4, 2):
        tensor.tensor_shape.dim.add(size=d)
    tensor.float_val.extend([0.5] * 8)
    g.node.add(name="output", op="MatMul").input.extend(["custom", "w"])
    path.write_bytes(g.SerializeToString())
    return path


@pytest.mark.parametrize(
    ("fail_on", "code", "words"),
    [
        ("", 0, []),
        ("unsupported", 1, ["1 node(s) of op types tfflops has no formula for: custom"]),
        ("unknown-shape", 1, ["1 node(s) not counted, their shapes unknown: output"]),
        ("unsupported,unknown-shape", 1, ["no formula for: custom", "unknown: output"]),
    ],
)
def test_fail_on_findings(capsys, tmp_path, fail_on, code, words):
    model = _custom_op_graph(tmp_path / "custom.pb")
    budget = ["--max-params", "1G"]  # something to check when fail_on is empty
    got, out, err = check(capsys, model, "--no-tfprof", "--fail-on", fail_on, *budget)
    assert got == code, out + err
    for word in words:
        assert word in flat(out)


def test_fail_on_mismatch_fails_a_model_with_one():
    totals = {"flops": 0, "macs": 0, "params": 0, "bytes": 0}
    findings = {"mismatch": ("conv",), "unsupported": (), "unknown-shape": ()}
    m = Measurement("m.pb", "tfprof", ("out",), totals, {}, findings)
    assert evaluate(m, "m.pb").passed  # findings count only when asked
    result = evaluate(m, "m.pb", fail_on=["mismatch"])
    assert not result.passed
    assert result.failures == ["1 node(s) where tfflops and tf.profiler disagree: conv"]


def test_a_pass_says_what_it_could_not_count(capsys):
    # conv_bias with its batch left unknown: its 3 nodes cannot be counted, so its FLOPs are
    # 0 — under a 1M budget, a pass, but never a silent one.
    unknown = ["--input-shape", "x=-1,32,32,3", "--no-tfprof", "--max-flops", "1M"]
    code, out, err = check(capsys, CONV_BIAS, *unknown)
    assert code == 0, out + err
    assert (
        "· 3 node(s) not counted, their shapes unknown: conv, bias_add, output "
        "(--fail-on unknown-shape fails on it)"
    ) in flat(out)
    assert "0 FLOPs (tfprof)" in flat(out)
    code, out, err = check(capsys, CONV_BIAS, *unknown, "--fail-on", "unknown-shape")
    assert code == 1, out + err


def test_a_models_names_never_become_links_in_the_summary(capsys, tmp_path):
    # A pull request's node named as a Markdown link would render as one in the bot's
    # comment: the failure line that names it escapes it.
    model = _custom_op_graph(tmp_path / "custom.pb")
    g = proto.GraphDef.FromString(model.read_bytes())
    bait = "[Approve](https://phish.example) <img src=x>"
    for node in g.node:
        node.name = bait if node.name == "custom" else node.name
        node.input[:] = [bait if i == "custom" else i for i in node.input]
    model.write_bytes(g.SerializeToString())
    summary = tmp_path / "summary.md"
    args = ["--no-tfprof", "--fail-on", "unsupported", "--summary", summary]
    code, out, err = check(capsys, model, *args)
    assert code == 1, out + err
    text = summary.read_text()
    assert "\\[Approve\\](https://phish.example) \\<img src=x\\>" in text
    assert not re.search(r"(?<!\\)\[Approve|(?<!\\)<img", text), text  # none unescaped


def test_fail_on_mismatch_with_tf_profiler(capsys):
    """The one check through tf.profiler: conv_bias has no mismatch."""
    code, out, err = check(capsys, CONV_BIAS, "--fail-on", "mismatch", "--max-flops", "1M")
    assert code == 0, out + err
    assert out.splitlines()[-1] == "1 model passed"


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--fail-on", "mismatch"], ["--fail-on mismatch", "--no-tfprof"]),
        (["--fail-on", "bogus"], ["--fail-on 'bogus'", "unknown-shape"]),
        (["--max-flops", "lots"], ["--max-flops 'lots'"]),
        (["--max-params", "1.5"], ["--max-params '1.5'", "whole"]),
        (["--tolerance", "5"], ["--tolerance needs --baseline"]),
        (["--update-baseline"], ["--update-baseline needs --baseline"]),
        (["--jobs", "0"], ["--jobs 0"]),
        (["--tolerance", "-1", "--baseline", "b.json"], ["--tolerance -1"]),
        (["--convention", "bogus"], ["--convention", "'bogus'"]),
    ],
)
def test_usage_errors(capsys, args, words):
    code, out, err = check(capsys, CONV_BIAS, "--no-tfprof", *args)
    assert_one_line_error(code, out, err, *words)


def test_reports_never_overwrite_a_model(capsys, tmp_path):
    model = tmp_path / "conv_bias.pb"
    shutil.copy(CONV_BIAS, model)
    for option in ("--summary", "--junit"):
        code, out, err = check(capsys, model, "--no-tfprof", option, model)
        assert_one_line_error(code, out, err, option, "refusing to overwrite")
    assert model.read_bytes() == CONV_BIAS.read_bytes()


# ---------------------------------------------------------------- JUnit and Markdown


def _two_model_run(capsys, tmp_path):
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    code, out, _ = check(
        capsys,
        CONV_BIAS,
        DEPTHWISE,
        "--no-tfprof",
        "--max-flops",
        "420K",  # conv_bias 450560 is over, depthwise_separable 409600 is not
        "--junit",
        junit,
        "--summary",
        summary,
    )
    assert code == 1
    assert out.splitlines()[-1] == "1 of 2 models failed"
    return junit, summary


def test_junit(capsys, tmp_path):
    junit, _ = _two_model_run(capsys, tmp_path)
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("8", "1")  # 2 models × 4 figures
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(CONV_BIAS), str(DEPTHWISE)]
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 8
    flops = cases[("conv_bias.pb", "flops")]
    failure = flops.find("failure")
    assert "FLOPs (tfprof) 450,560 (450.56 K) is over the budget 420,000" in failure.get("message")
    assert "by 30,560 (+7.3%)" in failure.text  # 450560 - 420000 = 30560; /420000 = 7.28%
    assert flops.find("system-out").text.splitlines() == [
        "FLOPs (tfprof): 450,560",
        "budget: 420,000",
    ]
    assert cases[("conv_bias.pb", "params")].find("system-out").text == "params: 224"
    dw = cases[("depthwise_separable.pb", "flops")]
    assert dw.find("failure") is None
    assert dw.find("system-out").text.splitlines()[0] == "FLOPs (tfprof): 409,600"
    assert cases[("depthwise_separable.pb", "params")].find("system-out").text == "params: 200"


def test_markdown_summary(capsys, tmp_path):
    _, summary = _two_model_run(capsys, tmp_path)
    lines = summary.read_text().splitlines()
    assert lines[0] == "### tfflops check: ❌ 1 of 2 models failed"
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells
    header = next(line for line in lines if line.startswith("| | model |"))
    assert header == "| | model | FLOPs (tfprof) | MACs | params | bytes moved |"
    assert rows["conv_bias.pb"] == [
        "❌",
        "`conv_bias.pb`",
        "**450,560**",
        "221,184",
        "224",
        "177,024",
    ]
    # 147456/2 + 262144/2 = 204800 MACs; bytes as tfflops counts them
    assert rows["depthwise_separable.pb"][:5] == [
        "✅",
        "`depthwise_separable.pb`",
        "409,600",
        "204,800",
        "200",
    ]
    failures = lines[lines.index("#### Failures") + 2 :]
    assert failures[0].startswith("- `conv_bias.pb`: FLOPs (tfprof) 450,560 (450.56 K) is over")
    assert "budgets: FLOPs (tfprof) ≤ 420,000" in summary.read_text()


def test_markdown_shows_change_against_the_baseline(capsys, tmp_path):
    baseline = _baseline(tmp_path, capsys)
    summary = tmp_path / "summary.md"
    args = ["--baseline", baseline, "--input-shape", "x=2,32,32,3", "--summary", summary]
    code, _, _ = check(capsys, CONV_BIAS, "--no-tfprof", *args)
    assert code == 1
    text = summary.read_text()
    assert "| ❌ | `conv_bias.pb` | **901,120 (+100.0%)** | **442,368 (+100.0%)** | 224 |" in text
    assert "tolerance 0%" in text


# ---------------------------------------------------------------- several models


def _ten_models(directory: Path) -> list[Path]:
    """Ten copies of the sample graphs under new names, and a file that is no model."""
    samples = [CONV_BIAS, DEPTHWISE, SAMPLES / "seed_frozen.pb", SAMPLES / "small_cnn.pb"]
    paths = []
    for i in range(10):
        path = directory / f"model_{i:02d}.pb"
        shutil.copy(samples[i % 4], path)
        paths.append(path)
    (directory / "README.txt").write_text("not a model")
    return paths


# inference FLOPs of the four samples, tfprof convention, batch 1
SAMPLE_FLOPS = [
    FLOPS,
    DW_FLOPS,
    7200,  # 2*25*16*9
    78460,  # small_cnn: conv 56448 + dense 15680 + biases 3136 + 10 + pool 3136 + softmax 50
]


def test_a_directory_of_ten_models_with_two_jobs(capsys, tmp_path):
    paths = _ten_models(tmp_path)
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    args = [tmp_path, "--no-tfprof", "--jobs", "2", "--junit", junit, "--max-params", "1G"]
    code, out, err = check(capsys, *args)
    assert code == 0, out + err
    results = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    # input order, each counted; a path too long for 80 columns keeps its file name
    assert [line.split()[1] for line in results] == [f"[{k}/10]" for k in range(1, 11)]
    assert [line.split()[2][-11:] for line in results] == [p.name for p in paths]
    assert out.splitlines()[-1] == "10 models passed"
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [str(p) for p in paths]
    for i, suite in enumerate(suites):
        flops = suite.find("testcase[@name='flops']/system-out").text
        assert flops == f"FLOPs (tfprof): {SAMPLE_FLOPS[i % 4]:,}"


def test_jobs_give_the_same_results_in_the_same_order(tmp_path):
    paths = [str(p) for p in _ten_models(tmp_path)[:5]]
    serial = measure_models(paths, jobs=1, tfprof=False)
    parallel = measure_models(paths, jobs=3, tfprof=False)
    assert parallel == serial
    assert [m.totals["flops"] for m in parallel] == [SAMPLE_FLOPS[i % 4] for i in range(5)]


def test_a_glob_of_models(capsys, tmp_path):
    _ten_models(tmp_path)
    code, out, _ = check(capsys, tmp_path / "model_0[1-3].pb", "--no-tfprof", "--max-flops", "1G")
    assert code == 0
    assert out.splitlines()[-1] == "3 models passed"


def test_expand_models_keeps_each_model_once(tmp_path):
    paths = _ten_models(tmp_path)
    found = expand_models([str(paths[3]), str(tmp_path), str(tmp_path / "model_0*.pb")])
    assert found == [str(paths[3])] + [str(p) for p in paths if p != paths[3]]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_unreadable_model_is_its_own_error_and_the_others_are_reported(capsys, tmp_path, jobs):
    _ten_models(tmp_path)
    bad = tmp_path / "model_05.pb"
    bad.write_bytes(random.Random(5).randbytes(2048))
    code, out, err = check(capsys, tmp_path, "--no-tfprof", "--jobs", jobs, "--max-flops", "1G")
    assert code == 2
    # Every model printed as it was done, the unreadable one an ERROR among them.
    verdicts = [line.split()[:3] for line in out.splitlines() if not line.startswith(" ")]
    assert [(v[0], v[1], v[2][-11:]) for v in verdicts[:-1]] == [
        ("ERROR" if k == 6 else "PASS", f"[{k}/10]", f"model_0{k - 1}.pb") for k in range(1, 11)
    ]
    assert out.splitlines()[-1] == "1 of 10 models could not be checked"
    assert err == (
        f"tfflops: error: {bad}: not a GraphDef: the protobuf is truncated or corrupt, "
        "or the file is in another format\n"
    )


def test_a_directory_without_models(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    code, out, err = check(capsys, tmp_path, "--no-tfprof")
    assert_one_line_error(code, out, err, str(tmp_path), "no model")


def test_a_directory_gives_every_model_below_it(tmp_path):
    for name in [
        "sm/saved_model.pb",
        "sm/variables/inner.pb",
        "sub/a.pb",
        "b.pbtxt",
        "c.meta",
        "d.keras",
        "e.h5",
        "notes.txt",
        ".git/f.pb",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = expand_models([str(tmp_path)])
    # The SavedModel is one model (nothing inside it counts on its own); a .h5 may hold
    # weights alone, so only a named one is taken; hidden folders are skipped.
    expected = ["b.pbtxt", "c.meta", "d.keras", "sm", "sub/a.pb"]
    assert found == [str(tmp_path / name) for name in expected]


def test_a_glob_matching_nothing(capsys, tmp_path):
    code, out, err = check(capsys, tmp_path / "*.pb", "--no-tfprof")
    assert_one_line_error(code, out, err, "no file matches")


def _measure_after_the_second_line(model, **options):
    """``measure``, in the worker: the last model waits for the second model's line (a
    module-level function, so that a spawned worker finds it too)."""
    printed = Path(os.environ["TFFLOPS_TEST_PRINTED"])
    while Path(model).name == "model_02.pb" and not printed.exists():
        time.sleep(0.01)
    return measure(model, **options)


def test_each_model_is_printed_as_it_is_done(monkeypatch, tmp_path):
    """A CI log shows each model's line as soon as it is checked, before the run ends: the
    last model's worker waits until the second model's line is out (were the lines held
    to the end, it would wait past its --timeout and be an ERROR)."""
    import tfflops.pipelines.check as pipeline

    paths = _ten_models(tmp_path)[:3]
    printed = tmp_path / "printed"
    monkeypatch.setenv("TFFLOPS_TEST_PRINTED", str(printed))
    events = []

    class Log:  # stdout, as a CI runner's pipe: no terminal
        def write(self, text):
            events.append(("print", text.split()[1] if text.startswith(("PASS", "FAIL")) else text))
            if "[2/3]" in text:
                printed.touch()

        def flush(self):
            events.append(("flush", ""))

        def isatty(self):
            return False

    monkeypatch.setattr(pipeline, "measure", _measure_after_the_second_line)
    monkeypatch.setattr(sys, "stdout", Log())
    argv = ["check", *map(str, paths), "--no-tfprof", "--max-params", "500", "--timeout", "60"]
    assert main(argv) == 1
    assert [e for e in events if e[0] != "flush"] == [
        ("print", "[1/3]"),
        ("print", "[2/3]"),
        ("print", "[3/3]"),
        ("print", "1 of 3 models failed\n"),  # seed_frozen: 25*16 + 16*9 = 544 params > 500
    ]
    # flushed after every model: a pipe would otherwise hold the lines until the end
    lines = [k for k, e in enumerate(events) if e[0] == "print" and e[1].startswith("[")]
    assert [events[k + 1][0] for k in lines] == ["flush"] * 3


def test_check_without_tf_profiler_never_imports_tensorflow(tmp_path):
    code = (
        "import sys; from tfflops.cli import main; "
        f"rc = main(['check', {str(CONV_BIAS)!r}, '--no-tfprof', '--max-flops', '1M', "
        f"'--summary', {str(tmp_path / 's.md')!r}, '--junit', {str(tmp_path / 'j.xml')!r}]); "
        "assert 'tensorflow' not in sys.modules; sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_measure_counts_with_python_ints():
    m = measure(str(CONV_BIAS), tfprof=False)
    assert m.totals == {"flops": FLOPS, "macs": MACS, "params": PARAMS, "bytes": BYTES}
    assert all(type(v) is int for f in m.op_types.values() for v in f.values())
