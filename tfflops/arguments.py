"""Command-line arguments: their values, a parser that suggests, and project defaults.

* FLAGS spells the Python API's arguments, which library errors name (`input_shapes`),
  as the flags that give them (``--input-shape``);
* ``Parser``: argparse whose usage errors are one TfflopsError line and that suggests the
  nearest command, choice or flag for a mistyped one;
* project defaults: the ``[tool.tfflops]`` table of the nearest ``pyproject.toml``, found
  as ruff and pytest find theirs — from the working directory up to the first one that
  has the table, no further than the repository's root (the folder holding ``.git``) —
  keys spelled as the long flags, values checked as the flags check theirs.
"""

from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path

from tfflops.analysis.devices import device_file
from tfflops.analysis.loops import MAX_GIVEN_TRIPS
from tfflops.errors import TfflopsError
from tfflops.numbers import parse_number
from tfflops.pipelines.limits import FIGURES, FINDINGS

# The Python API's arguments that library errors name → the flags that give them here.
FLAGS = {
    "outputs": "--outputs",
    "input_shapes": "--input-shape",
    "loop_iterations": "--loop-iterations",
    "convention": "--convention",
    "tfprof=False": "--no-tfprof",
    "signature": "--signature",
    "tag_set": "--tag-set",
    "checkpoint": "--checkpoint",
    "allow_unsafe_ops": "--allow-unsafe-ops",
    "output_path": "-o",
    "fmt": "--format",
    "baseline": "--baseline",
    "update_baseline": "--update-baseline",
    "tolerance": "--tolerance",
    "fail_on": "--fail-on",
    "jobs": "--jobs",
    "timeout": "--timeout",
    "summary": "--summary",
    "junit": "--junit",
    "training": "--training",
    "formulas": "--formulas",
    "budgets": "/".join(f"--max-{figure}" for figure in FIGURES),
    "device": "--device",
    "depth": "--depth",
    "runs": "--runs",
    "warmup": "--warmup",
    "threads": "--threads",
    "repeats": "--repeats",
    **{f"max_{figure}": f"--max-{figure}" for figure in FIGURES},
}

