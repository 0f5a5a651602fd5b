"""tfflops compare: two graphs side by side, and every FLOP of their difference given a cause."""

import json
import shutil

import pytest
import tensorflow as tf
from conftest import SAMPLES
from tf_builders import build

import tfflops
from tfflops.cli import main
from tfflops.pipelines.compare import compare, compare_freeze
from tfflops.reports.compare import render_comparison

tf1 = tf.compat.v1
SEED_DETAILS = [
    "a [25, 16]  random_normal: 400 + 400",  # Mul by stddev, Add mean: 25*16 each
    "b [16, 9]   random_normal: 144 + 144",  # 16*9 each
]


def causes(c) -> dict[str, int]:
    """cause → FLOPs difference, after checking that the causes add up to the whole."""
    by_cause = {x["cause"]: x["flops"] for x in c.causes()}
    assert sum(by_cause.values()) == c.totals["graph_flops"]["difference"]
    return by_cause


def nonzero(by_cause: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in by_cause.items() if v}


# ---------------------------------------------------------------- the seed example


def test_seed_refvars_against_tensorflows_freeze():
    c = compare(SAMPLES / "seed_refvars.pb", SAMPLES / "seed_frozen.pb", outputs="output")
    t = c.totals
    assert (t["tfprof_flops"]["before"], t["tfprof_flops"]["after"]) == (8288, 7200)
    assert t["tfprof_flops"]["difference"] == -1088  # -(400 + 400 + 144 + 144)
    assert t["graph_flops"]["difference"] == -1088
    assert (t["flops"]["before"], t["flops"]["after"]) == (7200, 7200)  # the model: 2*16*25*9
    assert t["params"] == {"before": 544, "after": 544, "difference": 0}  # 25*16 + 16*9
    assert nonzero(causes(c)) == {"initializers": -1088}
    (init,) = [x for x in c.causes() if x["cause"] == "initializers"]
    assert init["tfprof_flops"] == -1088
    assert init["details"] == SEED_DETAILS
    by_name = {n.name: n for n in c.nodes}
    assert by_name["a"].op_before == "VariableV2" and by_name["a"].op_after == "Const"
    assert by_name["a"].cause == "variables"
    assert by_name["a/Assign"].cause == "assign"
    assert by_name["output"].cause is None  # 7200 on both sides


@pytest.mark.parametrize("name", ["seed_refvars.pb", "seed_resvars.pb"])
def test_seed_against_tfflops_freeze(tmp_path, name):
    frozen = tmp_path / "frozen.pb"
    assert main(["freeze", str(SAMPLES / name), "--outputs", "output", "-o", str(frozen)]) == 0
    c = compare(SAMPLES / name, frozen, outputs=["output"])
    assert nonzero(causes(c)) == {"initializers": -1088}
    assert c.causes()[0]["details"] == SEED_DETAILS
    only_before = {n.name for n in c.nodes if n.side == "before"}
    assert "init" in only_before and "random_normal/mul" in only_before
    assert [n.name for n in c.nodes if n.side == "after"] == []


def test_cli_compare_prints_the_attribution(capsys):
    argv = ["compare", str(SAMPLES / "seed_refvars.pb"), str(SAMPLES / "seed_frozen.pb")]
    assert main([*argv, "--outputs", "output"]) == 0
    out = capsys.readouterr().out
    assert "  tf.profiler FLOPs   8,288  7,200      -1,088\n" in out
    assert "all-phase FLOPs 8,288 → 7,200 (-1,088), by cause:\n" in out
    assert "  initializers (phase init)" in out
    for line in SEED_DETAILS:
        assert f"      {line}\n" in out


