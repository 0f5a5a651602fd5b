"""Worker isolation: an item that hangs, dies or runs out of memory is its own failure;
every other item is still done, and the run ends."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import DT_FLOAT, placeholder
from conftest import SAMPLES

from tfflops.cli import main
from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.pipelines.workers import Failure, run_isolated

# ---------------------------------------------------------------- items (run in workers)


def _work(item: str):
    """What each item does in its worker: a value, or one way of going wrong."""
    if item.startswith("ok"):
        return len(item)
    if item == "hang":
        time.sleep(3600)
    if item == "memory":
        raise MemoryError
    if item == "exit":
        os._exit(3)
    if item == "killed":  # as the OOM killer does
        os.kill(os.getpid(), signal.SIGKILL)
    if item == "refused":
        raise TfflopsError("refused: not a model")
    if item == "recursion":
        raise RecursionError
    raise KeyError(item)  # a bug


EXPECTED = {
    "ok-a": 4,  # len("ok-a")
    "hang": "hang: still running after the 2 s time limit (`timeout`); stopped",
    "memory": "memory: out of memory",
    "exit": "exit: its worker process died (exit code 3)",
    "killed": "killed: its worker process was killed by SIGKILL (out of memory?)",
    "refused": "refused: not a model",
    "recursion": "recursion: nested too deeply to follow (RecursionError)",
    "bug": "bug: internal error: KeyError: 'bug'",
    "ok-bb": 5,  # len("ok-bb")
}


@pytest.mark.parametrize("jobs", [1, 3])
def test_every_item_gets_its_result_or_its_failure(jobs):
    items = list(EXPECTED)
    told = []
    results = run_isolated(_work, items, jobs, timeout=2, progress=lambda *a: told.append(a))
    got = [r.message if isinstance(r, Failure) else r for r in results]
    assert got == list(EXPECTED.values())
    # progress once per item, in input order, whatever order they ended in
    assert told == [(k, len(items), r) for k, r in enumerate(results, 1)]


def _pid(item: str) -> int:
    return os.getpid()


def test_no_more_workers_than_cpus(monkeypatch):
    # `jobs = 100000` (a pull request's pyproject.toml may say so) over 8 models: 2 CPUs,
    # 2 workers, each reused, not a process per model.
    monkeypatch.setattr("tfflops.pipelines.workers._cpus", lambda: 2)
    pids = run_isolated(_pid, [f"ok-{k}" for k in range(8)], jobs=100_000, timeout=60)
    assert len(set(pids)) == 2


# ---------------------------------------------------------------- through check


def _chain(nodes: int) -> proto.GraphDef:
    """x → Relu → Relu → ...: ``nodes`` nodes, each counted."""
    g = proto.GraphDef()
    placeholder(g, "r0", [1, 64])
    for i in range(1, nodes):
        g.node.add(name=f"r{i}", op="Relu", input=[f"r{i - 1}"]).attr["T"].type = DT_FLOAT
    return g


def test_check_reports_a_model_over_the_timeout_and_every_other(capsys, tmp_path):
    shutil.copy(SAMPLES / "conv_bias.pb", tmp_path / "a.pb")
    # 30,000 nodes take a good 0.1 s to count, 100 times the limit.
    (tmp_path / "b.pb").write_bytes(_chain(30_000).SerializeToString())
    shutil.copy(SAMPLES / "conv_bias.pb", tmp_path / "c.pb")
    argv = ["check", str(tmp_path), "--no-tfprof", "--max-flops", "1G", "--timeout", "0.001"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    limit = "still running after the 0.001 s time limit (--timeout); stopped"
    # Every model has its line; whether a and c also ran over 1 ms depends on the machine.
    lines = [line.split()[:3] for line in out.splitlines() if not line.startswith(" ")][:-1]
    assert [path for _, _, path in lines] == [f"{tmp_path}/{m}.pb" for m in "abc"]
    assert lines[1][:2] == ["ERROR", "[2/3]"]
    assert f"tfflops: error: {tmp_path}/b.pb: {limit}" in err.splitlines()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_timeout_must_be_a_positive_number_of_seconds(capsys, value):
    code = main(
        [
            "check",
            str(SAMPLES / "conv_bias.pb"),
            "--no-tfprof",
            "--max-flops",
            "1G",
            "--timeout",
            value,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err == f"tfflops: error: --timeout {float(value):g}: must be a positive number of seconds\n"
    )


def test_a_worker_ends_when_its_parent_is_killed(tmp_path):
    """A parent SIGKILLed mid-run (a CI job cancelled) leaves no worker running its model
    on: a hung model's worker would otherwise live forever."""
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from tfflops.pipelines.workers import run_isolated\n"
        "from test_workers import _work\n"
        "run_isolated(_work, ['hang'], 1, 3600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        workers = []
        for _ in range(600):  # the worker starts
            workers = subprocess.run(
                ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True
            ).stdout.split()
            if workers:
                break
            time.sleep(0.1)
        assert len(workers) == 1
    finally:
        parent.kill()
        parent.wait()
    worker = Path(f"/proc/{workers[0]}")
    for _ in range(600):  # it notices, within a second or so of polling
        if not worker.exists() or "State:\tZ" in (worker / "status").read_text():
            break
        time.sleep(0.1)
    assert not worker.exists() or "State:\tZ" in (worker / "status").read_text()
