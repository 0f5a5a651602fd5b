"""Project defaults: ``[tool.tfflops]`` in pyproject.toml, found as ruff and pytest find
theirs, keys spelled as the long flags, overridden by flags, checked like hostile input."""

import json
import shutil
from pathlib import Path

import pytest

from tfflops.arguments import apply_config
from tfflops.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
CONV_BIAS = ROOT / "sample_graphs" / "conv_bias.pb"
MACS = 221184  # conv_bias: 3·3·3·32·32·8
FLOPS = 450560  # 2·221184 + bias 32·32·8 = 8192


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository (a .git folder) holding models/conv_bias.pb; the cwd is its sub/."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "sub").mkdir()
    shutil.copy(CONV_BIAS, root / "models" / "conv_bias.pb")
    monkeypatch.chdir(root / "sub")
    return root


def pyproject(folder: Path, table: str, name="pyproject.toml") -> Path:
    path = folder / name
    path.write_text(f'[project]\nname = "demo"\n\n[tool.tfflops]\n{table}\n')
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, out, err, *words):
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1 and err.startswith("tfflops: error: "), err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"


SETTINGS = """
convention = "macs"
max-flops = "200K"
no-tfprof = true
models = ["models"]
"""


def test_check_takes_its_settings_from_the_pyproject_above(repo, capsys):
    pyproject(repo, SETTINGS)
    code, out, _ = run(capsys, "check")
    assert code == 1  # 221,184 MACs (3·3·3·32·32·8) over the budget 200,000
    assert out.splitlines()[0] == "FAIL [1/1] ../models/conv_bias.pb"
    assert "✗ MACs (macs) 221,184 (221.18 K) is over the budget 200,000" in out


def test_flags_override_the_settings(repo, capsys):
    pyproject(repo, SETTINGS)
    code, out, _ = run(capsys, "check", "--max-flops", "300K")
    assert code == 0, out
    code, out, _ = run(capsys, "check", "--convention", "tfprof")
    assert code == 1 and "FLOPs (tfprof) 450,560 (450.56 K) is over the budget" in out
    code, out, _ = run(capsys, "check", CONV_BIAS, "--max-flops", "1M")
    verdict, counter, model = out.splitlines()[0].split()[:3]
    assert code == 0 and (verdict, counter) == ("PASS", "[1/1]")
    assert model.endswith("conv_bias.pb")  # the path, shortened in the middle if long


def test_profile_takes_the_settings_it_has(repo, capsys):
    pyproject(repo, SETTINGS)  # max-flops and models are check's: profile leaves them
    code, out, _ = run(capsys, "profile", CONV_BIAS, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["convention"] == "macs"
    assert (report["totals"]["flops"], report["totals"]["tfprof_flops"]) == (MACS, None)


def test_a_pyproject_without_the_table_is_passed_over(repo, capsys):
    pyproject(repo, SETTINGS)
    (repo / "sub" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert run(capsys, "check")[0] == 1


def test_the_search_stops_at_the_repository_root(repo, capsys):
    pyproject(repo.parent, SETTINGS)  # above the .git folder: another project's
    code, out, err = run(capsys, "check", "--no-tfprof")
    one_line_error(code, out, err, "no models given")


def test_config_names_a_file_and_no_config_ignores_them(repo, capsys):
    pyproject(repo, 'convention = "exact"')
    other = pyproject(repo.parent, SETTINGS.replace('"models"', '"repo/models"'), "ci.toml")
    code, out, _ = run(capsys, "check", "--config", other)
    assert code == 1 and "MACs (macs) 221,184" in out
    code, out, _ = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "--format", "json")
    assert json.loads(out)["convention"] == "exact"
    code, out, _ = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "--no-config", "--format=json")
    assert json.loads(out)["convention"] == "tfprof"


def test_paths_are_relative_to_the_settings_file(repo, capsys):
    pyproject(repo, 'models = ["models/*.pb"]\nbaseline = "baseline.json"\nno-tfprof = true')
    code, out, err = run(capsys, "check", "--update-baseline")
    assert code == 0, err
    assert out.splitlines()[-1] == "wrote ../baseline.json: 1 model(s) updated"
    baseline = json.loads((repo / "baseline.json").read_text())
    assert baseline["models"]["conv_bias.pb"]["totals"]["flops"] == FLOPS


