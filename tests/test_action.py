"""The GitHub Action's check step and the pre-commit hook, run as CI would run them."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONV_BIAS = ROOT / "sample_graphs" / "conv_bias.pb"


def check_step() -> str:
    """The script of action.yml's last step, ``tfflops check``."""
    text = (ROOT / "action.yml").read_text()
    step = text.split("    - name: tfflops check\n", 1)[1]
    return textwrap.dedent(step.split("      run: |\n", 1)[1])


def run_step(tmp_path, models: str, args: str) -> subprocess.CompletedProcess:
    """The step as a runner runs it (bash -e, pipefail), tfflops on PATH, no TensorFlow."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tfflops = bin_dir / "tfflops"
    tfflops.write_text(f'#!/bin/sh\nexec {sys.executable} -m tfflops "$@"\n')
    tfflops.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "MODELS": models,
        "ARGS": args,
        "WITH_TENSORFLOW": "false",
        "SUMMARY": "true",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", check_step()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def models(tmp_path):
    (tmp_path / "models").mkdir()
    for name in ("a.pb", "b.pb"):
        (tmp_path / "models" / name).write_bytes(CONV_BIAS.read_bytes())
    return tmp_path


def test_the_step_fails_the_job_and_writes_the_summary(models):
    # conv_bias: 221,184 MACs (3·3·3·32·32·8), 224 params (3·3·3·8 + 8)
    proc = run_step(models, "models/*.pb", "--max-macs 200K --max-params 300")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1] == "2 of 2 models failed"  # the glob, expanded
    summary = (models / "step_summary.md").read_text()
    assert summary.startswith("### tfflops check: ❌ 2 of 2 models failed\n")


def test_the_step_passes(models):
    proc = run_step(models, "models", "--max-macs 4.1G --max-params 26M")
    assert proc.returncode == 0, proc.stderr
    assert "✅ 2 models passed" in (models / "step_summary.md").read_text()


def test_inputs_are_words_not_code(models):
    proc = run_step(models, "models", "--max-macs 4.1G $(touch pwned) `touch pwned2`")
    assert proc.returncode == 2  # tfflops: error: unrecognized arguments: $(touch ...
    assert "unrecognized arguments: $(touch pwned)" in proc.stderr
    assert not (models / "pwned").exists() and not (models / "pwned2").exists()


def test_the_pre_commit_hook_is_analytic_and_matches_graph_defs():
    hook = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "\n- id: tfflops-check\n" in hook
    assert "  entry: tfflops check --no-tfprof\n" in hook
    files = re.search(r"^  files: (.+)$", hook, re.M)[1]
    matches = [bool(re.search(files, n)) for n in ("m.pb", "a/m.pbtxt", "m.pb.json", "m.h5")]
    assert matches == [True, True, False, False]
