"""Graph: node numbers, edges, the GraphDef order, and the name-keyed views."""

import re

import pytest
from builders import op, placeholder, weights

import tfflops
from tfflops import TfflopsError
from tfflops.graph import proto
from tfflops.graph.index import Graph, TensorRef
from tfflops.graph.phases import phase_list


def matmul_graph(order):
    """x [2,3] @ w [3,4] → mm, then Relu; nodes added in ``order``."""
    g = proto.GraphDef()
    add = {
        "x": lambda: placeholder(g, "x", (2, 3)),
        "w": lambda: weights(g, "w", (3, 4)),
        "mm": lambda: op(g, "mm", "MatMul", ["x:0", "w"]),
        "relu": lambda: op(g, "relu", "Relu", ["mm", "^w"]),
    }
    for name in order:
        add[name]()
    return g


def test_edges_by_number_and_by_name():
    graph = Graph(matmul_graph(["x", "w", "mm", "relu"]))
    assert graph.names == ["x", "w", "mm", "relu"]
    assert graph.op_list == ["Placeholder", "Const", "MatMul", "Relu"]
    assert graph.data_in == [[], [], [(0, 0), (1, 0)], [(2, 0)]]  # "x:0" is x's output 0
    assert graph.control_in == [(), (), (), (1,)]
    assert graph.readers == [[2], [2, 3], [3], []]  # w: by mm (data), by relu (control)
    assert graph.in_order
    assert graph.inputs["mm"] == [TensorRef("x", 0), TensorRef("w", 0)]
    assert graph.control_inputs["relu"] == ["w"]
    assert graph.consumers["w"] == ["mm", "relu"]
    assert graph.ops["relu"] == "Relu"
    assert graph.nodes["mm"].op == "MatMul"
    assert "mm" in graph and "nope" not in graph


def test_a_graphdef_out_of_order_is_sorted_and_counted_the_same():
    # Consumers listed before their producers: the edges resolve once all names are
    # known, and the walk order puts every node after its inputs.
    g = matmul_graph(["relu", "mm", "w", "x"])
    graph = Graph(g)
    assert not graph.in_order
    assert graph.data_in == [[(1, 0)], [(3, 0), (2, 0)], [], []]
    order = graph.topological_order()
    assert sorted(order) == ["mm", "relu", "w", "x"]
    for name in ("x", "w"):
        assert order.index(name) < order.index("mm") < order.index("relu")
    result = tfflops.profile(g, outputs=["relu"], tfprof=False)
    flops = {r.name: result.flops_of(r, "full") for r in result.rows}
    assert flops["mm"] == 48  # 2 * 2*3*4 = 48 (2·M·K·N)
    assert flops["relu"] == 8  # one per element of the 2×4 output: 2*4 = 8
    assert result.totals["flops"] == 48  # tfprof: tf.profiler has no formula for Relu
    assert result.totals["params"] == 12  # w: 3*4 = 12


def test_in_order_graph_gives_the_same_figures():
    result = tfflops.profile(matmul_graph(["x", "w", "mm", "relu"]), "relu", tfprof=False)
    assert result.totals["flops"] == 48  # 2*2*3*4 = 48, Relu 0 under tfprof
    assert result.total_flops("full") == 56  # 48 + 2*4


def test_a_name_used_twice_is_refused():
    g = matmul_graph(["x", "w", "mm", "relu"])
    weights(g, "w", (1,))
    with pytest.raises(TfflopsError, match="'w' appears twice"):
        Graph(g, "m.pb")


@pytest.mark.parametrize("raw", ["missing", "missing:1", "^missing", ""])
def test_an_input_that_is_not_in_the_graph_is_named(raw):
    g = matmul_graph(["x", "w", "mm", "relu"])
    op(g, "bad", "Relu", [raw])
    with pytest.raises(TfflopsError, match=re.escape(f"node 'bad' reads '{raw}'")):
        Graph(g, "m.pb")


@pytest.mark.parametrize(
    "edges",
    [
        [("a", ["b"]), ("b", ["a"])],
        [("a", ["a"])],  # a node reading itself
        [("x", []), ("a", ["x", "^a"])],  # ... by a control edge
        [("x", []), ("a", ["x:0", "a:0"])],
    ],
)
def test_a_cycle_is_refused(edges):
    g = proto.GraphDef()
    for name, inputs in edges:
        op(g, name, "AddV2" if len(inputs) > 1 else "Relu", inputs)
    with pytest.raises(TfflopsError, match="cycle"):
        Graph(g, "m.pb").topological_order()
    with pytest.raises(TfflopsError, match="cycle"):
        tfflops.profile(g, outputs=["a"], tfprof=False)


def test_phases_by_number_agree_with_phases_by_name():
    # v's initializer (init), the NoOp grouping it (init), a node the output does not
    # need (other), a NoOp waiting on an inference node (other).
    g = matmul_graph(["x", "w", "mm", "relu"])
    op(g, "unused", "Relu", ["x"])
    g.node.add(name="v", op="VariableV2")
    weights(g, "v/initial", (4,))
    op(g, "v/Assign", "Assign", ["v", "v/initial"])
    g.node.add(name="init", op="NoOp").input.append("^v/Assign")
    g.node.add(name="wait", op="NoOp").input.append("^relu")
    graph = Graph(g)
    phases = phase_list(graph, ["relu"])
    assert phases == [
        *["inference"] * 4,  # x, w, mm, relu
        "other",  # unused
        *["init"] * 4,  # v, v/initial, v/Assign, init
        "other",  # wait
    ]


def test_default_outputs_leave_out_what_trains_or_saves():
    from tfflops.graph.phases import default_outputs

    g = matmul_graph(["x", "w", "mm", "relu"])
    op(g, "loss", "Square", ["relu"])
    op(g, "gradients/mm_grad/MatMul", "MatMul", ["x", "w"])  # the backward pass
    op(g, "gradients/mm_grad/tuple/control_dependency", "Identity", ["gradients/mm_grad/MatMul"])
    weights(g, "save/Const", (1,))
    g.node.add(name="save/SaveV2", op="SaveV2").input.append("save/Const")
    op(g, "save/control_dependency", "Identity", ["save/Const", "^save/SaveV2"])
    assert default_outputs(Graph(g)) == ["loss"]
    # With nothing else left, such sinks are still better than no output at all.
    only = matmul_graph(["x", "w"])
    op(only, "gradients/g", "MatMul", ["x", "w"])
    assert default_outputs(Graph(only)) == ["gradients/g"]


def test_an_assign_after_a_training_step_is_not_an_initializer():
    # Adam's beta1_power update: an Assign that waits on the Apply op. What it reads (the
    # gradients) is training work, phase other, not init.
    g = matmul_graph(["x", "w", "mm", "relu"])
    g.node.add(name="v", op="VariableV2")
    weights(g, "v/initial", (4,))
    op(g, "v/Assign", "Assign", ["v", "v/initial"])
    op(g, "grad", "MatMul", ["x", "w"])
    weights(g, "lr", ())
    op(g, "apply", "ApplyGradientDescent", ["v", "lr", "grad"])
    op(g, "beta_update", "Assign", ["v", "v/initial", "^apply"])
    graph = Graph(g)
    phases = dict(zip(graph.names, phase_list(graph, ["relu"]), strict=True))
    assert [phases[n] for n in ("v", "v/initial", "v/Assign")] == ["init"] * 3
    assert [phases[n] for n in ("grad", "lr", "apply", "beta_update")] == ["other"] * 4
