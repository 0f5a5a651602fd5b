"""Elementwise ops: arithmetic, comparisons, activations, AddN, Select."""

from __future__ import annotations

from tfflops.analysis.ops.base import Cost, OpView, register


def per_element(arith: int = 0, other: int = 0, tfprof: int = 0, tfprof_on: str = "out"):
    """A formula counting ``arith`` + ``other`` ops per output element.

    tf.profiler counts ``tfprof`` per element of the broadcast output (``tfprof_on="out"``,
    its binary ops) or of the first input (``"in"``, its unary ops).
    """

    def formula(v: OpView) -> Cost:
        n = v.n_out()
        tf = tfprof * (v.n_in(0) if tfprof and tfprof_on == "in" else n)
        return Cost(arith=arith * n, other=other * n, tfprof=tf)

    ops = " + ".join(
        f"{count} {kind} op{'s' if count > 1 else ''}"
        for count, kind in ((arith, "arithmetic"), (other, "other"))
        if count
    )
    counted = f"{tfprof}·N({'in0' if tfprof_on == 'in' else 'out'})" if tfprof else "0"
    formula.__doc__ = f"{ops or 'nothing'} per output element; tf.profiler: {counted}"
    return formula


# tf.profiler: N(out), one arithmetic op per element.
register("Add", "AddV2", "Sub", "Mul", "RealDiv")(per_element(arith=1, tfprof=1))
# tf.profiler: N(out), one non-arithmetic op per element (a comparison, a power).
register(
    "Maximum", "Minimum", "Pow", "Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual"
)(per_element(other=1, tfprof=1))
# (x − y)²: a subtract and a multiply.
register("SquaredDifference")(per_element(arith=2, tfprof=2))
# rsqrt gradient dy·(−½)·y³: tf.profiler counts 4 per element.
register("RsqrtGrad")(per_element(arith=4, tfprof=4))
# tf.profiler: N(in0).
register("Reciprocal", "Square", "Neg", "AssignAdd", "AssignSub", "BiasAdd")(
    per_element(arith=1, tfprof=1, tfprof_on="in")
)
register("Log")(per_element(other=1, tfprof=1, tfprof_on="in"))
register("Rsqrt")(per_element(other=2, tfprof=2, tfprof_on="in"))
# Arithmetic tf.profiler has no formula for.
register(
    "Div",
    "FloorDiv",
    "TruncateDiv",
    "FloorMod",
    "TruncateMod",
    "DivNoNan",
    "MulNoNan",
    "Xdivy",
    "BiasAddV1",
    "Inv",
)(per_element(arith=1))
# Activations and other unary functions tf.profiler has no formula for: one op each.
register(
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Gelu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Exp",
    "Expm1",
    "Log1p",
    "Sqrt",
    "Erf",
    "Erfc",
    "Abs",
    "Sign",
    "Floor",
    "Ceil",
    "Round",
    "Rint",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "Atan2",
    "Xlogy",
    "LogicalNot",
    "LogicalAnd",
    "LogicalOr",
    "IsNan",
    "IsInf",
    "IsFinite",
    "Select",
    "SelectV2",
    "ApproximateEqual",
    "Relu6Grad",
    "ReluGrad",
    "LeakyReluGrad",
)(per_element(other=1))
# Activation gradients from the output y: SigmoidGrad dy·y·(1 − y), TanhGrad dy·(1 − y²):
# two multiplies and a subtract per element.
register("SigmoidGrad", "TanhGrad")(per_element(arith=3))
# The others: a multiply and a function evaluation per element.
register("SoftplusGrad", "EluGrad", "SeluGrad", "SqrtGrad")(per_element(arith=1, other=1))
# Two comparisons per element.
register("ClipByValue")(per_element(other=2))


@register("AddN", "AccumulateNV2")
def add_n(v: OpView) -> Cost:
    """N(in0)·(inputs − 1) adds.

    tf.profiler multiplies by ``len(node.input) − 1``, control inputs (``^name``) included.
    """
    n = v.n_in(0)
    raw = len(v.inputs) if v.num_raw_inputs is None else v.num_raw_inputs
    tfprof = n * (raw - 1) if v.op == "AddN" else 0
    return Cost(arith=n * (len(v.inputs) - 1), tfprof=tfprof)
