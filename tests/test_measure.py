"""``tfflops measure``: it runs the model, so it vets what runs first; times come back per node.

No test asserts a time (timing lives in scripts/roofline): they assert what ran, what was
refused, what covers what, and that nothing outside the allow-list executed.
"""

import json

import pytest
import tensorflow as tf
from builders import DT_FLOAT, ints, op, placeholder, weights
from test_freeze import write_file_graph
from tf_builders import build, save

import tfflops
from tfflops.analysis.kernels import Kernel, attribute, measured_seconds
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.graph.index import Graph
from tfflops.pipelines.measure import measure

tf1 = tf.compat.v1


def test_a_write_file_initializer_is_refused(tmp_path, capsys):
    target = tmp_path / "written.txt"
    model = save(write_file_graph(target), tmp_path / "model.pb")
    with pytest.raises(tfflops.TfflopsError, match=r"would execute WriteFile \(node 'write'\)"):
        measure(model, ["output"], runs=1, warmup=0)
    assert main(["measure", model, "--outputs", "output", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-unsafe-ops" in err
    assert not target.exists()


def test_a_write_file_the_output_waits_on_is_refused(tmp_path, capsys):
    """No variable to freeze: measure's own check over what the run executes refuses it."""
    target = tmp_path / "written.txt"

    def fn():
        write = tf.io.write_file(str(target), "written", name="write")
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        with tf.control_dependencies([write]):
            tf.identity(x * 2.0, name="output")

    model = save(build(fn), tmp_path / "model.pb")
    out = tmp_path / "report.json"
    code = main(["measure", model, "--outputs", "output", "--format", "json", "-o", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "measuring the model would execute WriteFile (node 'write')" in err
    assert not target.exists()
    assert not out.exists()


def test_allow_unsafe_ops_runs_it(tmp_path):
    target = tmp_path / "written.txt"

    def fn():
        write = tf.io.write_file(str(target), "written", name="write")
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        with tf.control_dependencies([write]):
            tf.identity(x * 2.0, name="output")

    model = save(build(fn), tmp_path / "model.pb")
    measure(model, ["output"], runs=1, warmup=0, allow_unsafe_ops=True)
    assert target.read_text() == "written"


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--runs", "0", "--runs 0: must be a whole number from 1 to 1000"),
        ("--runs", "1001", "--runs 1001: must be a whole number from 1 to 1000"),
        ("--runs", "-5", "--runs -5: must be a whole number from 1 to 1000"),
        ("--warmup", "-1", "--warmup -1: must be a whole number from 0 to 100"),
        ("--warmup", "100000000000000000000", "--warmup 100000000000000000000: must be"),
        ("--threads", "0", "--threads 0: must be a whole number from 1 to 1024"),
        ("--threads", "99999", "--threads 99999: must be a whole number from 1 to 1024"),
        ("--runs", "ten", "argument --runs: invalid int value: 'ten'"),
        ("--top", "-1", "--top -1: must be 0 (every row) or more"),
    ],
)
def test_hostile_counts_are_refused_before_anything_runs(samples, capsys, flag, value, message):
    assert main(["measure", str(samples / "conv_bias.pb"), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_huge_input_is_refused_before_it_is_allocated(tmp_path, capsys):
    g = proto.GraphDef()
    placeholder(g, "x", [1 << 20, 1 << 20])  # 4 TiB of float32
    op(g, "y", "Relu", ["x"])
    model = tmp_path / "huge.pb"
    model.write_bytes(g.SerializeToString())
    assert main(["measure", str(model), "--runs", "1"]) == 2
    err = capsys.readouterr().err
    # x and y, 4 TiB each, alive together while the relu runs
    assert "running it would hold 8,796,093,022,208 bytes of activations at once" in err


def _fill(g, name, dims, dtype=proto.DATA_TYPES["DT_FLOAT"]):
    """Fill(dims, 1.0): a tensor TensorFlow allocates of the dims' value, however large."""
    one = g.node.add(name=f"{name}/one", op="Const")
    one.attr["dtype"].type = dtype
    one.attr["value"].tensor.dtype = dtype
    one.attr["value"].tensor.float_val.append(1.0)
    fill = g.node.add(name=name, op="Fill")
    fill.input.extend([dims, one.name])
    fill.attr["T"].type = dtype
    fill.attr["index_type"].type = proto.DATA_TYPES["DT_INT32"]
    return name


def _sum(g, name, x, axes):
    ints(g, f"{name}/axes", axes)
    op(g, name, "Sum", [x, f"{name}/axes"])
    g.node[-1].attr["Tidx"].type = proto.DATA_TYPES["DT_INT32"]
    return name


def _refused(tmp_path, capsys, g, message):
    model = tmp_path / "bomb.pb"
    model.write_bytes(g.SerializeToString())
    assert main(["measure", str(model), "--outputs", "output", "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert err.endswith("refusing to run it (--allow-unsafe-ops runs it anyway)\n")


def test_what_tensorflow_folds_when_it_loads_the_graph_counts_too(tmp_path, capsys):
    # Computed from constants alone, the Fill is no activation of the profile's peak, but
    # TensorFlow still makes it: 70000·70000·4 = 19,600,000,000 bytes, + its sum 4, + x and
    # output 4 each (the peak)
    g = proto.GraphDef()
    placeholder(g, "x", [1])
    ints(g, "dims", [70000, 70000])
    _sum(g, "total", _fill(g, "big", "dims"), [0, 1])
    op(g, "output", "Mul", ["x", "total"])
    _refused(tmp_path, capsys, g, "running it would hold 19,600,000,012 bytes of activations")


def test_a_tensor_of_a_size_not_known_statically_is_refused(tmp_path, capsys):
    # The Fill's dimensions are the sum of 2000 ones: a value tfflops does not compute
    # (so its size is unknown) and TensorFlow does: 2000³ floats, 32 GB.
    g = proto.GraphDef()
    ints(g, "n", [2000])
    side = _sum(g, "side", _fill(g, "ones", "n"), [0])
    cast = g.node.add(name="side_int", op="Cast", input=[side])
    cast.attr["SrcT"].type, cast.attr["DstT"].type = DT_FLOAT, proto.DATA_TYPES["DT_INT32"]
    pack = g.node.add(name="dims", op="Pack", input=["side_int"] * 3)
    pack.attr["T"].type, pack.attr["N"].i = proto.DATA_TYPES["DT_INT32"], 3
    _sum(g, "output", _fill(g, "big", "dims"), [0, 1, 2])
    _refused(tmp_path, capsys, g, "a tensor whose size is not known statically")


def test_a_string_tensor_is_refused(tmp_path, capsys):
    # One element, of any length: StringJoin of a string with itself, 3000 times over,
    # makes gigabytes out of one megabyte.
    g = proto.GraphDef()
    text = g.node.add(name="text", op="Const")
    text.attr["dtype"].type = proto.DATA_TYPES["DT_STRING"]
    text.attr["value"].tensor.dtype = proto.DATA_TYPES["DT_STRING"]
    text.attr["value"].tensor.string_val.append(b"x" * 1000)
    join = g.node.add(name="output", op="StringJoin", input=["text"] * 3000)
    join.attr["N"].i = 3000
    _refused(tmp_path, capsys, g, "running it would hold output:0, a tensor whose size is not")


def test_an_input_of_unknown_shape_must_be_given(tmp_path, capsys):
    g = proto.GraphDef()
    placeholder(g, "x", [1, None])
    op(g, "y", "Relu", ["x"])
    model = tmp_path / "open.pb"
    model.write_bytes(g.SerializeToString())
    assert main(["measure", str(model), "--runs", "1"]) == 2
    err = capsys.readouterr().err
    assert "input x: shape (1, None) is not fully known; give it with --input-shape" in err


def test_conv_bias_is_measured_and_joined_to_the_estimates(samples, tmp_path, capsys):
    out = tmp_path / "measured.json"
    argv = ["measure", str(samples / "conv_bias.pb"), "--runs", "2", "--warmup", "1"]
    assert main([*argv, "--device", "T4", "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["ran_on"] == "CPU" and doc["runs"] == 2 and doc["warmup"] == 1
    assert doc["totals"]["flops"] == 458752  # conv 442368 + bias 8192 + relu 8192 (full)
    assert doc["totals"]["wall_seconds"] > 0
    assert doc["totals"]["device"] == "T4"
    nodes = {n["name"]: n for n in doc["profile"]["nodes"]}
    # T4: max(FLOPs / 8.1e12, bytes / 320e9) + 5 µs launch, all three memory-bound:
    # conv 45,920 B / 320e9 = 0.1435 µs, bias_add 65,568 B 0.2049 µs, relu 65,536 B 0.2048 µs
    estimated = {"conv": 5.1435e-06, "bias_add": 5.2049e-06, "output": 5.2048e-06}
    for name, seconds in estimated.items():
        assert nodes[name]["measured_seconds"] >= 0
        assert nodes[name]["est_seconds"] == pytest.approx(seconds, rel=1e-12)
    assert nodes["filter"]["measured_seconds"] is None  # a constant: no kernel
    # TensorFlow fuses the three into one _FusedConv2D named after the relu
    (group,) = [g for g in doc["groups"] if "conv" in g["covers"]]
    assert sorted(group["covers"]) == ["bias_add", "conv", "output"]
    assert group["fused"] and group["kernels"][0]["op"] == "_FusedConv2D"
    assert any("cover several nodes" in n for n in doc["notes"])
    assert main(argv) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("output "))
    assert row.split()[1:3] == ["_FusedConv2D", "(3)"]


def test_the_runs_stop_at_the_total_budget(samples, monkeypatch):
    """No run starts once the budget is spent (1,000 runs of a slow model would take
    days): one timed pair always runs, and the report says how many ran of how many."""
    import tfflops.pipelines.measure as pipeline
    from tfflops.tf.measure import BUDGET_S, time_graph

    assert BUDGET_S == 600  # ten minutes for all the runs of one model

    def spent(*args, **kwargs):  # a budget already spent when the first run ends
        return time_graph(*args, **kwargs, budget_s=0)

    monkeypatch.setattr(pipeline, "time_graph", spent)
    m = measure(samples / "conv_bias.pb", runs=5, warmup=2)
    assert (m.runs, m.warmup) == (1, 0)  # 5 asked, 1 ran; 2 warm-up asked, none ran
    doc = m.to_dict()
    assert (doc["runs"], doc["warmup"]) == (1, 0)
    assert (
        "stopped after 0 of 2 warm-up and 1 of 5 timed runs: together they took over 600 s "
        "(no run starts after that)"
    ) in doc["notes"]
    assert "medians of 1 runs after 0 warm-up runs" in " ".join(doc["notes"])


# ---------------------------------------------------------------- attribution, pure


def _chain_graph() -> Graph:
    """x → conv → bias → relu → mul → out, plus a constant branch."""
    g = proto.GraphDef()
    placeholder(g, "x", [1, 8, 8, 3])
    weights(g, "w", [3, 3, 3, 4])
    op(g, "conv", "Conv2D", ["x", "w"], strides=[1, 1, 1, 1], padding="SAME")
    weights(g, "b", [4])
    op(g, "bias", "BiasAdd", ["conv", "b"])
    op(g, "relu", "Relu", ["bias"])
    op(g, "mul", "Mul", ["relu", "relu"])
    op(g, "out", "Identity", ["mul"])
    return Graph(g)


def test_a_fused_kernel_covers_the_nodes_it_absorbed():
    graph = _chain_graph()
    kernels = [
        Kernel("_arg_x_0_0", "_Arg", 1e-6),  # bookkeeping: no node
        Kernel("relu", "_FusedConv2D", 30e-6),  # conv + bias + relu, named after the relu
        Kernel("mul", "Mul", 10e-6),
        Kernel("mul/ArithmeticOptimizer/Rewrite_1", "AddN", 2e-6),  # made up, under mul
        Kernel("edge_7_transfer", "MemcpyHtoD", 1e-6),  # stands for no node
    ]
    a = attribute(graph, kernels)
    names = graph.names
    covered = {names[g.anchor]: sorted(names[i] for i in g.covers) for g in a.groups}
    assert covered == {"relu": ["bias", "conv", "relu"], "mul": ["mul"]}
    assert [k.name for k in a.unattributed] == ["edge_7_transfer"]
    assert [names[i] for i in a.folded] == ["out"]  # the Identity ran no kernel
    # the relu group's 30 µs split by the estimates 2:1:1 (conv, bias, relu); mul's 12 µs
    weights_by_name = {"conv": 2.0, "bias": 1.0, "relu": 1.0, "mul": 1.0}
    seconds = measured_seconds(a, [weights_by_name.get(n, 0.0) for n in names], len(names))
    by_name = dict(zip(names, seconds, strict=True))
    assert by_name["conv"] == pytest.approx(15e-6)
    assert by_name["bias"] == pytest.approx(7.5e-6)
    assert by_name["mul"] == pytest.approx(12e-6)
    assert by_name["out"] == 0.0  # folded
    assert by_name["w"] is None and by_name["x"] is None


def test_a_kernel_that_ran_as_written_absorbs_nothing():
    graph = _chain_graph()
    # the bias add was removed (x + 0): the relu ran as itself and does not take its time
    a = attribute(graph, [Kernel("conv", "Conv2D", 20e-6), Kernel("relu", "Relu", 5e-6)])
    names = graph.names
    covered = {names[g.anchor]: [names[i] for i in g.covers] for g in a.groups}
    assert covered == {"conv": ["conv"], "relu": ["relu"]}
    assert sorted(names[i] for i in a.folded) == ["bias", "mul", "out"]
    # oneDNN's names for the same ops are the same ops
    a = attribute(graph, [Kernel("conv", "_MklNativeConv2D", 20e-6)])
    assert [names[i] for i in a.groups[0].covers] == ["conv"]
