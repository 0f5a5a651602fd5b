"""No output is ever a file the command reads, however spelled; no temporary file outlives
a signal; two baseline updates at once keep each other's entries."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

from tfflops.analysis.devices import builtin_devices
from tfflops.analysis.ops.custom import CUSTOM, unregister_op
from tfflops.cli import main
from tfflops.graph import proto

CONV_BIAS = SAMPLES / "conv_bias.pb"


def _digests(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (symlinks as links) → its content's digest."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _saved_model(folder: Path) -> Path:
    """A SavedModel (conv_bias as its MetaGraph, tagged serve) with a variables/ checkpoint
    whose bytes only need to exist: every command here is refused before reading them."""
    saved = proto.SavedModel()
    meta = saved.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    meta.graph_def.ParseFromString(CONV_BIAS.read_bytes())
    export = folder / "export"
    (export / "variables").mkdir(parents=True)
    (export / "saved_model.pb").write_bytes(saved.SerializeToString())
    (export / "variables" / "variables.index").write_bytes(b"index")
    (export / "variables" / "variables.data-00000-of-00001").write_bytes(b"data")
    return export


def _meta_with_checkpoint(folder: Path, prefix: str = "model") -> Path:
    meta = proto.MetaGraphDef()
    meta.graph_def.ParseFromString(CONV_BIAS.read_bytes())
    (folder / f"{prefix}.meta").write_bytes(meta.SerializeToString())
    (folder / f"{prefix}.index").write_bytes(b"index")
    (folder / f"{prefix}.data-00000-of-00001").write_bytes(b"data")
    return folder / f"{prefix}.meta"


def _baseline(folder: Path) -> Path:
    """A valid baseline for conv_bias, as --update-baseline writes it."""
    shutil.copy(CONV_BIAS, folder / "m.pb")
    assert main(["check", "m.pb", "--no-tfprof", "--baseline", "b.json", "--update-baseline"]) == 0
    return folder / "b.json"


def _setup_saved_model(tmp_path):
    _saved_model(tmp_path)
    (tmp_path / "link").symlink_to("export")  # a second spelling of the folder
    os.link(tmp_path / "export/variables/variables.index", tmp_path / "hard.txt")


def _setup_meta(tmp_path):
    _meta_with_checkpoint(tmp_path)
    (tmp_path / "ck").mkdir()
    _meta_with_checkpoint(tmp_path / "ck", "other")


def _setup_baseline(tmp_path):
    _baseline(tmp_path)
    (tmp_path / "mlink.pb").symlink_to("m.pb")
    os.link(tmp_path / "b.json", tmp_path / "bhard.json")
    (tmp_path / "sub").mkdir()


def _setup_options(tmp_path):
    """The files a command reads besides its model: the settings file it found, a device
    file, a file of formulas."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.tfflops]\nno-tfprof = true\n")
    shutil.copy(CONV_BIAS, tmp_path / "m.pb")
    (tmp_path / "dev.json").write_text(builtin_devices()["A100"].to_json())
    (tmp_path / "f.py").write_text(
        "import tfflops\ntfflops.register_op('DataLossOp', cost=lambda v: tfflops.Cost())\n"
    )


# (how the folder is set up, the command, the flag that names the protected file)
CASES = [
    (_setup_saved_model, "profile export --no-tfprof -o export/saved_model.pb", "-o"),
    (_setup_saved_model, "profile export --no-tfprof -o link/saved_model.pb", "-o"),
    (
        _setup_saved_model,
        "profile export/saved_model.pb --no-tfprof -o export/variables/../variables/"
        "variables.index",
        "-o",
    ),
    (_setup_saved_model, "profile export --no-tfprof -o hard.txt", "-o"),
    (
        _setup_saved_model,
        "compare export export --no-tfprof -o export/variables/variables.data-00000-of-00001",
        "-o",
    ),
    (_setup_saved_model, "profile export --no-tfprof --compare-freeze -o hard.txt", "-o"),
    (_setup_saved_model, "freeze export -o export/variables/variables.index", "-o"),
    (_setup_saved_model, "freeze export -o link/variables/variables.data-00000-of-00001", "-o"),
    (_setup_saved_model, "check export --no-tfprof --summary export/saved_model.pb", "--summary"),
    (_setup_saved_model, "check export --no-tfprof --junit hard.txt", "--junit"),
    (
        _setup_saved_model,
        "check export --no-tfprof --baseline link/variables/variables.index --update-baseline",
        "--baseline",
    ),
    (_setup_meta, "freeze model.meta --outputs output -o model.index", "-o"),
    (_setup_meta, "freeze model.meta --outputs output -o ./model.data-00000-of-00001", "-o"),
    (
        _setup_meta,
        "freeze model.meta --checkpoint ck/other --outputs output "
        "-o ck/../ck/other.data-00000-of-00001",
        "-o",
    ),
    (
        _setup_meta,
        "freeze model.meta --checkpoint ck/other --outputs output -o ck/other.meta",
        "-o",
    ),
    (_setup_baseline, "check m.pb --no-tfprof --baseline b.json --summary mlink.pb", "--summary"),
    (_setup_baseline, "check m.pb --no-tfprof --baseline b.json --junit bhard.json", "--junit"),
    (_setup_baseline, "check m.pb --no-tfprof --baseline b.json --junit sub/../m.pb", "--junit"),
    (_setup_saved_model, "measure export -o export/saved_model.pb", "-o"),
    (_setup_saved_model, "measure link -o hard.txt", "-o"),
    (_setup_options, "profile m.pb -o pyproject.toml", "-o"),
    (_setup_options, "check m.pb --max-flops 1T --summary ./pyproject.toml", "--summary"),
    (_setup_options, "check m.pb --baseline pyproject.toml --update-baseline", "--baseline"),
    (_setup_options, "freeze m.pb --outputs output -o pyproject.toml", "-o"),
    (_setup_options, "calibrate -o pyproject.toml", "-o"),
    (_setup_options, "profile m.pb --device dev.json -o dev.json", "-o"),
    (_setup_options, "compare m.pb m.pb --device dev.json -o sub/../dev.json", "-o"),
    (_setup_options, "check m.pb --max-flops 1T --device dev.json --junit dev.json", "--junit"),
    (_setup_options, "profile m.pb --formulas f.py -o f.py", "-o"),
]


