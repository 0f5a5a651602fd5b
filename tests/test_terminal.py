"""Output that fits the terminal it runs in, shortens names alike, and colours only there.

Every command's text on the sample graphs and on a model with long names and paths, at
60, 80 and 120 columns (``COLUMNS``, as a terminal would set it); colour for verdicts and
findings on a terminal, never in a pipe, ``NO_COLOR`` and ``--color`` honoured.
"""

import io
import os
import shutil

import pytest
from conftest import SAMPLES
from test_table import _wide_graph

from tfflops.cli import main, screen_for
from tfflops.reports.layout import (
    Column,
    Screen,
    fit_pair,
    grid,
    share,
    shorten_middle,
    wrap,
    wrap_items,
)

ESC = "\033["
WIDTHS = [60, 80, 120]


# ---------------------------------------------------------------- the helpers


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("model/block_1/conv/Conv2D", 25, "model/block_1/conv/Conv2D"),  # fits: unchanged
        # 19 characters kept: the first 19 // 3 = 6, the last 13
        ("model/block_1/conv/Conv2D", 20, "model/…1/conv/Conv2D"),
        ("model/block_1/conv/Conv2D", 10, "mod…Conv2D"),  # 3 + … + 6
        ("abcdef", 2, "…f"),
        ("abcdef", 1, "…"),
    ],
)
def test_shorten_middle_keeps_both_ends(text, width, expected):
    assert shorten_middle(text, width) == expected
    assert len(shorten_middle(text, width)) == min(len(text), width)


def test_wrap_never_breaks_a_word_or_a_hyphen():
    text = "run --update-baseline to lock it in; tf.profiler counts 0 for: Relu"
    assert wrap(text, 24, "  - ", "    ") == [
        "  - run",
        "    --update-baseline to",
        "    lock it in;",
        "    tf.profiler counts 0",
        "    for: Relu",
    ]
    # A word longer than a line is shortened in the middle, not left sticking out.
    assert wrap("see a/very/long/scope/name/MatMul now", 20, "- ") == [
        "- see",
        "  a/ver…/name/MatMul",  # 18 kept: the first 17 // 3 = 5, the last 12
        "  now",
    ]
    assert wrap("a  b   c", 80, "  ") == ["  a  b   c"]  # text that fits keeps its spacing


def test_wrap_items_keeps_each_item_whole():
    figures = ["450.56 K FLOPs (tfprof)", "221.18 K MACs", "224 params", "177.02 K bytes moved"]
    assert wrap_items(figures, 50, "      ", sep=" · ") == [
        "      450.56 K FLOPs (tfprof) · 221.18 K MACs ·",
        "      224 params · 177.02 K bytes moved",
    ]


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 8, "12.5%"), (1, 10_000, "<0.1%"), (9_999, 10_000, ">99.9%"), (0, 5, "0.0%"), (3, 0, "-")],
)
def test_a_share_is_never_rounded_to_nothing_or_everything(part, whole, expected):
    assert share(part, whole) == expected


def test_fit_pair_shortens_the_long_one():
    assert fit_pair("a.pb", "b.pb", 20) == ("a.pb", "b.pb")
    # 4 + 16 = 20: the short one whole, the long one to what is left
    assert fit_pair("a.pb", "x" * 30, 20) == ("a.pb", "xxxxx…" + "x" * 10)
    assert fit_pair("y" * 30, "x" * 30, 20) == ("yyy…" + "y" * 6, "xxx…" + "x" * 6)


def test_grid_gives_way_names_first():
    rows = [("a_very_long_node_name/with/scopes/MatMul", "MatMul", "8.19 K")]
    columns = [
        Column("node", lambda r: r[0], "l", shrink=True, least=16),
        Column("op", lambda r: r[1], "l", shrink=True, least=10),
        Column("FLOPs", lambda r: r[2]),
    ]
    # 40 + 2 + 6 + 2 + 6 = 56 columns for 30: the name gives 24 (down to its least, 16),
    # the op type cannot (it is under its own least), so the name gives 2 more.
    assert grid(columns, rows, 30) == [
        "node            op       FLOPs",
        "--------------  ------  ------",
        "a_ve…es/MatMul  MatMul  8.19 K",  # 14 kept: the first 13 // 3 = 4, the last 9
    ]


# ---------------------------------------------------------------- every command fits


def _wide_model(tmp_path):
    return _wide_graph(tmp_path / ("deeply/nested/" * 6) / "a_model_with_long_names.pb")


