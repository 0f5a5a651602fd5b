"""The package's layers (docs/architecture.md), checked over every import in the source.

cli → reports → pipelines → tf → {analysis | freeze} → graph → base: a module imports its
own package or a lower layer, never a higher one and never the sibling layer, and no
module imports itself back through others — function-level imports included, so a lazy
import cannot hide a cycle. Only ``tfflops.tf`` imports TensorFlow or Keras; no module
has more than MAX_LINES lines.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tfflops"

# Layer of each top-level part of the package; equal numbers may not import each other.
LAYERS = {
    "errors": 0,
    "version": 0,
    "files": 1,
    "numbers": 1,
    "graph": 2,
    "analysis": 3,
    "freeze": 3,
    "tf": 4,
    "pipelines": 5,
    "reports": 6,
    "arguments": 7,
    "cli": 8,
    "__init__": 9,
    "__main__": 10,
}
TENSORFLOW = ("tensorflow", "keras", "tf_keras")
MAX_LINES = 650


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, wherever it stands."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append((node.lineno, base))
            # `from tfflops.graph import proto` imports the module tfflops.graph.proto
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _edges() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        targets = {target for _, target in _imports(path) if target in MODULES}
        edges[name] = targets - {name}
    return edges


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _wrong_imports(own: str, imports: list[tuple[int, str]]) -> list[str]:
    """The imports of a module in part ``own`` that go up or sideways."""
    wrong = []
    for line, target in imports:
        if target not in MODULES:
            if target.split(".")[0] in TENSORFLOW and own != "tf":
                wrong.append(f"line {line}: {target} (only tfflops.tf imports TensorFlow)")
            continue
        other = _part(target) if not target.endswith("__main__") else "__main__"
        if other == own:
            continue
        if LAYERS[other] >= LAYERS[own]:
            wrong.append(f"line {line}: {target} ({other} is not below {own})")
    return wrong


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    path = MODULES[module]
    own = _part(module) if path.name != "__main__.py" else "__main__"
    assert own in LAYERS, f"{module}: not in a layer of docs/architecture.md"
    assert _wrong_imports(own, _imports(path)) == []


def test_no_import_cycles():
    edges = _edges()
    # Tarjan's strongly connected components, iteratively.
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert cycles == []


def test_modules_stay_small():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_rule_can_fail():
    # freeze importing analysis is sideways, graph importing pipelines upward, and
    # TensorFlow outside tfflops.tf is refused.
    assert _wrong_imports("freeze", [(1, "tfflops.analysis.counter")]) == [
        "line 1: tfflops.analysis.counter (analysis is not below freeze)"
    ]
    assert _wrong_imports("graph", [(2, "tfflops.pipelines.open")]) == [
        "line 2: tfflops.pipelines.open (pipelines is not below graph)"
    ]
    assert _wrong_imports("analysis", [(3, "tensorflow")]) == [
        "line 3: tensorflow (only tfflops.tf imports TensorFlow)"
    ]
    assert _wrong_imports("tf", [(4, "tensorflow"), (5, "tfflops.graph.index")]) == []
