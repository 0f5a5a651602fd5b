"""An index over a GraphDef: nodes by name, their data and control inputs, consumers."""

from __future__ import annotations

from typing import NamedTuple

from tfflops import proto
from tfflops.errors import TfflopsError


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

    ``inputs[name]`` are the data inputs (TensorRef), ``control_inputs[name]`` the
    ``^name`` ones, ``consumers[name]`` every node that reads ``name`` by either kind
    of edge. A reference to a node that does not exist is a TfflopsError.
    """

    def __init__(self, graph_def: proto.GraphDef, source: str = "<graph>"):
        self.graph_def = graph_def
        self.source = source
        self.nodes: dict[str, proto.NodeDef] = {}
        self.ops: dict[str, str] = {}
        self.inputs: dict[str, list[TensorRef]] = {}
        self.control_inputs: dict[str, list[str]] = {}
        self.consumers: dict[str, list[str]] = {}
        # One pass over the protobuf (each field read creates a new Python object).
        raw_inputs = []
        for node in graph_def.node:
            name = node.name
            self.nodes[name] = node
            self.ops[name] = node.op
            self.consumers[name] = []
            raw_inputs.append((name, list(node.input)))
        consumers = self.consumers
        for name, raws in raw_inputs:
            data, control = [], []
            for raw in raws:
                if raw[0] == "^":
                    ref_name = raw[1:]
                    control.append(ref_name)
                else:
                    ref = TensorRef(raw, 0) if ":" not in raw else parse_tensor_name(raw)
                    ref_name = ref.node
                    data.append(ref)
                readers = consumers.get(ref_name)
                if readers is None:
                    raise TfflopsError(
                        f"{source}: node {name!r} reads {raw!r}, which is not in the graph"
                    )
                readers.append(name)
            self.inputs[name] = data
            self.control_inputs[name] = control

    def __len__(self) -> int:
        return len(self.nodes)

    def topological_order(self) -> list[str]:
        """Node names, every node after all its inputs (Kahn; NextIteration back edges cut)."""
        ops = self.ops
        pending = {}
        for name in self.nodes:
            preds = len(self.inputs[name]) + len(self.control_inputs[name])
            if ops[name] in _MERGE_OPS:
                preds -= sum(1 for p in self._all_inputs(name) if ops[p] in _BACK_EDGE_OPS)
            pending[name] = preds
        ready = [name for name, count in pending.items() if count == 0]
        order = []
        consumers = self.consumers
        while ready:
            name = ready.pop()
            order.append(name)
            back_edge = ops[name] in _BACK_EDGE_OPS
            for consumer in consumers[name]:
                if back_edge and ops[consumer] in _MERGE_OPS:
                    continue
                pending[consumer] -= 1
                if pending[consumer] == 0:
                    ready.append(consumer)
        if len(order) != len(self.nodes):
            stuck = sorted(set(self.nodes) - set(order))[:3]
            raise TfflopsError(f"{self.source}: the graph has a cycle through {stuck}")
        return order

    def _all_inputs(self, name: str) -> list[str]:
        return [ref.node for ref in self.inputs[name]] + self.control_inputs[name]


# A while loop's Merge reads its NextIteration: the one legal cycle in a GraphDef.
_MERGE_OPS = frozenset({"Merge", "RefMerge"})
_BACK_EDGE_OPS = frozenset({"NextIteration", "RefNextIteration"})
