"""Ops backward passes hold: FusedBatchNormGrad, and tf.gradients' shape arithmetic — a
reduction of an empty tensor (Mean's gradient reduces the empty shape of a scalar) folds
nothing: 0, not N(in) − N(out) = −1."""

import pytest

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.ops import OpView, lookup


def figures(v) -> dict[str, int]:
    cost = lookup(v.op)(v)
    return {c: node_flops(cost, c) for c in ("tfprof", "macs", "exact", "full")}


@pytest.mark.parametrize("op", ["Sum", "Prod", "Max", "Min", "All", "Any", "EuclideanNorm"])
def test_a_reduction_of_an_empty_tensor_counts_nothing(op):
    v = OpView(op, ((0,), (1,)), ((),))
    # EuclideanNorm still takes the square root of its one output element
    other = 1 if op == "EuclideanNorm" else 0
    assert figures(v) == {"tfprof": 0, "macs": 0, "exact": 0, "full": other}


@pytest.mark.parametrize(
    "training, exact, full",
    [
        # x [2,4,4,3]: N = 96, C = 3. Inference: 5·96 + 3 = 483, + 3 square roots
        (False, 483, 486),
        # training: 10·96 + 2·3 = 966, + 3 square roots
        (True, 966, 969),
    ],
)
def test_fused_batch_norm_grad(training, exact, full):
    x, c = (2, 4, 4, 3), (3,)
    v = OpView("FusedBatchNormGradV3", (x, x, c, c, c, None), (x, c, c), {"is_training": training})
    assert figures(v) == {"tfprof": 0, "macs": 0, "exact": exact, "full": full}
