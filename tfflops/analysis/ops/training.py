"""Optimizer updates: the Apply* ops of TF1 optimizers and their Resource* and Sparse* twins.

Each updates a variable (and its slots: momentum, Adam's m and v, ...) from a gradient, with
the same arithmetic for every element of the gradient — per element as TensorFlow's CPU
kernels (``training_ops.cc``) write it. The few scalar coefficients an update computes once
(Adam's α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), 1 − β₁, ...) are not counted. A Sparse* update does
the same per element of the rows it is given (its ``grad``). tf.profiler has no formula
for any of them (0).

Left out, so reported unsupported: Ftrl, ProximalAdagrad, ProximalGradientDescent and
AdagradDA, whose arithmetic depends on the values of their inputs (an l1 of 0 or not, the
learning rate power).
"""

from __future__ import annotations

from tfflops.analysis.ops.base import Cost, OpView, no_outputs, register, same_as_input

# Per element of the gradient: (arithmetic ops, other ops: sqrt, rsqrt, abs, sign, max, exp).
# The derivations, in the kernels' own terms:
_UPDATES = {
    # var −= grad·lr
    "GradientDescent": (2, 0),
    # accum = accum·momentum + grad (2); var −= accum·lr (2)
    "Momentum": (4, 0),
    # accum = accum·momentum − grad·lr (3); var += accum (1)
    "KerasMomentum": (4, 0),
    # m += (g − m)·(1 − β₁) (3); v += (g² − v)·(1 − β₂) (4); var −= m·α / (√v + ε) (4, √)
    "Adam": (11, 1),
    # Adam's m and v (7); vhat = max(vhat, v) (max); var −= m·α / (√vhat + ε) (4, √)
    "AdamWithAmsgrad": (11, 2),
    # m (3); v = max(β₂·v, |g|) (1, abs, max); var −= lr/(1 − β₁ᵗ) · m/(v + ε) (4)
    "AdaMax": (8, 2),
    # ms += (g² − ms)·(1 − ρ) (4); mom = mom·μ + g·lr / √(ms + ε) (5, √); var −= mom (1)
    "RMSProp": (10, 1),
    # ms (4); mg += (g − mg)·(1 − ρ) (3); d = ms − mg² + ε (3);
    # mom = mom·μ + g·lr / √d (4, √); var −= mom (1)
    "CenteredRMSProp": (15, 1),
    # accum += g² (2); var −= g·lr·rsqrt(accum) (3, rsqrt)
    "Adagrad": (5, 1),
    # accum += g² (2); var −= g·lr / (√accum + ε) (4, √)
    "AdagradV2": (6, 1),
    # accum = accum·ρ + g²·(1 − ρ) (4); u = √(accum_update + ε)·rsqrt(accum + ε)·g (4, √,
    # rsqrt); var −= u·lr (2); accum_update = accum_update·ρ + u²·(1 − ρ) (4)
    "Adadelta": (14, 2),
    # m = m·β + g·(1 − β) (3); s = sign(g)·sign(m) (1, 2 signs);
    # var −= lr·(α + decay·s)·g (5)
    "AddSign": (9, 2),
    # m (3); s (1, 2 signs); scale = exp(logbase·decay·s) (1, exp); var −= lr·scale·g (3)
    "PowerSign": (8, 3),
}
# Where each update's gradient is among its inputs (TensorFlow's op definitions).
_GRAD_INPUT = {
    "GradientDescent": 2,
    "Momentum": 3,
    "KerasMomentum": 3,
    "Adam": 9,
    "AdamWithAmsgrad": 10,
    "AdaMax": 8,
    "RMSProp": 7,
    "CenteredRMSProp": 8,
    "Adagrad": 3,
    "AdagradV2": 4,
    "Adadelta": 6,
    "AddSign": 6,
    "PowerSign": 6,
}
# The sparse twins TensorFlow has (no SparseApplyAdam, AdaMax, AddSign, PowerSign).
_SPARSE = frozenset(
    {"Momentum", "KerasMomentum", "RMSProp", "CenteredRMSProp", "Adagrad", "AdagradV2", "Adadelta"}
)
# TensorFlow has these only as resource ops.
_RESOURCE_ONLY = frozenset({"KerasMomentum", "AdamWithAmsgrad"})


# How the options change the per-element count: use_nesterov adds 3 arithmetic ops
# (Momentum: var −= g·lr + accum·μ·lr, 5 not 2; KerasMomentum: var += accum·μ − g·lr, 4
# not 1; Adam: var −= (g·(1 − β₁) + β₁·m)·α / (√v + ε), 7 not 4); Adagrad without
# update_slots leaves its accumulator alone (2 fewer).
_NESTEROV = 3
_NO_SLOT_UPDATE = -2


def _update(name: str):
    """The formula of one optimizer's update: its per-element counts times N(grad)."""
    arith, other = _UPDATES[name]
    grad = _GRAD_INPUT[name]

    def formula(v: OpView) -> Cost:
        n = v.n_in(grad)
        per_element = arith
        if v.attr("use_nesterov", False):
            per_element += _NESTEROV
        if not v.attr("update_slots", True):
            per_element += _NO_SLOT_UPDATE
        return Cost(arith=per_element * n, other=other * n)

    terms = " + ".join(
        f"{count} {kind}" for count, kind in ((arith, "arithmetic"), (other, "other")) if count
    )
    options = {"Momentum", "KerasMomentum", "Adam"}
    variant = f" ({_NESTEROV} more with use_nesterov)" if name in options else ""
    if name.startswith("Adagrad"):
        variant = f" ({-_NO_SLOT_UPDATE} fewer without update_slots)"
    formula.__doc__ = f"{name}: {terms} per gradient element{variant}; tf.profiler has no formula."
    return formula


def _register_updates() -> None:
    """Every optimizer's ops: reference variables' (returning the variable), resource
    variables' (no outputs), and their sparse twins where TensorFlow has them."""
    for name in _UPDATES:
        formula = _update(name)
        ref = [] if name in _RESOURCE_ONLY else [f"Apply{name}"]
        resource = [f"ResourceApply{name}"]
        if name in _SPARSE:
            ref += [] if name in _RESOURCE_ONLY else [f"SparseApply{name}"]
            resource.append(f"ResourceSparseApply{name}")
        if ref:
            register(*ref, shape=same_as_input, cost=formula)
        register(*resource, shape=no_outputs, cost=formula)


_register_updates()