def test_a_repeatable_setting_is_replaced_by_the_flags(repo):
    pyproject(repo, 'input-shape = ["x=2,32,32,3"]\ntfprof = false')
    for argv, shapes in [
        (["profile", "m.pb"], [("x", [2, 32, 32, 3])]),
        (["profile", "m.pb", "--input-shape", "x=4,32,32,3"], [("x", [4, 32, 32, 3])]),
    ]:
        parser = build_parser()
        apply_config(parser, argv)
        args = parser.parse_args(argv)
        assert args.input_shape == shapes
        assert args.no_tfprof is True  # tfprof = false
    argv = ["profile", "m.pb", "--tfprof"]
    parser = build_parser()
    apply_config(parser, argv)
    assert parser.parse_args(argv).no_tfprof is False


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("max-flop = 3", ["[tool.tfflops] max-flop: not a setting", "did you mean 'max-flops'?"]),
        ("output = 'x.json'", ["output: not a setting (a flag for one run"]),
        ("allow-unsafe-ops = true", ["allow-unsafe-ops: not a setting (a flag for one run"]),
        ("no-tfprof = 'yes'", ["no-tfprof = 'yes': must be true or false"]),
        ("convention = 'mac'", ["convention = 'mac': choose from tfprof", "did you mean 'macs'"]),
        ("max-flops = 'lots'", ["[tool.tfflops] max-flops: --max-flops 'lots': not a number"]),
        ("max-flops = true", ["max-flops = True: must be a string, a number or a list"]),
        ("jobs = 'two'", ["jobs = 'two':", "invalid literal for int()"]),
        ("models = [{a = 1}]", ["models = [{'a': 1}]: must be a string, a number"]),
        ("fail-on = ['bogus']", ["fail-on: --fail-on 'bogus': choose from mismatch"]),
        ("input-shape = ['x']", ["input-shape: --input-shape 'x': expected NAME=D1,D2"]),
    ],
)
def test_bad_settings_are_one_line_naming_file_and_key(repo, capsys, table, words):
    path = pyproject(repo, table)
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof")
    one_line_error(code, out, err, f"{path}: ", *words)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[tool.tfflops\n", ["not valid TOML"]),
        ("tool = 3  # no room for [tool.tfflops]\n", ["[tool] is not a table"]),
        ("[tool]\ntfflops = 3\n", ["[tool.tfflops] is not a table"]),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n[tool.tfflops]\n", ["not valid TOML"]),
        ('[tool."\\u0074fflops"\n', ["not valid TOML"]),  # tfflops, spelled by escapes
    ],
)
def test_a_broken_pyproject_is_one_line(repo, capsys, text, words):
    (repo / "pyproject.toml").write_text(text)
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof")
    one_line_error(code, out, err, str(repo / "pyproject.toml"), *words)


@pytest.mark.parametrize("text", ["tool = 3\n", "a = " + "[" * 5000 + "]" * 5000 + "\n"])
def test_a_pyproject_that_never_names_tfflops_is_not_read(repo, capsys, text):
    """tfflops reads its own table: a project's pyproject.toml that cannot hold it (no
    ``tfflops`` in its bytes, no escape to spell it with) is not parsed, broken or not."""
    (repo / "pyproject.toml").write_text(text)
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof")
    assert (code, err) == (0, "")
    assert "FLOPs (tfprof)     450,560" in out  # conv 442,368 + bias 8,192


def test_a_pyproject_over_the_limit_is_refused_whatever_its_first_bytes(repo, capsys):
    """A [tool.tfflops] table past the first 4 MiB (4 << 20 bytes) is not skipped unseen:
    a CI gate's settings would then go unapplied, with exit 0 and no word."""
    filler = "# " + "x" * (4 << 20) + "\n"
    (repo / "pyproject.toml").write_text(filler + "[tool.tfflops]\nmax-flops = 1\n")
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof")
    one_line_error(code, out, err, "pyproject.toml: over 4194304 bytes, too big")


