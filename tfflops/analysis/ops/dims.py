"""Dimension arithmetic the shape functions and the formulas share: broadcasting, a
convolution's output size, einsum's letters, numpy-style indexing."""

from __future__ import annotations

from tfflops.analysis.ops.base import Shape, UnknownShape
from tfflops.graph.tensors import shape_text


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """Numpy broadcasting of two shapes; unknown dims broadcast like TensorFlow's."""
    if a is None or b is None:
        return None
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise UnknownShape(f"shapes {shape_text(a)} and {shape_text(b)} do not broadcast")
    return tuple(reversed(out))


# The paddings a convolution's or a pooling's ``padding`` attr may name.
_PADDINGS = frozenset({"SAME", "VALID", "EXPLICIT"})


def conv_output_size(size, kernel, stride, dilation, padding, pad_before=0, pad_after=0):
    """TensorFlow's rule: SAME ⌈In/S⌉, VALID ⌊(In − Keff)/S⌋ + 1, EXPLICIT with pads;
    a ValueError for any other padding (TensorFlow refuses the node: no size to guess)."""
    if padding not in _PADDINGS:
        raise ValueError(f"padding {padding!r}: TensorFlow accepts SAME, VALID or EXPLICIT")
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    if padding == "EXPLICIT":
        size += pad_before + pad_after
    out = (size - effective) // stride + 1
    if out < 0:
        raise ValueError(f"window {effective} larger than input {size}")
    return out


def einsum_dims(equation: str, shapes: list[tuple[int, ...]]) -> tuple[dict[str, int], str]:
    """Letter → size for an einsum equation (``...`` becomes letters ``0``-``9``)."""
    lhs, _, out_spec = equation.partition("->")
    specs = lhs.split(",")
    ell_rank = max(
        (len(s) - (len(spec) - 3) for spec, s in zip(specs, shapes) if "..." in spec), default=0
    )
    ell = "".join(str(i) for i in range(ell_rank))
    sizes: dict[str, int] = {}
    for spec, shape in zip(specs, shapes, strict=True):
        if "..." in spec:
            n = len(shape) - (len(spec) - 3)
            spec = spec.replace("...", ell[ell_rank - n :])
        for ch, d in zip(spec, shape, strict=True):
            if sizes.get(ch, 1) == 1:
                sizes[ch] = d
    out_spec = out_spec.replace("...", ell)
    return sizes, out_spec


def strided_slice_index(begin, end, strides, begin_mask, end_mask, ellipsis, new_axis, shrink):
    """StridedSlice's masks → a numpy index (the semantics are numpy's)."""
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
        bit = 1 << i
        if ellipsis & bit:
            index.append(Ellipsis)
        elif new_axis & bit:
            index.append(None)
        elif shrink & bit:
            index.append(b)
        else:
            index.append(slice(None if begin_mask & bit else b, None if end_mask & bit else e, s))
    return index


def indexed_shape(shape: tuple, index: list) -> tuple:
    """The shape numpy indexing with ``index`` gives, for a shape with unknown dims."""
    consumed = sum(1 for item in index if item is not None and item is not Ellipsis)
    out, dim = [], 0
    for item in index:
        if item is Ellipsis:
            take = len(shape) - consumed
            out.extend(shape[dim : dim + take])
            dim += take
        elif item is None:
            out.append(1)
        elif isinstance(item, int):
            dim += 1
        else:
            size = shape[dim]
            out.append(None if size is None else len(range(*item.indices(size))))
            dim += 1
    out.extend(shape[dim:])
    return tuple(out)
