"""Reductions, softmax, normalization and losses."""

from __future__ import annotations

from tfflops.analysis.ops.base import Cost, OpView, register


@register("Mean")
def mean(v: OpView) -> Cost:
    """N(in) − N(out) adds and N(out) divides = N(in)."""
    return Cost(arith=v.n_in(0), tfprof=v.n_in(0))


@register("Sum")
def reduce_sum(v: OpView) -> Cost:
    """N(in) − N(out) adds."""
    adds = v.n_in(0) - v.n_out()
    return Cost(arith=adds, tfprof=adds)


@register("BiasAddGrad")
def bias_add_grad(v: OpView) -> Cost:
    """N(in) − N(out) adds (a sum over all but the channel dim)."""
    adds = v.n_in(0) - v.n_out()
    return Cost(arith=adds, tfprof=adds)


@register("ArgMax", "ArgMin")
def arg_reduce(v: OpView) -> Cost:
    """N(in) − N(out) comparisons."""
    comparisons = v.n_in(0) - v.n_out()
    return Cost(other=comparisons, tfprof=comparisons)


@register("Prod")
def reduce_prod(v: OpView) -> Cost:
    """N(in) − N(out) multiplies; tf.profiler has no formula."""
    return Cost(arith=v.n_in(0) - v.n_out())


@register("Max", "Min", "All", "Any")
def reduce_compare(v: OpView) -> Cost:
    """N(in) − N(out) comparisons; tf.profiler has no formula."""
    return Cost(other=v.n_in(0) - v.n_out())


@register("EuclideanNorm")
def euclidean_norm(v: OpView) -> Cost:
    """N(in) multiplies + N(in) − N(out) adds + N(out) square roots."""
    return Cost(arith=2 * v.n_in(0) - v.n_out(), other=v.n_out())


@register("Softmax", "LogSoftmax")
def softmax(v: OpView) -> Cost:
    """5·N(in): max, subtract, exp, sum, divide (or log-subtract) per element.

    tf.profiler counts Softmax (5·N) but has no formula for LogSoftmax.
    """
    n = v.n_in(0)
    return Cost(arith=3 * n, other=2 * n, tfprof=5 * n if v.op == "Softmax" else 0)


@register("L2Loss")
def l2_loss(v: OpView) -> Cost:
    """sum(x²)/2: N multiplies + (N − 1) adds + 1 halving; tf.profiler says 3·N − 1."""
    n = v.n_in(0)
    return Cost(arith=2 * n, tfprof=3 * n - 1)


@register("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def fused_batch_norm(v: OpView) -> Cost:
    """Inference: y = x·a + b per element, with a = scale·rsqrt(var + ε) and
    b = offset − mean·a per channel (2·N(x) + 4·C arithmetic, C square roots).
    Training (is_training) also computes the batch mean and variance: 3·N(x) more.
    tf.profiler has no formula.
    """
    n = v.n_in(0)
    channels = v.in_shape(1)[0]
    arith = 2 * n + 4 * channels
    if v.attr("is_training", True):
        arith += 3 * n
    return Cost(arith=arith, other=channels)


@register("SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits")
def softmax_cross_entropy(v: OpView) -> Cost:
    """Softmax (5·N) + a log and a multiply-add per logit; no tf.profiler formula."""
    n = v.n_in(0)
    return Cost(arith=5 * n, other=2 * n)