def test_binary_config_is_one_line(repo, capsys):
    (repo / "bad.toml").write_bytes(b"\xff\xfe\x00[tool.tfflops]")
    code, out, err = run(capsys, "profile", CONV_BIAS, "--config", repo / "bad.toml")
    one_line_error(code, out, err, "bad.toml: not valid TOML")


def test_a_named_file_without_the_table_is_refused(repo, capsys):
    (repo / "other.toml").write_text("[tool.ruff]\nline-length = 100\n")
    code, out, err = run(capsys, "profile", CONV_BIAS, "--config", repo / "other.toml")
    one_line_error(code, out, err, "other.toml: has no [tool.tfflops] table")


def test_a_settings_file_that_never_ends_is_refused(repo, capsys):
    import os

    os.mkfifo(repo / "fifo.toml")  # reading it would block
    code, out, err = run(capsys, "profile", CONV_BIAS, "--config", repo / "fifo.toml")
    one_line_error(code, out, err, "fifo.toml: not a regular file")
    huge = repo / "huge.toml"
    huge.write_text("[tool.tfflops]\n" + "# padding\n" * 500_000)  # 5,000,015 bytes
    code, out, err = run(capsys, "profile", CONV_BIAS, "--config", huge)
    one_line_error(code, out, err, "huge.toml: over 4194304 bytes")


# ---------------------------------------------------------------- a pull request's settings


@pytest.mark.parametrize(
    "setting",
    [
        'summary = "{outside}/summary.md"',  # absolute
        'junit = "../junit.xml"',  # above the repository
        'summary = "link/summary.md"',  # through a symlink to a folder outside
        'baseline = "sub/../../baseline.json"',
        'models = ["{outside}/*.pb"]',
        'models = ["../*"]',
        'models = ["models/*/../../../*"]',  # a `..` after the glob
        'checkpoint = "{outside}/ckpt"',
        'device = "{outside}/device.json"',
    ],
)
def test_a_setting_never_names_a_file_outside_the_repository(repo, capsys, setting):
    # In CI the pyproject.toml is the pull request's: a summary it could send anywhere
    # would overwrite a shell's startup file with lines it chose (model file names).
    outside = repo.parent / "outside"
    outside.mkdir()
    (repo / "link").symlink_to(outside)
    path = pyproject(repo, 'no-tfprof = true\nmax-flops = "1T"\n' + setting.format(outside=outside))
    for command in (["check", CONV_BIAS], ["freeze", CONV_BIAS, "-o", "f.pb"]):
        code, out, err = run(capsys, *command)
        one_line_error(code, out, err, f"{path}: [tool.tfflops] ", f"outside the project {repo}")
    assert list(outside.iterdir()) == [] and not (repo.parent / "junit.xml").exists()


@pytest.mark.parametrize(
    "setting",
    [
        'summary = ".git/config"',
        'junit = ".git/hooks/pre-commit"',
        'summary = "git/../.git/x"',
        # macOS's file system ignores case: there .GIT/config is .git/config
        'summary = ".GIT/config"',
        'junit = ".Git/hooks/pre-commit"',
    ],
)
def test_a_setting_never_names_a_file_of_git(repo, capsys, setting):
    # git runs its config's commands and its hooks: a summary written there (model file
    # names the pull request chose) would be code.
    (repo / ".git" / "hooks").mkdir()
    (repo / ".git" / "config").write_text("[core]\n")
    path = pyproject(repo, 'no-tfprof = true\nmax-flops = "1T"\n' + setting)
    code, out, err = run(capsys, "check", CONV_BIAS)
    one_line_error(code, out, err, f"{path}: [tool.tfflops] ", "inside the repository's .git")
    assert (repo / ".git" / "config").read_text() == "[core]\n"
    assert list((repo / ".git" / "hooks").iterdir()) == []


def test_a_device_file_setting_is_relative_to_the_settings_file(repo, capsys):
    from tfflops.analysis.devices import builtin_devices

    (repo / "dev.json").write_text(builtin_devices()["A100"].to_json())
    pyproject(repo, 'device = "dev.json"\nno-tfprof = true')  # found from repo/sub
    code, out, err = run(capsys, "profile", CONV_BIAS, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["totals"]["device"] == "A100"
