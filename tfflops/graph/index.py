"""An index over a GraphDef: nodes numbered in GraphDef order, their edges parsed once.

The pipeline walks nodes by number (``names[i]``, ``ops[i]``...), never by name: list
indexing keeps a walk near the nodes it just visited, where name-keyed dicts scatter every
lookup over the whole graph (on a 100k-node graph that alone makes a pass 1.5× slower per
node than on a 10k-node one). Name-keyed views (``nodes``, ``ops``, ``inputs``, ...) are
built on first use for the code that thinks in names.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import BACK_EDGE_OPS, MERGE_OPS


class TensorRef(NamedTuple):
    """Output ``index`` of node ``node``."""

    node: str
    index: int

    def __str__(self) -> str:
        return self.node if self.index == 0 else f"{self.node}:{self.index}"


def parse_tensor_name(name: str) -> TensorRef:
    """``"a"`` → a:0, ``"a:2"`` → a:2 (also accepts the ``"a:0"`` form users type)."""
    if ":" not in name:
        return TensorRef(name, 0)
    base, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return TensorRef(base, int(index))
    return TensorRef(name, 0)


class Graph:
    """A GraphDef with its edges parsed once.

    By node number ``i`` (GraphDef order): ``names[i]``, ``op_list[i]``, ``defs[i]`` (the
    NodeDef), ``data_in[i]`` (the data inputs as ``(node number, output index)``),
    ``control_in[i]`` and ``readers[i]`` (every node reading ``i`` by either kind of edge,
    once per edge); ``index[name]`` is a node's number.

    By name: ``nodes``, ``ops``, ``inputs`` (TensorRef), ``control_inputs`` and
    ``consumers``. A reference to a node that does not exist, or a name used twice, is a
    TfflopsError.
    """

    def __init__(self, graph_def: proto.GraphDef, source: str = "<graph>"):
        self.graph_def = graph_def
        self.source = source
        # One pass over the protobuf (each field read creates a new Python object), which
        # resolves the inputs of nodes listed after their producers, as most are; the rest
        # once every name is known.
        defs: list[proto.NodeDef] = []
        names: list[str] = []
        op_list: list[str] = []
        data_in: list[list[tuple[int, int]]] = []
        control_in: list[tuple[int, ...]] = []
        index: dict[str, int] = {}
        interned: dict[str, str] = {}
        later: list[tuple[int, list[str]]] = []
        no_control: tuple[int, ...] = ()
        for i, node in enumerate(graph_def.node):
            name, op = node.name, node.op
            if name in index:
                raise TfflopsError(f"{source}: node {name!r} appears twice")
            defs.append(node)
            names.append(name)
            op_list.append(interned.setdefault(op, op))
            data, control = [], no_control
            for raw in node.input:  # names seen so far: a node reading itself is resolved later
                if ":" not in raw and (j := index.get(raw)) is not None:
                    data.append((j, 0))
                    continue
                if raw.startswith("^"):
                    if (j := index.get(raw[1:])) is not None:
                        control = (*control, j)
                        continue
                elif (j := index.get((ref := parse_tensor_name(raw)).node)) is not None:
                    data.append((j, ref.index))
                    continue
                later.append((i, list(node.input)))  # not known yet, or not at all
                break
            index[name] = i
            data_in.append(data)
            control_in.append(control)
        for i, raws in later:
            data_in[i], control_in[i] = self._resolve(names[i], raws, index, source)
        # Every node after its inputs, as TensorFlow writes a GraphDef: the order is
        # topological as it stands.
        self.in_order = not later
        readers: list[list[int]] = [[] for _ in names]
        for i, (data, control) in enumerate(zip(data_in, control_in, strict=True)):
            for j, _ in data:
                readers[j].append(i)
            for j in control:
                readers[j].append(i)
        self.defs = defs
        self.names = names
        self.index = index
        self.op_list = op_list
        self.data_in = data_in
        self.control_in = control_in
        self.readers = readers

    @staticmethod
    def _resolve(name: str, raws: list[str], index: dict[str, int], source: str):
        data, control = [], []
        for raw in raws:
            control_edge = raw.startswith("^")
            ref = TensorRef(raw[1:], 0) if control_edge else parse_tensor_name(raw)
            j = index.get(ref.node)
            if j is None:
                raise TfflopsError(
                    f"{source}: node {name!r} reads {raw!r}, which is not in the graph"
                )
            if control_edge:
                control.append(j)
            else:
                data.append((j, ref.index))
        return data, tuple(control)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.index

    # ------------------------------------------------------------ views by name

    @cached_property
    def nodes(self) -> dict[str, proto.NodeDef]:
        return dict(zip(self.names, self.defs, strict=True))

    @cached_property
    def ops(self) -> dict[str, str]:
        return dict(zip(self.names, self.op_list, strict=True))

    @cached_property
    def inputs(self) -> dict[str, list[TensorRef]]:
        names = self.names
        return {
            name: [TensorRef(names[j], k) for j, k in data]
            for name, data in zip(names, self.data_in, strict=True)
        }

    @cached_property
    def control_inputs(self) -> dict[str, list[str]]:
        names = self.names
        return {
            name: [names[j] for j in control]
            for name, control in zip(names, self.control_in, strict=True)
        }

    @cached_property
    def consumers(self) -> dict[str, list[str]]:
        names = self.names
        return {name: [names[j] for j in r] for name, r in zip(names, self.readers, strict=True)}

    # ------------------------------------------------------------ order

    def topological_ids(self) -> list[int]:
        """Node numbers, every node after all its inputs (Kahn; NextIteration back edges cut)."""
        if self.in_order:
            return list(range(len(self.names)))
        ops, data_in, control_in = self.op_list, self.data_in, self.control_in
        readers = self.readers
        pending = [len(d) + len(c) for d, c in zip(data_in, control_in, strict=True)]
        for i, op in enumerate(ops):
            if op in MERGE_OPS:
                back = [j for j, _ in data_in[i] if ops[j] in BACK_EDGE_OPS]
                back += [j for j in control_in[i] if ops[j] in BACK_EDGE_OPS]
                pending[i] -= len(back)
        ready = [i for i, count in enumerate(pending) if count == 0]
        order = []
        while ready:
            i = ready.pop()
            order.append(i)
            back_edge = ops[i] in BACK_EDGE_OPS
            for j in readers[i]:
                if back_edge and ops[j] in MERGE_OPS:
                    continue
                pending[j] -= 1
                if pending[j] == 0:
                    ready.append(j)
        if len(order) != len(ops):
            done = set(order)
            stuck = sorted(n for i, n in enumerate(self.names) if i not in done)[:3]
            raise TfflopsError(f"{self.source}: the graph has a cycle through {stuck}")
        return order

    def topological_order(self) -> list[str]:
        """Node names, every node after all its inputs (Kahn; NextIteration back edges cut)."""
        names = self.names
        return [names[i] for i in self.topological_ids()]
