"""The command line: argument parsing and wiring only; the work is in the library.

Every TfflopsError becomes one line on stderr and exit code 2, here and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tfflops.conventions import CONVENTIONS
from tfflops.errors import TfflopsError


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (no usage block) and exit code 2."""

    def error(self, message: str) -> None:
        raise TfflopsError(message)


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
        elif d.isdigit():
            shape.append(int(d))
        else:
            raise TfflopsError(f"--input-shape {text!r}: {d!r} is not a dimension")
    return name.strip(), shape


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tfflops", description=__doc__.splitlines()[0])
    from tfflops import __version__

    parser.add_argument("--version", action="version", version=f"tfflops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("profile", help="count FLOPs, params and bytes; cross-check tf.profiler")
    p.add_argument("model", help="a GraphDef file (.pb or .pbtxt)")
    p.add_argument("--outputs", help="output node names, comma-separated (default: the sinks)")
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D1,D2,...",
        help="pin an input's shape (repeatable); an unknown batch otherwise defaults to 1",
    )
    p.add_argument("--convention", default="tfprof", choices=CONVENTIONS)
    p.add_argument("--by", choices=("node", "op", "scope"), help="group rows by")
    p.add_argument("--top", type=int, metavar="N", help="keep the N largest rows")
    p.add_argument("--format", default="table", choices=("table", "json", "csv", "markdown"))
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (atomically)")
    p.add_argument(
        "--no-tfprof",
        action="store_true",
        help="analytic count only: skip tf.profiler, never import TensorFlow",
    )

    sub.add_parser("ops", help="list the supported ops and their formulas")

    i = sub.add_parser("inspect", help="what a model holds: inputs, outputs, variables, ops")
    i.add_argument("model", help="a GraphDef (.pb, .pbtxt), SavedModel or .meta file")
    i.add_argument("--format", default="table", choices=("table", "json"))
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "profile":
            return _profile(args)
        if args.command == "inspect":
            return _inspect(args)
        return _ops()
    except TfflopsError as e:
        print(f"tfflops: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _profile(args) -> int:
    from tfflops.profiler import profile
    from tfflops.report import render

    if args.top is not None and args.top < 1:
        raise TfflopsError(f"--top {args.top}: must be at least 1")
    input_shapes = dict(parse_shape(s) for s in args.input_shape)
    result = profile(
        args.model,
        outputs=args.outputs,
        input_shapes=input_shapes,
        convention=args.convention,
        tfprof=not args.no_tfprof,
    )
    text = render(result, args.format, args.by, args.top)
    if args.output:
        write_atomic(args.output, text, protect=[args.model])
    else:
        sys.stdout.write(text)
    return 0


def _inspect(args) -> int:
    import json

    from tfflops.summary import inspect_model, render_summary

    summary = inspect_model(args.model)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    else:
        sys.stdout.write(render_summary(summary))
    return 0


def _ops() -> int:
    from tfflops.ops import REGISTRY, ZERO_COST, lookup

    lookup("")  # load the formula modules
    by_formula: dict = {}
    for op, fn in sorted(REGISTRY.items()):
        by_formula.setdefault(fn, []).append(op)
    for fn, ops in by_formula.items():
        doc = (fn.__doc__ or "").strip().splitlines()
        print(f"{', '.join(ops)}\n    {doc[0] if doc else ''}")
    print(f"\nzero cost ({len(ZERO_COST)}): {', '.join(sorted(ZERO_COST))}")
    return 0


def write_atomic(path: str, text: str, protect: list[str] = ()) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; never over an input."""
    target = Path(path)
    for other in protect:
        if Path(other).exists() and target.exists() and target.resolve() == Path(other).resolve():
            raise TfflopsError(f"-o {path}: refusing to overwrite the input model")
    if target.is_dir():
        raise TfflopsError(f"-o {path}: is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise TfflopsError(f"-o {path}: cannot write: {e.strerror or e}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