def test_profile_compare_freeze(capsys):
    argv = ["profile", str(SAMPLES / "seed_resvars.pb"), "--outputs", "output"]
    assert main([*argv, "--compare-freeze", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["tfprof_flops"] == {"before": 8288, "after": 7200, "difference": -1088}
    (init,) = [x for x in doc["causes"] if x["cause"] == "initializers"]
    assert (init["flops"], init["details"]) == (-1088, SEED_DETAILS)
    assert "nothing was executed" in doc["notes"][-1]


def test_compare_freeze_without_tfprof():
    c = compare_freeze(SAMPLES / "seed_refvars.pb", "output", tfprof=False)
    assert c.totals["tfprof_flops"] == {"before": None, "after": None, "difference": None}
    assert nonzero(causes(c)) == {"initializers": -1088}
    assert {x["cause"]: x["tfprof_flops"] for x in c.causes()}["initializers"] is None


# ---------------------------------------------------------------- formats and files


def test_markdown_and_json(tmp_path):
    c = compare(SAMPLES / "seed_refvars.pb", SAMPLES / "seed_frozen.pb", outputs="output")
    markdown = render_comparison(c, "markdown")
    assert "| tf.profiler FLOPs | 8,288 | 7,200 | -1,088 |" in markdown
    details = "<br>".join(SEED_DETAILS)
    assert f"| initializers (phase init) | 13 | -1,088 | -1,088 | {details} |" in markdown
    doc = json.loads(render_comparison(c, "json"))
    assert set(doc) == {
        "convention",
        "before",
        "after",
        "totals",
        "causes",
        "ops",
        "nodes",
        "notes",
    }
    assert len(doc["nodes"]) == 20  # every node of before; after has none of its own
    ops = {r["op"]: r for r in doc["ops"]}
    assert (ops["Mul"]["flops_before"], ops["Mul"]["flops_after"]) == (544, 0)  # 400 + 144


def test_output_file_is_written_and_never_over_an_input(tmp_path, capsys):
    before = tmp_path / "before.pb"
    shutil.copy(SAMPLES / "seed_refvars.pb", before)
    report = tmp_path / "report.md"
    argv = ["compare", str(before), str(SAMPLES / "seed_frozen.pb"), "--no-tfprof"]
    assert main([*argv, "--format", "markdown", "-o", str(report)]) == 0
    assert report.read_text().startswith(f"# {before} → ")
    assert main([*argv, "-o", str(before)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert before.read_bytes() == (SAMPLES / "seed_refvars.pb").read_bytes()


def test_outputs_missing_from_after_is_an_error(capsys):
    argv = ["compare", str(SAMPLES / "seed_refvars.pb"), str(SAMPLES / "conv_bias.pb")]
    assert main([*argv, "--outputs", "a/read", "--no-tfprof"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no node named 'a/read'" in err and "conv_bias.pb" in err


# ---------------------------------------------------------------- any two models


def test_training_graph_against_its_freeze():
    def fn():
        x = tf1.placeholder(tf.float32, [4, 3], name="x")
        w = tf1.Variable(tf.ones([3, 2]), name="w", use_resource=False)
        y = tf.matmul(x, w, name="y")
        step = tf1.Variable(0.0, name="global_step", trainable=False, use_resource=False)
        with tf.control_dependencies([tf1.assign_add(step, 1.0, name="increment")]):
            tf.identity(y, name="output")
        loss = tf.reduce_sum(y, name="loss")
        tf1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        tf1.summary.scalar("loss", loss)
        tf1.train.Saver()
        tf1.global_variables_initializer()

    original = build(fn)
    with pytest.warns(tfflops.FreezeWarning):
        frozen = tfflops.freeze(original, ["output"])
    c = compare(original, frozen, outputs="output")
    by_cause = causes(c)
    # The gradients: dw = xᵀ·dy 2*4*(3*2) = 48, dx = dy·wᵀ 2*2*(4*3) = 48. The loss, a Sum
    # over [4,2] (8 - 1 = 7), feeds only the summary: the gradients use its static shape.
    # The increment: AssignAdd on a scalar, N(in0) = 1.
    assert nonzero(by_cause) == {"training": -96, "save_summary": -7, "assign": -1}
    names = {n.name: n.cause for n in c.nodes}
    assert names["train"] == names["gradients/y_grad/MatMul"] == "training"
    assert names["save/SaveV2"] == names["loss"] == "save_summary"
    assert names["global_step"] == "control_edges"
    # The model: 2*3*(4*2) = 48; before, the increment's 1 rides along through ^increment.
    assert c.totals["flops"] == {"before": 49, "after": 48, "difference": -1}


def test_control_edge_subgraph():
    def graph(with_check: bool):
        def fn():
            x = tf1.placeholder(tf.float32, [4], name="x")
            deps = [tf.reduce_sum(tf.square(x, name="sq"), name="norm")] if with_check else []
            with tf.control_dependencies(deps):
                tf.identity(x * 2.0, name="output")

        return build(fn)

    c = compare(graph(True), graph(False), outputs="output")
    # Square N(in0) = 4, Sum N(in0) - N(out) = 4 - 1: alive only through ^norm.
    assert nonzero(causes(c)) == {"control_edges": -7}


def test_constant_only_subgraph_folded():
    def graph(folded: bool):
        def fn():
            x = tf1.placeholder(tf.float32, [3], name="x")
            if folded:
                scale = tf.constant([6.0, 6.0, 6.0], name="scale_folded")
            else:
                scale = tf.multiply(tf.constant([2.0] * 3), tf.constant([3.0] * 3), name="scale")
            tf.multiply(x, scale, name="output")

        return build(fn)

    c = compare(graph(False), graph(True), outputs="output")
    assert nonzero(causes(c)) == {"constant_folding": -3}  # Mul of two Const [3]: 3
    names = {n.name: n.cause for n in c.nodes}
    assert names["scale"] == names["scale_folded"] == "constant_folding"


def test_renamed_nodes():
    def graph(prefix: str):
        def fn():
            x = tf1.placeholder(tf.float32, [2, 3], name="x")
            w = tf.constant([[1.0] * 4] * 3, name=f"{prefix}/kernel")
            tf.identity(tf.matmul(x, w, name=f"{prefix}/MatMul"), name="output")

        return build(fn)

    c = compare(graph("dense"), graph("fc"), outputs="output", tfprof=False)
    by_name = {n.name: n for n in c.nodes}
    assert by_name["dense/MatMul"].side == "renamed"
    assert by_name["dense/MatMul"].after_name == "fc/MatMul"
    assert by_name["dense/MatMul"].flops_before == by_name["dense/MatMul"].flops_after == 48
    assert nonzero(causes(c)) == {}  # 2*3*(2*4) on both sides


def test_lowered_control_flow_counts_both_branches():
    def graph():
        x = tf1.placeholder(tf.float32, [2, 3], name="x")
        p = tf1.placeholder(tf.bool, [], name="p")
        w = tf.constant([[0.5] * 3] * 3, name="w")
        tf.identity(tf.cond(p, lambda: tf.matmul(x, w), lambda: x * 2.0), name="output")

    c = compare(build(graph, control_flow_v2=True), build(graph, control_flow_v2=False), "output")
    # tfflops counts the If's branches as tf.profiler counts them once lowered:
    # MatMul 2*3*(2*3) = 36 + Mul 2*3 = 6 -> 42 on both sides; only tf.profiler's moves.
    assert c.totals["flops"] == {"before": 42, "after": 42, "difference": 0}
    assert c.totals["tfprof_flops"] == {"before": 0, "after": 42, "difference": 42}
    assert nonzero(causes(c)) == {}  # the If (42) and its lowered nodes (36 + 6) cancel
    names = {n.name: n.cause for n in c.nodes if n.side == "before"}
    assert names == {"cond": "control_flow", "cond/Identity": "control_flow"}  # StatelessIf


def test_without_tf_profiler_the_causes_have_no_column_of_its():
    c = compare_freeze(SAMPLES / "seed_refvars.pb", "output", tfprof=False)
    lines = render_comparison(c).splitlines()
    head = next(line for line in lines if line.lstrip().startswith("cause "))
    assert head.split() == ["cause", "nodes", "FLOPs"]
    init = next(line for line in lines if "initializers (phase init)" in line)
    assert init.split()[-2:] == ["13", "-1,088"]  # 400 + 400 + 144 + 144, nothing after
