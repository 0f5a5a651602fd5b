"""scripts/bench: its children run the checkout they are given (--baseline DIR)."""

import importlib.machinery
import importlib.util
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench_in(repo: Path, monkeypatch):
    """scripts/bench loaded as a module of a copy at ``repo`` (its .venv: this Python's,
    so that it does not re-exec itself)."""
    (repo / "scripts").mkdir()
    script = repo / "scripts" / "bench"
    shutil.copy(ROOT / "scripts" / "bench", script)
    (repo / ".venv").symlink_to(sys.prefix)
    loader = importlib.machinery.SourceFileLoader("bench_under_test", str(script))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    monkeypatch.setitem(sys.modules, loader.name, module)  # (its dataclasses look there)
    loader.exec_module(module)
    return module


def _package(folder: Path, says: str) -> None:
    """A stand-in tfflops package whose ``python -m tfflops`` prints ``says``."""
    (folder / "tfflops").mkdir(parents=True)
    (folder / "tfflops" / "__init__.py").write_text("")
    (folder / "tfflops" / "__main__.py").write_text(f"print({says!r})\n")


def test_a_baseline_child_runs_the_baseline_not_this_checkout(tmp_path, monkeypatch):
    """``python -m`` and ``-c`` put the working folder first on sys.path, ahead of
    PYTHONPATH: run from this checkout, b0/c0 timed this version against itself."""
    repo, baseline = tmp_path / "repo", tmp_path / "baseline"
    repo.mkdir()
    _package(repo, "this")
    _package(baseline, "baseline")
    bench = _bench_in(repo, monkeypatch)
    argv = [sys.executable, "-m", "tfflops"]
    assert bench.run_child(argv, "b0", baseline).stdout == "baseline\n"
    assert bench.run_child(argv, "b", repo).stdout == "this\n"
    chain = [sys.executable, "-c", "import tfflops.__main__"]  # CHAIN_CHILD's way in
    assert bench.run_child(chain, "synthetic (baseline)", baseline).stdout == "baseline\n"