def _commands(tmp_path) -> dict[str, list[str]]:
    wide = str(_wide_model(tmp_path))
    seed, frozen = str(SAMPLES / "seed_refvars.pb"), str(SAMPLES / "seed_frozen.pb")
    commands = {"ops": ["ops"]}
    for model in [*sorted(map(str, SAMPLES.glob("*.pb"))), wide]:
        name = model.rsplit("/", 1)[-1]
        for by in ("op", "node", "scope"):
            commands[f"profile-{name}-{by}"] = ["profile", model, "--no-tfprof", "--by", by]
        commands[f"inspect-{name}"] = ["inspect", model]
    commands["profile-seed-tfprof"] = ["profile", seed, "--outputs", "output"]
    commands["compare"] = ["compare", seed, frozen, "--outputs", "output", "--no-tfprof"]
    commands["compare-wide"] = ["compare", wide, str(SAMPLES / "small_cnn.pb"), "--no-tfprof"]
    commands["compare-freeze"] = ["profile", seed, "--compare-freeze", "--no-tfprof"]
    commands["check"] = [
        "check",
        *sorted(map(str, SAMPLES.glob("*.pb"))),
        wide,
        "--no-tfprof",
        "--max-flops",
        "1K",
        "--fail-on",
        "unsupported",
    ]
    return commands


