"""An index over a GraphDef: nodes by name, their data and control inputs, consumers."""

from __future__ import annotations

from dataclasses import dataclass

from tfflops import proto
from tfflops.errors import TfflopsError


@dataclass(frozen=True, slots=True)
class TensorRef:
    """Output ``index`` of node ``node``."""

    node: str
    index: int

    def __str__(self) -> str:
        return self.node if self.index == 0 else f"{self.node}:{self.index}"


def parse_tensor_name(name: str) -> TensorRef:
    """``"a"`` → a:0, ``"a:2"`` → a:2 (also accepts the ``"a:0"`` form users type)."""
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
        self.nodes: dict[str, proto.NodeDef] = {n.name: n for n in graph_def.node}
        self.inputs: dict[str, list[TensorRef]] = {}
        self.control_inputs: dict[str, list[str]] = {}
        self.consumers: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in graph_def.node:
            data, control = [], []
            for raw in node.input:
                if raw.startswith("^"):
                    ref_name = raw[1:]
                    control.append(ref_name)
                else:
                    ref = parse_tensor_name(raw)
                    ref_name = ref.node
                    data.append(ref)
                if ref_name not in self.nodes:
                    raise TfflopsError(
                        f"{source}: node {node.name!r} reads {raw!r}, which is not in the graph"
                    )
                self.consumers[ref_name].append(node.name)
            self.inputs[node.name] = data
            self.control_inputs[node.name] = control

    def __len__(self) -> int:
        return len(self.nodes)

    def topological_order(self) -> list[str]:
        """Node names, every node after all its inputs (Kahn; NextIteration back edges cut)."""
        pending = {}
        for name, node in self.nodes.items():
            preds = self._predecessors(name, node)
            pending[name] = len(preds)
        ready = [name for name, count in pending.items() if count == 0]
        order = []
        while ready:
            name = ready.pop()
            order.append(name)
            for consumer in self.consumers[name]:
                if self.nodes[consumer].op in _MERGE_OPS and self.nodes[name].op in _BACK_EDGE_OPS:
                    continue
                pending[consumer] -= 1
                if pending[consumer] == 0:
                    ready.append(consumer)
        if len(order) != len(self.nodes):
            stuck = sorted(set(self.nodes) - set(order))[:3]
            raise TfflopsError(f"{self.source}: the graph has a cycle through {stuck}")
        return order

    def _predecessors(self, name: str, node: proto.NodeDef) -> list[str]:
        preds = [ref.node for ref in self.inputs[name]] + self.control_inputs[name]
        if node.op in _MERGE_OPS:
            preds = [p for p in preds if self.nodes[p].op not in _BACK_EDGE_OPS]
        return preds


# A while loop's Merge reads its NextIteration: the one legal cycle in a GraphDef.
_MERGE_OPS = frozenset({"Merge", "RefMerge"})
_BACK_EDGE_OPS = frozenset({"NextIteration", "RefNextIteration"})
