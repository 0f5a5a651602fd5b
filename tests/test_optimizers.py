"""Optimizer updates (Apply*, ResourceApply*, SparseApply*): per gradient element, as
TensorFlow's kernels compute them, each checked by hand under every convention."""

import pytest
from builders import placeholder, weights

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.ops import OpView, lookup
from tfflops.analysis.shapes import infer_shapes
from tfflops.graph import proto
from tfflops.graph.index import Graph

S = ()  # a scalar hyperparameter (lr, momentum, β₁, ...)


def view(op, grad_index, grad, attrs):
    """An update whose input ``grad_index`` (its gradient) has shape ``grad``."""
    return OpView(op, (S,) * grad_index + (grad,), (grad,), attrs)


def figures(v) -> dict[str, int]:
    cost = lookup(v.op)(v)
    return {c: node_flops(cost, c) for c in ("tfprof", "macs", "exact", "full")}


# (op, gradient's input index, gradient's shape, attrs, exact, full): tf.profiler and
# macs are 0 for every update (no formula; no multiply-accumulate).
CASES = [
    # var −= grad·lr: 2 per element
    ("ApplyGradientDescent", 2, (3, 4), {}, 24, 24),  # 2·12
    ("ResourceApplyGradientDescent", 2, (3, 4), {}, 24, 24),
    # accum = accum·μ + g; var −= accum·lr: 4
    ("ApplyMomentum", 3, (5,), {}, 20, 20),  # 4·5
    # nesterov: var −= g·lr + accum·μ·lr: 2 + 5 = 7
    ("ResourceApplyMomentum", 3, (5,), {"use_nesterov": True}, 35, 35),  # 7·5
    # accum = accum·μ − g·lr; var += accum: 3 + 1
    ("ResourceApplyKerasMomentum", 3, (5,), {}, 20, 20),  # 4·5
    ("ResourceApplyKerasMomentum", 3, (5,), {"use_nesterov": True}, 35, 35),  # (3 + 4)·5
    # m: 3, v: 4, var −= m·α/(√v + ε): 4 and a square root
    ("ApplyAdam", 9, (2, 3), {}, 66, 72),  # 11·6, + 6 roots
    # nesterov: var −= (g·(1 − β₁) + β₁·m)·α/(√v + ε): 7 and a root
    ("ResourceApplyAdam", 9, (2, 3), {"use_nesterov": True}, 84, 90),  # 14·6, + 6
    # Adam's 11, vhat = max(vhat, v): 2 others per element
    ("ResourceApplyAdamWithAmsgrad", 10, (2, 3), {}, 66, 78),  # 11·6 + 2·6
    # m: 3; v = max(β₂·v, |g|): 1, abs, max; var −= lr/(1 − β₁ᵗ)·m/(v + ε): 4
    ("ApplyAdaMax", 8, (4,), {}, 32, 40),  # 8·4, + 2·4
    # ms: 4; mom = mom·μ + g·lr/√(ms + ε): 5 and a root; var −= mom: 1
    ("ApplyRMSProp", 7, (4,), {}, 40, 44),  # 10·4, + 4
    # ms 4, mg 3, ms − mg² + ε 3, mom 4 and a root, var 1
    ("ResourceApplyCenteredRMSProp", 8, (4,), {}, 60, 64),  # 15·4, + 4
    # accum += g²: 2; var −= g·lr·rsqrt(accum): 3 and an rsqrt
    ("ApplyAdagrad", 3, (4,), {}, 20, 24),  # 5·4, + 4
    ("ApplyAdagrad", 3, (4,), {"update_slots": False}, 12, 16),  # 3·4, + 4
    # accum += g²: 2; var −= g·lr/(√accum + ε): 4 and a root
    ("ResourceApplyAdagradV2", 4, (4,), {}, 24, 28),  # 6·4, + 4
    # accum 4; update = √(au + ε)·rsqrt(accum + ε)·g: 4, a root, an rsqrt; var 2; au 4
    ("ApplyAdadelta", 6, (4,), {}, 56, 64),  # 14·4, + 2·4
    # m = m·β + g·(1 − β): 3; sign(g)·sign(m): 1 and 2 signs; var −= lr·(α + d·s)·g: 5
    ("ApplyAddSign", 6, (4,), {}, 36, 44),  # 9·4, + 2·4
    # m 3; signs 1 and 2; exp(logbase·d·s): 1 and an exp; var −= lr·scale·g: 3
    ("ResourceApplyPowerSign", 6, (4,), {}, 32, 44),  # 8·4, + 3·4
    # a sparse update: the same per element of the rows it is given, grad [3,4]
    ("SparseApplyMomentum", 3, (3, 4), {}, 48, 48),  # 4·12
    ("ResourceSparseApplyRMSProp", 7, (3, 4), {}, 120, 132),  # 10·12, + 12
]


@pytest.mark.parametrize("op, index, grad, attrs, exact, full", CASES)
def test_update(op, index, grad, attrs, exact, full):
    assert figures(view(op, index, grad, attrs)) == {
        "tfprof": 0,
        "macs": 0,
        "exact": exact,
        "full": full,
    }


def test_a_reference_update_returns_the_variable_a_resource_one_nothing():
    g = proto.GraphDef()
    var = g.node.add(name="var", op="VariableV2")
    var.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    var.attr["shape"].shape.dim.add(size=3)
    var.attr["shape"].shape.dim.add(size=4)
    weights(g, "lr", ())
    placeholder(g, "grad", (3, 4))
    g.node.add(name="apply", op="ApplyGradientDescent", input=["var", "lr", "grad"])
    handle = g.node.add(name="handle", op="VarHandleOp")
    handle.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    g.node.add(name="resource", op="ResourceApplyGradientDescent", input=["handle", "lr", "grad"])
    shapes = infer_shapes(Graph(g))
    assert shapes.output("apply").shape == (3, 4)
    assert shapes.tensors["resource"] == []