@pytest.mark.parametrize(("setup", "command", "flag"), CASES)
def test_no_output_is_a_file_the_command_reads(capsys, tmp_path, monkeypatch, setup, command, flag):
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    capsys.readouterr()
    before = _digests(tmp_path)
    registered = set(CUSTOM)
    try:
        code = main(command.split())
    finally:  # what a --formulas file registered, taken back
        for op in set(CUSTOM) - registered:
            unregister_op(op)
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"tfflops: error: {flag} "), err
    assert "refusing to overwrite" in err and "which this command reads" in err
    assert _digests(tmp_path) == before  # nothing written, nothing replaced, no temp file


def test_a_new_file_beside_the_inputs_is_written(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _saved_model(tmp_path)
    assert main(["profile", "export", "--no-tfprof", "-o", "export/report.txt"]) == 0
    assert (tmp_path / "export/report.txt").read_text().startswith("export  →  output")


# ---------------------------------------------------------------- signals


# A child that writes a report, its write held open by a slow rename: the signal lands
# while the temporary file exists, whole.
_SLOW_WRITER = """
import os, sys, time
real_replace = os.replace

def slow_replace(src, dst):
    print("writing", flush=True)
    time.sleep(120)
    real_replace(src, dst)

os.replace = slow_replace
from tfflops.analysis.devices import builtin_devices
from tfflops.analysis.ops.custom import CUSTOM, unregister_op
from tfflops.cli import main
sys.exit(main(["profile", {model!r}, "--no-tfprof", "-o", {out!r}]))
"""


@pytest.mark.parametrize(
    ("signum", "returncode"),
    [
        (signal.SIGTERM, -signal.SIGTERM),  # the default action: the process ends by it
        (signal.SIGHUP, -signal.SIGHUP),
        (signal.SIGINT, 130),  # KeyboardInterrupt: the CLI's exit code for Ctrl-C
    ],
)
def test_a_signal_during_a_write_leaves_no_temporary_file(tmp_path, signum, returncode):
    out = tmp_path / "report.txt"
    script = textwrap.dedent(_SLOW_WRITER).format(model=str(CONV_BIAS), out=str(out))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    try:
        assert child.stdout.readline() == "writing\n"
        temporary = list(tmp_path.glob(".report.txt.*.tmp"))
        assert len(temporary) == 1 and temporary[0].stat().st_size > 0
        child.send_signal(signum)
        assert child.wait(timeout=60) == returncode
    finally:
        child.kill()
        child.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temp file, no report


# ---------------------------------------------------------------- concurrent baselines


# Process A holds the baseline's lock between reading and writing (until `go` appears);
# process B tries to update the same baseline meanwhile.
_HOLDER = """
import os, sys, time
import tfflops.pipelines.check as check
real_write = check.write_atomic

def held_write(*args, **kwargs):
    print("holding", flush=True)
    while not os.path.exists("go"):
        time.sleep(0.05)
    real_write(*args, **kwargs)

check.write_atomic = held_write
from tfflops.analysis.devices import builtin_devices
from tfflops.analysis.ops.custom import CUSTOM, unregister_op
from tfflops.cli import main
sys.exit(main(["check", "m0.pb", "--no-tfprof", "--baseline", "b.json", "--update-baseline"]))
"""
_WAITER = """
import sys
import tfflops.pipelines.check as check
real_lock = check.exclusive_lock

def announced_lock(*args, **kwargs):
    print("locking", flush=True)
    return real_lock(*args, **kwargs)

check.exclusive_lock = announced_lock
from tfflops.analysis.devices import builtin_devices
from tfflops.analysis.ops.custom import CUSTOM, unregister_op
from tfflops.cli import main
sys.exit(main(["check", "m1.pb", "--no-tfprof", "--baseline", "b.json", "--update-baseline"]))
"""


def test_two_baseline_updates_at_once_keep_both_entries(tmp_path):
    for name in ("m0.pb", "m1.pb"):
        shutil.copy(CONV_BIAS, tmp_path / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(script):
        return subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
        )

    holder = start(_HOLDER)
    waiter = None
    try:
        lines = iter(holder.stdout.readline, "")  # m0's line(s), then its baseline write
        assert "holding\n" in lines
        waiter = start(_WAITER)
        assert "locking\n" in iter(waiter.stdout.readline, "")
        # Unlocked, the waiter would now read the baseline (no m0 yet) and write m1 alone,
        # and the holder would then write m0 over it. Give it the time to try.
        with contextlib.suppress(subprocess.TimeoutExpired):  # blocked on the lock
            waiter.wait(timeout=1.5)
        (tmp_path / "go").touch()
        assert holder.wait(timeout=120) == 0
        assert waiter.wait(timeout=120) == 0
    finally:
        for child in (holder, waiter):
            if child is not None:
                child.kill()
                child.wait()
    models = json.loads((tmp_path / "b.json").read_text())["models"]
    assert sorted(models) == ["m0.pb", "m1.pb"]
    assert models["m1.pb"]["totals"]["flops"] == 450560  # 2·3·3·3·32·32·8 + 32·32·8