# Flags that hold for one run, never project defaults: where a run writes, what it
# overwrites, what lets it execute a model's ops or Python code, and what names one model's
# loops. A pyproject.toml is the checked-out repository's — in CI, the pull request's: a
# `formulas` key there would run the pull request's code.
PER_RUN = {
    "output",
    "format",
    "update-baseline",
    "compare-freeze",
    "allow-unsafe-ops",
    "config",
    "formulas",
    "loop-iterations",
}
_WHY_PER_RUN = {
    "formulas": "it imports and runs that Python file: name it with --formulas on the command line",
}
# Settings that name files: relative to the configuration file's folder, inside its
# project (and ``device``, when it names a file).
PATH_SETTINGS = {"models", "baseline", "summary", "junit", "checkpoint"}


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (no usage block), exit code 2, and the
    nearest command, choice or flag suggested for a mistyped one."""

    def error(self, message: str) -> None:
        raise TfflopsError(message)

    def _check_value(self, action, value):
        if action.choices is None or value in action.choices:
            return
        choices = ", ".join(map(str, action.choices))
        what = "command" if action.dest == "command" else "choice"
        raise argparse.ArgumentError(
            None if action.dest == "command" else action,
            f"unknown {what} {value!r}{_nearest(value, action.choices)} (choose from {choices})",
        )

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            commands = getattr(self, "commands", {})  # set on the top-level parser
            command = commands.get(getattr(parsed, "command", None), self)
            options = [o for a in command._actions for o in a.option_strings]
            hint = _nearest(extras[0], options) if extras[0].startswith("-") else ""
            self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return parsed


def _nearest(word: str, candidates) -> str:
    """``; did you mean 'profile'?`` for the candidate nearest ``word``, if one is near."""
    import difflib  # (here: only an error needs it, and every command would pay its import)

    close = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Repeatable(argparse.Action):
    """A repeatable option (``append``) whose command-line values replace its default
    (a project's) instead of adding to it."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = getattr(namespace, self.dest, None)
        if items is None or items is self.default:
            items = []
        setattr(namespace, self.dest, [*items, values])


# ---------------------------------------------------------------- option values


def parse_shape(text: str) -> tuple[str, list[int | None]]:
    """``"x=1,224,224,3"`` → ("x", [1, 224, 224, 3]); ``?`` or ``-1`` is an unknown dim."""
    name, sep, dims = text.partition("=")
    if not sep or not name.strip():
        raise TfflopsError(f"--input-shape {text!r}: expected NAME=D1,D2,... e.g. x=1,224,224,3")
    shape: list[int | None] = []
    for d in dims.split(",") if dims.strip() else []:
        d = d.strip()
        if d in ("?", "-1", "None"):
            shape.append(None)
        elif d.isdigit() and int(d) < _MAX_DIM:
            shape.append(int(d))
        elif d.isdigit():
            raise TfflopsError(f"--input-shape {text!r}: {d} is over the int64 limit")
        else:
            raise TfflopsError(f"--input-shape {text!r}: {d!r} is not a dimension")
    return name.strip(), shape


_MAX_DIM = 2**63  # a TensorShapeProto dimension is an int64


def parse_shapes(shapes: list[tuple[str, list[int | None]]]) -> dict[str, list[int | None]]:
    """Every ``--input-shape``; one input named twice is an error, not last-one-wins."""
    from tfflops.graph.index import parse_tensor_name

    found: dict[str, list[int | None]] = {}
    for name, shape in shapes:
        if parse_tensor_name(name).node in {parse_tensor_name(n).node for n in found}:
            raise TfflopsError(f"--input-shape: {name} is given twice")
        found[name] = shape
    return found


def parse_loop_iteration(text: str) -> tuple[str, int]:
    """``"lstm/while=50"`` → ("lstm/while", 50): a loop's name and a whole number of
    iterations (the library checks the name and the bound)."""
    name, sep, number = (part.strip() for part in text.partition("="))
    if not sep or not name:
        raise TfflopsError(
            f"--loop-iterations {text!r}: expected NAME=N, e.g. lstm/while=50 (the loop's name "
            "as the profile's notes give it)"
        )
    if not number.isdigit() or not number.isascii():
        raise TfflopsError(f"--loop-iterations {text!r}: {number!r} is not a number of iterations")
    if len(number) > len(str(MAX_GIVEN_TRIPS)):  # never parse a huge number
        raise TfflopsError(f"--loop-iterations {name}: over {MAX_GIVEN_TRIPS:,} iterations")
    return name, int(number)


def add_loop_iterations(parser: argparse.ArgumentParser) -> None:
    """``--loop-iterations NAME=N`` (repeatable): a loop's trip count."""
    parser.add_argument(
        "--loop-iterations",
        action=Repeatable,
        type=parse_loop_iteration,
        default=[],
        metavar="NAME=N",
        help="a loop's trip count, where the graph does not fix it (repeatable; NAME as the "
        "profile's notes give it)",
    )


def parse_loop_iterations(given: list[tuple[str, int]]) -> dict[str, int]:
    """Every ``--loop-iterations``; one loop named twice is an error, not last-one-wins."""
    found: dict[str, int] = {}
    for name, trips in given:
        if name in found:
            raise TfflopsError(f"--loop-iterations: {name} is given twice")
        found[name] = trips
    return found


def outputs_option(text: str) -> str:
    """``--outputs``: at least one name (an empty value is not "the default")."""
    if not any(name.strip() for name in text.split(",")):
        raise argparse.ArgumentTypeError("empty: name at least one output node")
    return text


def fail_on_option(text: str) -> list[str]:
    """``--fail-on mismatch,unsupported`` → the findings, each one of FINDINGS."""
    findings = [f.strip() for f in text.split(",") if f.strip()]
    for finding in findings:
        if finding not in FINDINGS:
            raise TfflopsError(
                f"--fail-on {finding!r}: choose from {', '.join(FINDINGS)}"
                + _nearest(finding, FINDINGS)
            )
    return findings


def budget_option(figure: str):
    """``--max-flops 4.1G`` → 4_100_000_000 (``tfflops.numbers.parse_number``)."""

    def parse(text: str) -> int:
        return parse_number(text, f"max_{figure}")

    return parse


# ---------------------------------------------------------------- project defaults

CONFIG_FILE = "pyproject.toml"
CONFIG_LIMIT = 4 << 20  # bytes; a pyproject.toml is a few kilobytes


def apply_config(parser: argparse.ArgumentParser, argv: list[str]) -> Path | None:
    """Make the ``[tool.tfflops]`` settings the commands' defaults; returns the file read.

    Each key must be a long flag of some command (or ``models``) and hold what that flag
    takes: true or false for a switch, a string or number, a list for a repeatable or
    comma-separated option. Anything else is a TfflopsError naming the file and key.
    """
    pre = Parser(add_help=False, allow_abbrev=False)
    pre.add_argument("--config")
    pre.add_argument("--no-config", action="store_true")
    known, _ = pre.parse_known_args(argv)
    if known.no_config:
        return None
    path = Path(known.config) if known.config else find_config(Path.cwd())
    if path is None:
        return None
    settings: dict[str, list] = {}
    for command in parser.commands.values():
        for action in command._actions:
            names = [o[2:] for o in action.option_strings if o.startswith("--")]
            names += ["models"] if action.dest == "models" else []
            for name in names:
                if name not in PER_RUN and name not in ("help", "no-config"):
                    settings.setdefault(name, []).append((command, action))
    for key, value in read_config(path).items():
        if key not in settings:
            why = ""
            if key in PER_RUN:
                why = f" ({_WHY_PER_RUN.get(key, 'a flag for one run, not a project default')})"
            hint = why or _nearest(key, settings)
            raise TfflopsError(f"{path}: [tool.tfflops] {key}: not a setting{hint}")
        for command, action in settings[key]:
            # Every action of the destination (--no-tfprof and --tfprof share one) takes it.
            command.set_defaults(**{action.dest: _setting(path, key, value, action)})
    return path


def _setting(path: Path, key: str, value, action: argparse.Action):
    """A ``[tool.tfflops]`` value as the flag would give it, checked as the flag is."""
    where = f"{path}: [tool.tfflops] {key}"
    if action.nargs == 0:  # a switch
        if not isinstance(value, bool):
            raise TfflopsError(f"{where} = {value!r}: must be true or false")
        return action.const if value else not action.const
    items = value if isinstance(value, list) else [value]
    if not items or not all(_is_scalar(v) for v in items):
        raise TfflopsError(f"{where} = {value!r}: must be a string, a number or a list of them")
    texts = [str(v) for v in items]
    if key in PATH_SETTINGS or (key == "device" and device_file(texts[0]) is not None):
        texts = [_project_path(where, path, text) for text in texts]
    if isinstance(action, Repeatable) or action.dest == "models":
        return [_converted(where, text, action) for text in texts]
    return _converted(where, ",".join(texts), action)


def _project_path(where: str, path: Path, text: str) -> str:
    """A path setting (a glob for ``models``), relative to the settings file ``path``,
    as the working directory spells it; a TfflopsError if it leaves the project.

    The project is the repository that holds the settings file (else its folder): in CI
    the file is the pull request's, and a path outside — absolute, through ``..``, or
    through a symlink — would let it read, or make ``--summary``/``--junit`` write,
    anywhere the runner can (a shell's startup file); nor may it name ``.git``'s files
    (its config and hooks are code git runs). Outside paths are given on the command line.
    """
    root = _project_root(path.parent)
    parts = Path(text).parts
    fixed = next((k for k, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    real = Path(os.path.realpath(path.parent.joinpath(*parts[:fixed])))
    if not real.is_relative_to(root) or ".." in parts[fixed:]:
        raise TfflopsError(
            f"{where} = {text!r}: outside the project {root} (a setting names files "
            "inside it; give an outside path on the command line)"
        )
    named = (*real.relative_to(root).parts, *parts[fixed:])
    if any(part.casefold() == ".git" for part in named):  # (macOS ignores case: .GIT is it)
        raise TfflopsError(  # its config and hooks run: a report written there is code
            f"{where} = {text!r}: inside the repository's .git folder (a setting names "
            "the project's files, never git's)"
        )
    return os.path.relpath(path.parent / text)


def _project_root(folder: Path) -> Path:
    """The repository holding ``folder`` (the nearest folder with ``.git``), else
    ``folder``: real paths, symlinks resolved."""
    real = Path(os.path.realpath(folder))
    return next((f for f in (real, *real.parents) if (f / ".git").exists()), real)


def _is_scalar(value) -> bool:
    """A TOML string or number (a bool is neither)."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _converted(where: str, text: str, action: argparse.Action):
    try:
        value = action.type(text) if action.type else text
    except TfflopsError as e:
        raise TfflopsError(f"{where}: {e.spelled(FLAGS)}") from None
    except (argparse.ArgumentTypeError, TypeError, ValueError) as e:
        raise TfflopsError(f"{where} = {text!r}: {e}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        hint = _nearest(text, action.choices)
        raise TfflopsError(f"{where} = {text!r}: choose from {choices}{hint}")
    return value


def find_config(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` with a ``[tool.tfflops]`` table.

    A pyproject.toml whose bytes cannot spell that table — no ``tfflops``, and no escape a
    quoted key could spell it with (``"\\u0074fflops"``) — is the project's business, not
    tfflops': it is not parsed, nor its TOML judged (which also spares every run in such
    a project the TOML parser's import)."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file() and "tfflops" in _read(candidate, ours_only=True).get("tool", {}):
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def read_config(path: Path) -> dict:
    """The ``[tool.tfflops]`` table of ``path``; a TfflopsError naming the file when it
    cannot be read, is no TOML, or has no such table."""
    table = _read(path).get("tool", {}).get("tfflops")
    if table is None:
        raise TfflopsError(f"{path}: has no [tool.tfflops] table")
    if not isinstance(table, dict):
        raise TfflopsError(f"{path}: [tool.tfflops] is not a table")
    return table


def _read(path: Path, ours_only: bool = False) -> dict:
    """A settings file, read only if it is a regular file (a FIFO would block, a device
    never end) of at most CONFIG_LIMIT bytes; ``ours_only``: {} without parsing it when its
    bytes cannot spell a ``tfflops`` key (``find_config``)."""
    try:
        if path.exists() and not path.is_file():
            raise TfflopsError(f"{path}: not a regular file")
        with open(path, "rb") as f:
            data = f.read(CONFIG_LIMIT + 1)
    except OSError as e:
        raise TfflopsError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > CONFIG_LIMIT:
        raise TfflopsError(f"{path}: over {CONFIG_LIMIT} bytes, too big for a settings file")
    if ours_only and not (b"tfflops" in data or b"\\u" in data or b"\\U" in data):
        return {}
    import tomllib  # (here: a run without a settings file of ours never pays its import)

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TfflopsError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise TfflopsError(f"{path}: not valid TOML: nested too deeply") from None
    tool = doc.get("tool", {})
    if not isinstance(tool, dict):
        raise TfflopsError(f"{path}: [tool] is not a table")
    return doc


# What an output file's extension says it holds (--format, when not given).
EXTENSIONS = {
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}


def check_top(top: int | None) -> None:
    """``--top``: 0 (every row) or more."""
    if top is not None and top < 0:
        raise TfflopsError(f"--top {top}: must be 0 (every row) or more")


def report_format(args, formats: tuple[str, ...]) -> str:
    """``--format``, else the format ``-o``'s extension names, else table; an extension
    that contradicts ``--format``, or names a format the command does not write, is refused."""
    suffix = Path(args.output).suffix.lower() if args.output else ""
    implied = EXTENSIONS.get(suffix)
    if args.format is not None and implied not in (None, args.format):
        raise TfflopsError(
            f"-o {args.output}: a {suffix} file, but --format {args.format} (drop one of them)"
        )
    if args.format is None and implied is not None and implied not in formats:
        raise TfflopsError(
            f"-o {args.output}: {args.command} writes no {implied} (only {', '.join(formats)})"
        )
    return args.format or implied or "table"
