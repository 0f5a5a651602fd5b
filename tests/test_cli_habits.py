"""The command line as users of git, ruff and pip expect it: help, suggestions, every
option explained, the format told by -o's extension, -q, a model from stdin, and library
errors spelled as flags."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tfflops.arguments import FLAGS
from tfflops.cli import build_parser, main
from tfflops.errors import ARGUMENT, TfflopsError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CONV_BIAS = SAMPLES / "conv_bias.pb"
FLOPS = 450560  # conv_bias: 2·3·3·3·32·32·8 = 442368 + bias 32·32·8 = 8192


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, out, err, *words):
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("tfflops: error: "), err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"


# ---------------------------------------------------------------- help and suggestions


def test_no_command_prints_the_help(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: tfflops")
    for command in ("profile", "check", "freeze", "compare", "inspect", "ops"):
        assert f"    {command} " in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["profil", "m.pb"], ["unknown command 'profil'", "did you mean 'profile'?"]),
        (["chekc"], ["unknown command 'chekc'", "did you mean 'check'?"]),
        (["frobnicate"], ["unknown command 'frobnicate'", "choose from profile, check"]),
        (
            ["profile", CONV_BIAS, "--no-tfprf"],
            ["unrecognized arguments: --no-tfprf", "did you mean '--no-tfprof'?"],
        ),
        (
            ["check", CONV_BIAS, "--max-flosp", "1G"],
            ["unrecognized arguments: --max-flosp 1G", "did you mean '--max-flops'?"],
        ),
        (["profile", CONV_BIAS, "--convention", "mac"], ["'mac'", "did you mean 'macs'?"]),
        (["check", CONV_BIAS, "--fail-on", "mismach"], ["'mismach'", "did you mean 'mismatch'?"]),
    ],
)
def test_a_mistyped_command_or_flag_suggests_the_nearest(capsys, argv, words):
    one_line_error(*run(capsys, *argv), *words)


def _actions():
    parser = build_parser()
    for name, command in parser.commands.items():
        for action in command._actions:
            if action.dest != "help":
                yield name, action


@pytest.mark.parametrize(("command", "action"), list(_actions()))
def test_every_option_says_what_it_does_and_its_choices(command, action):
    assert action.help, f"{command} {action.option_strings or action.dest}: no help"
    for choice in action.choices or ():
        assert choice in action.help, f"{command} {action.option_strings}: {choice} untold"


# ---------------------------------------------------------------- -o picks the format


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("report.json", lambda text: json.loads(text)["totals"]["flops"] == FLOPS),
        ("report.html", lambda text: text.startswith("<!DOCTYPE html>")),
        ("report.csv", lambda text: text.startswith("name,op,phase,flops")),
        ("report.md", lambda text: "| FLOPs (tfprof) | 450,560 (450.56 K) |" in text),
        ("report.txt", lambda text: "FLOPs (tfprof)     450,560 (450.56 K)" in text),
    ],
)
def test_the_output_extension_picks_the_format(capsys, tmp_path, name, check):
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "-o", tmp_path / name)
    assert (code, out) == (0, ""), err
    assert check((tmp_path / name).read_text())


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["profile", CONV_BIAS, "--format", "json"], ["report.html: a .html file", "json"]),
        (["compare", CONV_BIAS, CONV_BIAS], ["report.html: compare writes no html"]),
    ],
)
def test_an_extension_that_contradicts_the_format_is_refused(capsys, tmp_path, argv, words):
    target = tmp_path / "report.html"
    one_line_error(*run(capsys, *argv, "--no-tfprof", "-o", target), *words)
    assert not target.exists()


def test_an_explicit_format_that_agrees_with_the_extension(capsys, tmp_path):
    target = tmp_path / "report.JSON"
    code, _, _ = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "--format", "json", "-o", target)
    assert code == 0
    assert json.loads(target.read_text())["totals"]["params"] == 224  # 3·3·3·8 + 8


def test_json_takes_a_line_per_key_and_per_node(capsys):
    """The document people diff: the top level's keys and the totals' a line each, a node
    record a line (``json.dumps(indent=1)`` gave each record 20 lines)."""
    code, out, _ = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "--format", "json")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert ' "model": "' + str(CONV_BIAS) + '",' in lines
    assert '  "flops": 450560,' in lines  # in the totals, a line of its own
    nodes = [line for line in lines if line.startswith('  {"name": ')]
    # x, filter, bias, conv, bias_add, output: six nodes, six lines
    assert [json.loads(line.rstrip(","))["name"] for line in nodes] == [
        "x",
        "filter",
        "bias",
        "conv",
        "bias_add",
        "output",
    ]
    assert json.loads(nodes[3].rstrip(","))["flops"] == 442368  # 2·3·3·3·32·32·8
    assert json.loads(out)["totals"]["params"] == 224  # 3·3·3·8 + 8


# ---------------------------------------------------------------- -q


def test_quiet_silences_the_notes_not_the_result(capsys, tmp_path):
    argv = ["freeze", SAMPLES / "seed_refvars.pb", "--outputs", "output"]
    code, out, err = run(capsys, *argv, "-o", tmp_path / "a.pb")
    assert code == 0 and "tfflops: note: values of 2 variable(s)" in err
    code, out, err = run(capsys, *argv, "-o", tmp_path / "b.pb", "-q")
    assert (code, err) == (0, "")
    # (wrapped to the terminal's width: compared as words)
    assert " ".join(out.split()).startswith(f"wrote {tmp_path / 'b.pb'}: 20 nodes → 3")


def test_quiet_check_shows_no_progress(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, "check", CONV_BIAS, "--no-tfprof", "--max-flops", "1M", "-q")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "1 model passed"


# ---------------------------------------------------------------- a model from stdin


def _cli(*argv, stdin: bytes):
    return subprocess.run(
        [sys.executable, "-m", "tfflops", *(str(a) for a in argv)],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize("name", ["conv_bias.pb", "seed_refvars.pbtxt"])
def test_profile_reads_a_graph_def_from_stdin(name):
    proc = _cli(
        "profile", "-", "--no-tfprof", "--format", "json", stdin=(SAMPLES / name).read_bytes()
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["model"] == "<stdin>"
    # conv_bias: 450560 (above); seed: 2·25·16·9 = 7200
    assert report["totals"]["flops"] == (FLOPS if name == "conv_bias.pb" else 7200)


def test_freeze_reads_a_graph_def_from_stdin(tmp_path):
    out = tmp_path / "frozen.pb"
    stdin = (SAMPLES / "seed_refvars.pb").read_bytes()
    proc = _cli("freeze", "-", "--outputs", "output", "-o", out, "-q", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert " ".join(proc.stdout.decode().split()).startswith(f"wrote {out}: 20 nodes → 3")


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        (b"", ["<stdin>: file is empty"]),
        (b"\x89PNG\r\n\x1a\n" + bytes(32), ["<stdin>", "a PNG image"]),
    ],
)
def test_bad_stdin_is_one_line(stdin, words):
    proc = _cli("profile", "-", "--no-tfprof", stdin=stdin)
    one_line_error(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), *words)


def test_a_saved_model_on_stdin_is_refused():
    from tfflops.graph import proto

    saved = proto.SavedModel()
    saved.meta_graphs.add().graph_def.CopyFrom(proto.GraphDef.FromString(CONV_BIAS.read_bytes()))
    saved.meta_graphs[0].meta_info_def.tags.append("serve")
    proc = _cli("profile", "-", "--no-tfprof", stdin=saved.SerializeToString())
    one_line_error(
        proc.returncode, proc.stdout.decode(), proc.stderr.decode(), "<stdin>: holds a SavedModel"
    )


# ---------------------------------------------------------------- library words, CLI words


def test_a_library_error_names_the_argument_and_the_cli_its_flag(capsys):
    import tfflops

    with pytest.raises(TfflopsError) as error:
        tfflops.profile(CONV_BIAS, outputs=["nope"], tfprof=False)
    assert str(error.value) == f"`outputs`: no node named 'nope' in {CONV_BIAS}"
    assert error.value.argument == "outputs"
    with pytest.raises(TfflopsError) as error:
        tfflops.profile(CONV_BIAS, input_shapes={"x": [1, 32, 3]}, tfprof=False)
    assert error.value.argument == "input_shapes"
    assert str(error.value).startswith("`input_shapes` x: rank 3 given")
    code, out, err = run(capsys, "profile", CONV_BIAS, "--no-tfprof", "--input-shape", "x=1,32,3")
    one_line_error(code, out, err, "tfflops: error: --input-shape x: rank 3 given")


def test_the_check_options_are_named_in_python_words_and_flags(capsys):
    from tfflops.pipelines.check import run_checks

    with pytest.raises(TfflopsError) as error:
        run_checks([str(CONV_BIAS)], fail_on=["mismatch"], tfprof=False)
    assert str(error.value) == "`fail_on` mismatch needs tf.profiler: drop `tfprof=False`"
    code, out, err = run(capsys, "check", CONV_BIAS, "--fail-on", "mismatch", "--no-tfprof")
    one_line_error(code, out, err, "--fail-on mismatch needs tf.profiler: drop --no-tfprof")


def _error_arguments() -> set[str]:
    """Every argument a TfflopsError raised in the library names in backticks."""
    found = set()
    for path in (ROOT / "tfflops").rglob("*.py"):
        if path.parent.name == "cli" or path.name == "arguments.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found.update(ARGUMENT.findall(part.value))
    return found


def test_every_argument_a_library_error_names_has_a_flag():
    named = _error_arguments()
    # the scan sees them: input_shapes is named in shapes.py, tfprof=False in check.py
    assert {"input_shapes", "outputs", "tfprof=False", "signature", "tag_set"} <= named
    assert named - set(FLAGS) == set()


def test_backticks_name_arguments_not_rst_literals():
    assert ARGUMENT.findall("`outputs` and ``literal`` and `tfprof=False`") == [
        "outputs",
        "tfprof=False",
    ]
    error = TfflopsError("`max_flops` 'x': not a number (see ``parse_number``)")
    assert error.spelled(FLAGS) == "--max-flops 'x': not a number (see ``parse_number``)"
    assert TfflopsError("no argument here").argument is None
