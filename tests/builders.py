"""Small GraphDef builders for tests (tfflops' own schema, no TensorFlow)."""

from tfflops.graph import proto

DT_FLOAT = proto.DATA_TYPES["DT_FLOAT"]
DT_INT32 = proto.DATA_TYPES["DT_INT32"]


def placeholder(g, name, shape, dtype=DT_FLOAT):
    """A Placeholder of ``shape`` (a scalar's is rank 0); None or -1 is an unknown dim."""
    n = g.node.add(name=name, op="Placeholder")
    n.attr["dtype"].type = dtype
    n.attr["shape"].shape.SetInParent()
    for d in shape:
        n.attr["shape"].shape.dim.add(size=-1 if d is None else d)
    return name


def weights(g, name, shape, dtype=DT_FLOAT):
    """A Const of ``shape``, every element 0.5 (float) or 1 (another dtype)."""
    n = g.node.add(name=name, op="Const")
    n.attr["dtype"].type = dtype
    t = n.attr["value"].tensor
    t.dtype = dtype
    for d in shape:
        t.tensor_shape.dim.add(size=d)
    if dtype == DT_FLOAT:
        t.float_val.append(0.5)
    else:
        t.int_val.append(1)
    return name


def ints(g, name, values):
    """An int32 vector Const."""
    n = g.node.add(name=name, op="Const")
    n.attr["dtype"].type = DT_INT32
    t = n.attr["value"].tensor
    t.dtype = DT_INT32
    t.tensor_shape.dim.add(size=len(values))
    t.int_val.extend(values)
    return name


def op(g, name, op_type, inputs, **attrs):
    """A float op node; attrs: str → s, list of int → list.i, list of str → list.s."""
    n = g.node.add(name=name, op=op_type)
    n.input.extend(inputs)
    n.attr["T"].type = DT_FLOAT
    for key, value in attrs.items():
        if isinstance(value, str):
            n.attr[key].s = value.encode()
        elif value and isinstance(value[0], str):
            n.attr[key].list.s.extend(v.encode() for v in value)
        else:
            n.attr[key].list.i.extend(value)
    return name
