"""The light install: without TensorFlow the analytic path works, and everything that
needs TensorFlow says so in one line with the install command; the package's metadata."""

import configparser
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CONV_BIAS = SAMPLES / "conv_bias.pb"
INSTALL = 'pip install "tfflops[tensorflow]"'

# A Python in which TensorFlow and Keras are not there: importing them fails as on an
# install without the [tensorflow] extra (ModuleNotFoundError, importlib finds no spec).
WITHOUT_TENSORFLOW = "import sys\nsys.modules['tensorflow'] = sys.modules['keras'] = None\n"


def without_tensorflow(code: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW + code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def cli_without_tensorflow(*argv, cwd=ROOT) -> subprocess.CompletedProcess:
    argv = [str(a) for a in argv]
    return without_tensorflow(f"from tfflops.cli import main\nsys.exit(main({argv!r}))", cwd)


def test_the_shim_hides_tensorflow():
    proc = without_tensorflow("import tensorflow")
    assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr


def test_the_analytic_path_needs_no_tensorflow(tmp_path):
    proc = cli_without_tensorflow("profile", CONV_BIAS, "--no-tfprof", "--format", "json")
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    # 2·3·3·3·32·32·8 = 442368 + bias 32·32·8 = 8192
    assert json.loads(proc.stdout)["totals"]["flops"] == 450560
    summary = tmp_path / "summary.md"
    argv = ["check", CONV_BIAS, "--no-tfprof", "--max-macs", "1M", "--summary", summary]
    proc = cli_without_tensorflow(*argv)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "1 model passed"
    assert "221,184" in summary.read_text()  # MACs: 3·3·3·32·32·8
    for argv in (["inspect", CONV_BIAS], ["ops"]):
        assert cli_without_tensorflow(*argv).returncode == 0


def _keras_file(tmp_path) -> Path:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    return path


@pytest.mark.parametrize(
    ("argv", "needs"),
    [
        (["profile", CONV_BIAS], "the cross-check with tf.profiler (--no-tfprof skips it)"),
        (
            ["check", CONV_BIAS, "--max-flops", "1G"],
            "the cross-check with tf.profiler (--no-tfprof skips it)",
        ),
        (
            ["freeze", SAMPLES / "seed_refvars.pb", "--outputs", "output", "-o", "{tmp}/f.pb"],
            "reading the variables' values to freeze them",
        ),
        (
            ["profile", "{tmp}/model.keras", "--no-tfprof"],
            "{tmp}/model.keras: loading a Keras file",
        ),
    ],
)
def test_what_needs_tensorflow_says_how_to_install_it(tmp_path, argv, needs):
    _keras_file(tmp_path)
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in argv]
    needs = needs.replace("{tmp}", str(tmp_path))
    proc = cli_without_tensorflow(*argv)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr == (
        f"tfflops: error: {needs} needs TensorFlow, which is not installed: {INSTALL}\n"
    )
    assert not (tmp_path / "f.pb").exists()


def test_the_python_api_without_tensorflow():
    code = (
        "import tfflops\n"
        f"p = tfflops.profile({str(CONV_BIAS)!r}, tfprof=False)\n"
        "print(p.totals['flops'], p.nodes['tfprof_flops'].dtype)\n"
        # a freeze that reads no variable runs nothing: no TensorFlow, tfflops' own class
        f"g = tfflops.freeze({str(CONV_BIAS)!r}, ['output'])\n"
        "print(g.DESCRIPTOR.full_name, len(g.node))\n"
        "try:\n"
        f"    tfflops.freeze({str(SAMPLES / 'seed_refvars.pb')!r}, ['output'])\n"
        "except tfflops.TfflopsError as e:\n"
        "    print(e)\n"
    )
    proc = without_tensorflow(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "450560 Int64",
        "tfflops.tf.GraphDef 6",  # tfflops' wire-compatible schema; the 6 nodes kept
        f"reading the variables' values to freeze them needs TensorFlow, which is not "
        f"installed: {INSTALL}",
    ]


# ---------------------------------------------------------------- packaging


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _requirements(text: str) -> list[str]:
    return [line.split(">")[0].split("=")[0].strip() for line in text.split("\n") if line]


def test_the_core_install_is_light_and_the_extra_brings_tensorflow():
    config = _setup_cfg()
    assert _requirements(config["options"]["install_requires"]) == ["protobuf", "numpy", "pandas"]
    extras = config["options.extras_require"]
    assert _requirements(extras["tensorflow"]) == ["tensorflow"]
    # scripts/demo and scripts/test install the extra, so they keep working from scratch
    assert "'.[tensorflow,test]'" in (ROOT / "scripts" / "_venv.sh").read_text()


def test_the_metadata_names_license_python_and_its_home():
    config = _setup_cfg()
    metadata = config["metadata"]
    assert metadata["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().split()[:4] == ["Apache", "License", "Version", "2.0,"]
    # the licence is the License field (SPDX), setuptools having deprecated its classifier
    assert config["options"]["python_requires"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in metadata["classifiers"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'target-version = "py311"' in pyproject  # the oldest Python claimed, for ruff
    assert "Source =" in metadata["project_urls"]


def test_the_readme_opens_with_the_install():
    readme = (ROOT / "README.md").read_text()
    sections = [line for line in readme.splitlines() if line.startswith("## ")]
    assert sections[:2] == ["## Install", "## Development: two commands"]
    install = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "\npip install tfflops " in install and f"\n{INSTALL} " in install