@pytest.mark.parametrize("width", WIDTHS)
def test_every_command_fits_the_terminal(tmp_path, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    for name, argv in _commands(tmp_path).items():
        code = main(argv)
        out, err = capsys.readouterr()
        assert code in (0, 1), (name, err)
        lines = out.splitlines()
        assert len(lines) > 2, name
        too_wide = [line for line in lines if len(line) > width]
        assert too_wide == [], (name, too_wide)
        assert ESC not in out  # not a terminal: no colour


def test_freeze_fits_the_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    out_path = tmp_path / ("deeply/nested/" * 4) / "frozen.pb"
    out_path.parent.mkdir(parents=True)
    argv = ["freeze", str(SAMPLES / "seed_refvars.pb"), "--outputs", "output", "-o", str(out_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    for line in out.splitlines() + err.splitlines():
        assert len(line) <= 60, line
    assert " ".join(out.split()).endswith("2 variable(s) frozen from initializers; outputs output")


def test_a_wider_terminal_shows_more_of_a_name(tmp_path, capsys, monkeypatch):
    model = str(_wide_model(tmp_path))
    rows = {}
    for width in WIDTHS:
        monkeypatch.setenv("COLUMNS", str(width))
        assert main(["profile", model, "--no-tfprof", "--by", "node"]) == 0
        lines = capsys.readouterr().out.splitlines()
        rows[width] = next(line for line in lines if line.endswith("4.10 K")).split()[0]
    # encoder/ + 4 × a_rather_long_scope_name/ + dense_0/MatMul = 122 characters, shortened
    # in the middle to what each width leaves (the end, which tells the five apart, kept)
    assert len(rows[60]) < len(rows[80]) < len(rows[120]) < 122
    assert all(name.endswith("/MatMul") and "…" in name for name in rows.values())


def test_width_comes_from_columns_else_80_when_not_a_terminal(monkeypatch):
    pipe = io.StringIO()
    assert screen_for(pipe).width == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert screen_for(pipe).width == 132
    monkeypatch.setenv("COLUMNS", "12")
    assert screen_for(pipe).width == 40  # narrower than any table needs: 40

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback: os.terminal_size((97, 30)))
    assert screen_for(Terminal()).width == 97


# ---------------------------------------------------------------- colour


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _check_on(monkeypatch, stream, *flags) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdout", stream)
    argv = ["check", str(SAMPLES / "conv_bias.pb"), str(SAMPLES / "small_cnn.pb"), "--no-tfprof"]
    code = main([*argv, "--max-params", "1000", *flags])  # small_cnn: 7,906 params
    return code, stream.getvalue()


def test_colour_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    code, out = _check_on(monkeypatch, _Terminal())
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{ESC}32mPASS{ESC}0m [1/2] ")  # green
    failed = next(line for line in lines if "[2/2]" in line)
    assert failed.startswith(f"{ESC}1;31mFAIL{ESC}0m [2/2] ")  # bold red
    assert any(line.startswith(f"{ESC}1;31m      ✗ params 7,906") for line in lines)
    assert lines[-1] == f"{ESC}1;31m1 of 2 models failed{ESC}0m"


@pytest.mark.parametrize(
    ("stream", "env", "flags"),
    [
        (io.StringIO, {}, []),  # piped
        (_Terminal, {"NO_COLOR": "1"}, []),
        (_Terminal, {"TERM": "dumb"}, []),
        (_Terminal, {}, ["--color", "never"]),
    ],
    ids=["piped", "NO_COLOR", "dumb-terminal", "never"],
)
def test_no_colour(monkeypatch, stream, env, flags):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out = _check_on(monkeypatch, stream(), *flags)
    assert code == 1
    assert ESC not in out
    assert out.splitlines()[-1] == "1 of 2 models failed"


def test_color_always_even_piped_and_with_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # a flag overrides the environment (no-color.org)
    code, out = _check_on(monkeypatch, io.StringIO(), "--color", "always")
    assert code == 1
    assert out.splitlines()[-1] == f"{ESC}1;31m1 of 2 models failed{ESC}0m"


def test_findings_are_coloured_in_a_profile(monkeypatch, tmp_path):
    from test_check import _custom_op_graph

    model = _custom_op_graph(tmp_path / "custom.pb")
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    assert main(["profile", str(model), "--no-tfprof", "--color", "always"]) == 0
    nodes = next(line for line in stream.getvalue().splitlines() if "  nodes  " in line)
    # custom (no formula) and output (its input's shape unknown), in yellow
    assert nodes.endswith(f"(not cross-checked, {ESC}33m2 unsupported{ESC}0m)")


def test_inspect_and_compare_take_color_never(capsys):
    seed = str(SAMPLES / "seed_refvars.pb")
    assert main(["inspect", seed, "--color", "never"]) == 0
    assert main(["compare", seed, seed, "--no-tfprof", "--color", "never"]) == 0
    assert main(["ops", "--color", "never"]) == 0
    assert ESC not in capsys.readouterr().out


def test_a_screen_paints_only_when_asked():
    assert Screen(80, color=False).paint("FAIL", "fail") == "FAIL"
    assert Screen(80, color=True).paint("FAIL", "fail") == f"{ESC}1;31mFAIL{ESC}0m"
    assert Screen(80, color=True).paint("3 explained", "explained") == "3 explained"


# ---------------------------------------------------------------- names that act on terminals

# A name a hostile model (or a file a pull request adds) may hold: a newline starting a
# line of its own that a CI log takes as a command, a terminal's clear-screen escape, a
# bidi override that reverses what follows.
HOSTILE = "a\n::error file=x::forged\x1b[2J\u202e|`"
SHOWN = "a\\n::error file=x::forged\\x1b[2J\\u202e"  # as every text report shows it


def _hostile_graph():
    from builders import op, placeholder

    from tfflops.graph import proto

    g = proto.GraphDef()
    placeholder(g, "x" + HOSTILE, [1, 4])
    op(g, HOSTILE, "MatMul", ["x" + HOSTILE, "x" + HOSTILE], transpose_b=[])
    return g


def _safe(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text, text
    assert not any(line.lstrip().startswith("::") for line in text.splitlines()), text


@pytest.mark.parametrize(
    "argv",
    [
        ["profile", "{model}", "--no-tfprof", "--by", "node"],
        ["profile", "{model}", "--no-tfprof", "--format", "markdown", "--by", "node"],
        ["compare", "{model}", "{model}", "--no-tfprof", "--format", "markdown"],
        ["compare", "{model}", "{model}", "--no-tfprof"],
        ["inspect", "{model}"],
        ["check", "{model}", "{garbage}", "--no-tfprof", "--max-flops", "1T", "--summary", "s.md"],
        ["profile", "{garbage}", "--no-tfprof"],
    ],
)
def test_names_are_shown_escaped_never_acted_on(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    model = tmp_path / f"m{HOSTILE}.pb"
    model.write_bytes(_hostile_graph().SerializeToString())
    garbage = tmp_path / f"g{HOSTILE}.pb"
    garbage.write_bytes(b"not a graph")
    main([a.format(model=model, garbage=garbage) for a in argv])
    out, err = capsys.readouterr()
    summary = (tmp_path / "s.md").read_text() if argv[0] == "check" else ""
    for text in (out, err, summary):
        _safe(text)
    assert SHOWN in out + err
    assert err.count("\n") <= 1  # an error stays one line
    if argv[0] == "check":
        assert SHOWN in summary and "\\|'" in summary  # `|` escaped, ` no end to the span
