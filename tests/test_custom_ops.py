"""Custom ops: ``tfflops.register_op`` and ``--formulas FILE.py``.

A custom formula counts like a built-in one; it never replaces a built-in one silently; a
formula that fails or returns garbage leaves its node unsupported, with the reason; a
formulas file runs only when named on the command line — never from pyproject.toml — and
its errors are one line naming it.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from builders import op, placeholder, weights

import tfflops
from tfflops.analysis.ops import OPS, REGISTRY
from tfflops.analysis.ops.custom import CUSTOM
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.pipelines import formulas
from tfflops.pipelines.check import measurement_of


@pytest.fixture(autouse=True)
def clean_table():
    """Every test leaves the op table as it found it."""
    yield
    for name in list(CUSTOM):
        tfflops.unregister_op(name)
    formulas._loaded.clear()


def swish_graph(declared: bool = False) -> proto.GraphDef:
    """x [2,8] @ w [8,4] → MySwish, an op neither TensorFlow nor tfflops knows."""
    g = proto.GraphDef()
    placeholder(g, "x", (2, 8))
    weights(g, "w", (8, 4))
    op(g, "mm", "MatMul", ["x", "w"])
    swish = g.node.add(name="sw", op="MySwish", input=["mm"])
    if declared:  # what exporters record: the output's shape
        shape = swish.attr["_output_shapes"].list.shape.add()
        for d in (2, 4):
            shape.dim.add(size=d)
    return g


def same_shape(c: tfflops.ShapeCtx) -> list[tfflops.TensorInfo]:
    return [c.ins[0]]


def swish(v: tfflops.OpView) -> tfflops.Cost:
    """x·sigmoid(x): a sigmoid and a multiply per element."""
    n = v.n_out()
    return tfflops.Cost(arith=n, other=n)


def full(g) -> tfflops.Profile:
    return tfflops.profile(g, outputs=["sw"], convention="full", tfprof=False)


def test_a_custom_op_counts_like_a_built_in_one():
    tfflops.register_op("MySwish", shape=same_shape, cost=swish)
    p = full(swish_graph())
    # MatMul 2·8·8 = 128; MySwish 8 elements · (1 + 1)
    assert {r.name: p.flops_of(r) for r in p.rows if r.op != "Placeholder"} == {
        "w": 0,
        "mm": 128,
        "sw": 16,
    }
    assert p.rows[-1].output_shapes == [[2, 4]]
    assert "counted by custom formulas: MySwish ×1 (register_op)" in p.notes
    assert p.unsupported_ops == {}


def test_without_a_shape_function_the_declared_shapes_are_used():
    tfflops.register_op("MySwish", cost=swish)
    assert full(swish_graph(declared=True)).totals["flops"] == 144  # 128 + 16
    p = full(swish_graph(declared=False))  # nothing declared: not counted, and said so
    (row,) = [r for r in p.rows if r.name == "sw"]
    assert row.cost is None and p.unsupported_ops == {"MySwish": 1}


def test_a_built_in_formula_is_never_replaced_silently():
    conv = REGISTRY["Conv2D"]
    with pytest.raises(tfflops.TfflopsError, match=r"register_op\('Conv2D'\): already in"):
        tfflops.register_op("Conv2D", cost=swish)
    assert REGISTRY["Conv2D"] is conv
    one_mac = lambda v: tfflops.Cost(macs=1, mac_outputs=1)  # noqa: E731
    tfflops.register_op("MatMul", shape=same_shape, cost=one_mac, replace=True)
    p = full(swish_graph())
    assert "the built-in formula of MatMul is replaced by a custom one (register_op)" in p.notes
    assert p.flops_of(p.rows[2]) == 2  # mm by the custom formula: 1 MAC, 2 FLOPs
    tfflops.unregister_op("MatMul")  # the built-in one is back
    assert OPS["MatMul"].cost is REGISTRY["MatMul"] and REGISTRY["MatMul"].__name__ == "matmul"


def test_a_custom_op_registered_twice_needs_replace():
    tfflops.register_op("MySwish", shape=same_shape, cost=swish)
    with pytest.raises(tfflops.TfflopsError, match="already in the op table \\(register_op\\)"):
        tfflops.register_op("MySwish", cost=swish)
    tfflops.register_op("MySwish", cost="zero", replace=True)
    assert CUSTOM["MySwish"].replaced is None  # it replaced no built-in formula


@pytest.mark.parametrize(
    "name, shape, cost, message",
    [
        ("My Op", None, swish, "not an op name"),
        ("", None, swish, "not an op name"),
        ("MyOp", None, None, "cost must be a function, or 'zero'"),
        ("MyOp", "same", swish, "shape must be a function or None"),
    ],
)
def test_bad_registrations_are_refused(name, shape, cost, message):
    with pytest.raises(tfflops.TfflopsError, match=message):
        tfflops.register_op(name, shape=shape, cost=cost)
    assert "MyOp" not in OPS


def raises(v):
    raise ValueError("no such attribute")


@pytest.mark.parametrize(
    "formula, reason",
    [
        (raises, "raised ValueError: no such attribute"),
        (lambda v: 7, "returned a int, not a Cost"),
        (lambda v: tfflops.Cost(arith=-1), "returned arith=-1, a negative count"),
        (lambda v: tfflops.Cost(macs=1.5), "returned macs=1.5, a float, not a Python int"),
        (lambda v: tfflops.Cost(other=np.int64(3)), "other=np.int64(3), a int64, not a Python int"),
        (lambda v: tfflops.Cost(arith=True), "arith=True, a bool, not a Python int"),
    ],
)
def test_a_failing_formula_leaves_its_node_unsupported_with_the_reason(formula, reason):
    tfflops.register_op("MySwish", shape=same_shape, cost=formula)
    p = full(swish_graph())
    record = p.node_records()[-1]
    assert record["status"] == "unsupported" and reason in record["note"]
    assert p.totals["flops"] == 128  # the MatMul alone
    assert p.unsupported_ops == {"MySwish": 1}
    assert any(n.startswith("1 node(s) of custom ops not counted, e.g. sw: ") for n in p.notes)
    assert measurement_of(p).findings["unsupported"] == ("sw",)  # check --fail-on unsupported


@pytest.mark.parametrize(
    "shape, reason",
    [
        (raises, "custom shape function for MySwish raised ValueError: no such attribute"),
        (lambda c: c.ins[0], "custom shape function for MySwish returned a TensorInfo, not a list"),
        (
            lambda c: [tfflops.TensorInfo((2, -4), 1)],
            "output 0: shape (2, -4) (dimensions are ints ≥ 0 or None)",
        ),
    ],
)
def test_a_failing_shape_function_leaves_the_shapes_unknown_with_the_reason(shape, reason):
    tfflops.register_op("MySwish", shape=shape, cost=swish)
    p = full(swish_graph())
    record = p.node_records()[-1]
    assert record["status"] == "unsupported" and reason in record["note"]
    assert p.unsupported_ops == {"MySwish": 1}


# ---------------------------------------------------------------- --formulas FILE.py

FORMULAS = '''
import tfflops

def same_shape(c):
    return [c.ins[0]]

def swish(v):
    """x·sigmoid(x): 1 + 1 per element."""
    n = v.n_out()
    return tfflops.Cost(arith=n, other=n)

tfflops.register_op("MySwish", shape=same_shape, cost=swish)
'''


@pytest.fixture
def model(tmp_path) -> str:
    path = tmp_path / "model.pb"
    path.write_bytes(swish_graph().SerializeToString())
    return str(path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_formulas_file_counts_the_custom_op(tmp_path, model, capsys):
    (tmp_path / "swish.py").write_text(FORMULAS)
    code, out, _ = run(
        capsys,
        "profile",
        model,
        "--formulas",
        tmp_path / "swish.py",
        "--convention",
        "full",
        "--no-tfprof",
    )
    assert code == 0
    assert "  FLOPs (full)       144\n" in out  # 128 + 16
    assert "counted by custom formulas: MySwish ×1 (swish.py)" in out
    code, out, _ = run(capsys, "ops", "--formulas", tmp_path / "swish.py")
    assert "MySwish\n    x·sigmoid(x): 1 + 1 per element. [custom: swish.py]\n" in out


def test_check_workers_import_the_formulas_too(tmp_path, model, capsys):
    (tmp_path / "swish.py").write_text(FORMULAS)
    other = tmp_path / "other.pb"
    other.write_bytes(Path(model).read_bytes())
    code, out, err = run(
        capsys,
        "check",
        model,
        other,
        "--formulas",
        tmp_path / "swish.py",
        "--jobs",
        "2",
        "--convention",
        "full",
        "--max-flops",
        "144",
        "--fail-on",
        "unsupported",
        "--no-tfprof",
    )
    assert code == 0, out + err
    assert out.count("PASS") == 2


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("syntax.py", "import tfflops\ndef f(:\n", "syntax.py: line 2: invalid syntax"),
        (
            "raises.py",
            "import tfflops\nx = 1\nx / 0\n",
            "raises.py: line 3: ZeroDivisionError while importing it: division by zero",
        ),
        ("nothing.py", "x = 1\n", "nothing.py: registers no op (call tfflops.register_op in it)"),
        (
            "builtin.py",
            "import tfflops\ntfflops.register_op('Conv2D', cost='zero')\n",
            "builtin.py: line 2: register_op('Conv2D'): already in the op table (a built-in "
            "formula); register_op(..., replace=True) replaces it",
        ),
        (
            "exits.py",
            "import sys\nsys.exit(3)\n",
            "exits.py: line 2: SystemExit while importing it: 3",
        ),
        ("notes.txt", FORMULAS, "notes.txt: not a .py file"),
        ("missing.py", None, "missing.py: cannot read: No such file or directory"),
    ],
)
def test_a_bad_formulas_file_is_one_line_naming_it(tmp_path, model, capsys, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    code, out, err = run(capsys, "profile", model, "--formulas", path, "--no-tfprof")
    assert (code, out) == (2, "")
    assert err == f"tfflops: error: --formulas {path.parent / message}\n"


def test_a_formulas_file_that_fails_half_way_registers_nothing(tmp_path, model, capsys):
    path = tmp_path / "half.py"
    path.write_text(FORMULAS + "raise RuntimeError('half way')\n")
    code, _, err = run(capsys, "profile", model, "--formulas", path, "--no-tfprof")
    assert code == 2 and "RuntimeError while importing it: half way" in err
    assert "MySwish" not in OPS


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_formulas_path_that_is_no_regular_file_is_refused(tmp_path, model, capsys, kind):
    path = tmp_path / "formulas.py"
    if kind == "fifo":
        os.mkfifo(path)  # opening it to read would wait for a writer
    else:
        path.mkdir()
    code, _, err = run(capsys, "profile", model, "--formulas", path, "--no-tfprof")
    assert code == 2 and err.startswith(f"tfflops: error: --formulas {path}: ")
    assert "not a regular file" in err or "Is a directory" in err


def test_a_formulas_file_runs_once_per_process(tmp_path):
    path = tmp_path / "swish.py"
    path.write_text(FORMULAS)
    assert formulas.load_formulas([path, path]) == ["MySwish", "MySwish"]  # not run twice


@pytest.mark.parametrize("how", ["found", "--config"])
def test_formulas_are_never_taken_from_a_project_file(tmp_path, model, capsys, monkeypatch, how):
    # A pull request's pyproject.toml naming its own Python file: refused, never run.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    marker = tmp_path / "ran"
    (repo / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (repo / "pyproject.toml").write_text('[tool.tfflops]\nformulas = "evil.py"\n')
    monkeypatch.chdir(repo)
    config = ["--config", repo / "pyproject.toml"] if how == "--config" else []
    code, out, err = run(capsys, "profile", model, "--no-tfprof", *config)
    assert (code, out) == (2, "")
    assert err == (
        f"tfflops: error: {repo / 'pyproject.toml'}: [tool.tfflops] formulas: not a setting "
        "(it imports and runs that Python file: name it with --formulas on the command line)\n"
    )
    assert not marker.exists()
