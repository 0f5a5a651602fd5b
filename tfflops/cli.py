"""The command line: argument parsing and wiring only; the work is in the library.

Every TfflopsError becomes one line on stderr and exit code 2, here and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from tfflops.analysis.conventions import CONVENTIONS
from tfflops.errors import TfflopsError
from tfflops.files import check_writable, write_atomic


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
        elif d.isdigit() and int(d) < _MAX_DIM:
            shape.append(int(d))
        elif d.isdigit():
            raise TfflopsError(f"--input-shape {text!r}: {d} is over the int64 limit")
        else:
            raise TfflopsError(f"--input-shape {text!r}: {d!r} is not a dimension")
    return name.strip(), shape


_MAX_DIM = 2**63  # a TensorShapeProto dimension is an int64


def parse_shapes(texts: list[str]) -> dict[str, list[int | None]]:
    """Every ``--input-shape``; one input named twice is an error, not last-one-wins."""
    from tfflops.graph.index import parse_tensor_name

    shapes: dict[str, list[int | None]] = {}
    for text in texts:
        name, shape = parse_shape(text)
        if parse_tensor_name(name).node in {parse_tensor_name(n).node for n in shapes}:
            raise TfflopsError(f"--input-shape: {name} is given twice")
        shapes[name] = shape
    return shapes


def outputs_option(text: str) -> str:
    """``--outputs``: at least one name (an empty value is not "the default")."""
    if not any(name.strip() for name in text.split(",")):
        raise argparse.ArgumentTypeError("empty: name at least one output node")
    return text


_MODEL_HELP = "a GraphDef (.pb, .pbtxt), SavedModel directory, .meta, .keras or .h5 file"


def _add_format_options(parser) -> None:
    parser.add_argument(
        "--signature",
        metavar="NAME",
        help="a SavedModel's signature (default: serving_default, else its only one)",
    )
    parser.add_argument(
        "--tag-set",
        metavar="TAGS",
        help="a SavedModel's MetaGraph by its tags, e.g. serve or serve,gpu "
        "(default: the one tagged serve, else the first)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tfflops",
        description="FLOPs, MACs, params and bytes of TensorFlow models, cross-checked with "
        "tf.profiler.",
    )
    from tfflops.version import __version__

    parser.add_argument("--version", action="version", version=f"tfflops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("profile", help="count FLOPs, params and bytes; cross-check tf.profiler")
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument(
        "--outputs",
        type=outputs_option,
        help="output node names, comma-separated (default: the signature's, else the sinks)",
    )
    _add_format_options(p)
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D1,D2,...",
        help="pin an input's shape (repeatable); an unknown batch otherwise defaults to 1",
    )
    p.add_argument("--convention", default="tfprof", choices=CONVENTIONS)
    p.add_argument("--by", choices=("node", "op", "scope"), help="group rows by")
    p.add_argument("--top", type=int, metavar="N", help="keep the N largest rows (0: all)")
    p.add_argument(
        "--format", default="table", choices=("table", "json", "csv", "markdown", "html")
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (atomically)")
    p.add_argument(
        "--no-tfprof",
        action="store_true",
        help="analytic count only: skip tf.profiler, never import TensorFlow",
    )
    p.add_argument(
        "--compare-freeze",
        action="store_true",
        help="compare the model with itself frozen to the outputs (in memory, runs nothing)",
    )

    _add_check_parser(sub)
    _add_freeze_parsers(sub)
    sub.add_parser("ops", help="list the supported ops and their formulas")

    i = sub.add_parser("inspect", help="what a model holds: inputs, outputs, variables, ops")
    i.add_argument("model", help=_MODEL_HELP)
    i.add_argument("--format", default="table", choices=("table", "json"))
    _add_format_options(i)
    for command in sub.choices.values():
        command.add_argument(
            "--color",
            default="auto",
            choices=("auto", "always", "never"),
            help="colour verdicts and findings (default auto: on a terminal, unless NO_COLOR)",
        )
    return parser


def screen_for(stream, color: str = "auto"):
    """The width and colour of text written to ``stream``.

    Width: ``COLUMNS`` if set, else the terminal's; 80 when ``stream`` is no terminal
    (never under 40). Colour: ``always``, ``never``, or ``auto``: on a terminal unless
    ``NO_COLOR`` is set (no-color.org) or ``TERM`` is ``dumb``.
    """
    from tfflops.reports.layout import MIN_WIDTH, Screen

    terminal = stream.isatty()
    width = 80
    if terminal or os.environ.get("COLUMNS", "").strip().isdigit():
        width = shutil.get_terminal_size((80, 24)).columns
    if color == "auto":
        plain = os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"
        use_color = terminal and not plain
    else:
        use_color = color == "always"
    return Screen(max(width, MIN_WIDTH), use_color)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "profile":
            return _profile(args)
        if args.command == "check":
            return _check(args)
        if args.command == "freeze":
            return _freeze(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "inspect":
            return _inspect(args)
        return _ops(args)
    except TfflopsError as e:
        print(f"tfflops: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file or folder the command could not read or write
        where = f"{e.filename}: " if e.filename else ""
        print(f"tfflops: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


def _profile(args) -> int:
    from tfflops.pipelines.profile import profile
    from tfflops.reports.profile import render

    _check_top(args.top)
    input_shapes = parse_shapes(args.input_shape)
    if args.format in ("json", "html") and not args.compare_freeze:
        for option, value in (("--by", args.by), ("--top", args.top)):
            if value is not None:
                raise TfflopsError(
                    f"{option}: --format {args.format} always has every node (use table, "
                    "csv or markdown)"
                )
    if args.output is not None:
        check_writable(args.output, [args.model])
    if args.compare_freeze:
        return _compare(args)
    result = profile(
        args.model,
        outputs=args.outputs,
        input_shapes=input_shapes,
        convention=args.convention,
        tfprof=not args.no_tfprof,
        signature=args.signature,
        tag_set=args.tag_set,
    )
    if args.output is not None:
        text = render(result, args.format, args.by, args.top)
        write_atomic(args.output, text, protect=[args.model])
    else:
        screen = screen_for(sys.stdout, args.color)
        sys.stdout.write(render(result, args.format, args.by, args.top, screen))
    return 0


def _check_top(top: int | None) -> None:
    if top is not None and top < 0:
        raise TfflopsError(f"--top {top}: must be 0 (every row) or more")


def _inspect(args) -> int:
    import json

    from tfflops.pipelines.inspect import inspect_model
    from tfflops.reports.inspect import render_summary

    summary = inspect_model(args.model, signature=args.signature, tag_set=args.tag_set)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    else:
        sys.stdout.write(render_summary(summary, screen_for(sys.stdout, args.color)))
    return 0


def _ops(args) -> int:
    from tfflops.reports.ops import render_ops

    sys.stdout.write(render_ops(screen_for(sys.stdout, args.color)))
    return 0


def _add_check_parser(sub) -> None:
    c = sub.add_parser(
        "check",
        help="fail CI when a model is over a budget or grew past its baseline",
        description="Exit codes: 0 every check passed, 1 a check failed, 2 usage or "
        "unreadable input. Numbers accept decimal suffixes K, M, G, T (4.1G, 300M).",
    )
    c.add_argument("models", nargs="+", metavar="MODEL", help="files, directories or globs")
    for figure, what in (
        ("flops", "FLOPs under --convention"),
        ("macs", "multiply-accumulates"),
        ("params", "parameters"),
        ("bytes", "bytes moved"),
    ):
        c.add_argument(f"--max-{figure}", metavar="N", help=f"budget for {what}")
    c.add_argument("--baseline", metavar="FILE", help="JSON figures to compare with")
    c.add_argument(
        "--update-baseline", action="store_true", help="(re)write --baseline from this run"
    )
    c.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        metavar="PCT",
        help="growth allowed per figure over the baseline, in percent (default 0)",
    )
    c.add_argument(
        "--fail-on",
        default="",
        metavar="LIST",
        help="fail on cross-check findings: mismatch,unsupported,unknown-shape",
    )
    c.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    c.add_argument("--summary", metavar="FILE", help="write a Markdown summary here")
    c.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    c.add_argument(
        "--outputs",
        type=outputs_option,
        help="output node names, comma-separated (default: the signature's, else the sinks)",
    )
    c.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=D1,D2,...", help="pin a shape"
    )
    c.add_argument("--convention", default="tfprof", choices=CONVENTIONS)
    c.add_argument("--no-tfprof", action="store_true", help="analytic count only, no TensorFlow")
    _add_format_options(c)


def _check(args) -> int:
    from tfflops.numbers import parse_number
    from tfflops.pipelines.check import FIGURES, FINDINGS, expand_models, run_checks
    from tfflops.reports.check import (
        render_junit,
        render_markdown,
        render_result,
        render_verdict,
    )

    budgets = {
        figure: parse_number(text, f"--max-{figure}")
        for figure in FIGURES
        if (text := getattr(args, f"max_{figure}")) is not None
    }
    fail_on = [f.strip() for f in args.fail_on.split(",") if f.strip()]
    for finding in fail_on:
        if finding not in FINDINGS:
            raise TfflopsError(f"--fail-on {finding!r}: choose from {', '.join(FINDINGS)}")
    if args.tolerance and not args.baseline:
        raise TfflopsError("--tolerance needs --baseline FILE")
    models = expand_models(args.models)
    files = [("--baseline", args.baseline), ("--summary", args.summary), ("--junit", args.junit)]
    files = [(option, path) for option, path in files if path]
    for option, path in files:
        if option != "--baseline":  # read first; --update-baseline checks it when writing
            check_writable(path, models, option)
    for k, (option, path) in enumerate(files):  # no two of them one file
        for other, other_path in files[k + 1 :]:
            if Path(path).resolve() == Path(other_path).resolve():
                raise TfflopsError(f"{option} and {other}: both name {other_path}")
    protect = [*models, *([args.baseline] if args.baseline else [])]
    screen = screen_for(sys.stdout, args.color)

    def print_result(result, k: int, total: int) -> None:  # as each model is done
        sys.stdout.write(render_result(result, k, total, args.convention, screen))
        sys.stdout.flush()

    run = run_checks(
        models,
        budgets=budgets,
        baseline=args.baseline,
        tolerance=args.tolerance,
        fail_on=fail_on,
        update_baseline=args.update_baseline,
        jobs=args.jobs,
        on_result=print_result,
        outputs=args.outputs,
        input_shapes=parse_shapes(args.input_shape),
        convention=args.convention,
        tfprof=not args.no_tfprof,
        signature=args.signature,
        tag_set=args.tag_set,
    )
    if args.summary:
        write_atomic(args.summary, render_markdown(run), protect=protect, option="--summary")
    if args.junit:
        write_atomic(args.junit, render_junit(run), protect=protect, option="--junit")
    sys.stdout.write(render_verdict(run, screen))
    if args.update_baseline:
        print(f"wrote {args.baseline}: {len(models)} model(s) updated")
    return 0 if run.passed else 1


def _add_freeze_parsers(sub) -> None:
    f = sub.add_parser("freeze", help="variables → constants, pruned to the outputs")
    f.add_argument("model", help=_MODEL_HELP)
    f.add_argument(
        "--outputs",
        type=outputs_option,
        help="output node names, comma-separated (default: a SavedModel's or Keras model's)",
    )
    f.add_argument("-o", "--output", required=True, metavar="OUT.pb", help="the frozen graph")
    f.add_argument(
        "--checkpoint",
        metavar="PREFIX",
        help="read the values from this checkpoint (default for a .meta: the prefix beside it)",
    )
    _add_format_options(f)
    f.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D1,D2,...",
        help="the shape a Keras model is traced at (default: batch 1)",
    )
    f.add_argument(
        "--allow-unsafe-ops",
        action="store_true",
        help="run initializers or restore ops even if they hold ops outside the pure list",
    )
    f.add_argument(
        "--lower-control-flow",
        action="store_true",
        help="inline function calls and lower v2 If/While to Switch/Merge, so they count",
    )

    c = sub.add_parser("compare", help="two graphs side by side, and why their counts differ")
    c.add_argument("before", help=_MODEL_HELP)
    c.add_argument("after", help=_MODEL_HELP)
    c.add_argument(
        "--outputs",
        type=outputs_option,
        help="output node names in both (default: each model's signature's, else its sinks)",
    )
    _add_format_options(c)
    c.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=D1,D2,...", help="pin a shape"
    )
    c.add_argument("--convention", default="tfprof", choices=CONVENTIONS)
    c.add_argument("--top", type=int, metavar="N", help="keep the N most changed nodes (0: all)")
    c.add_argument("--format", default="table", choices=("table", "json", "markdown"))
    c.add_argument("-o", "--output", metavar="FILE", help="write the report here (atomically)")
    c.add_argument("--no-tfprof", action="store_true", help="analytic count only, no TensorFlow")


def _freeze(args) -> int:
    from tfflops.pipelines.freeze import freeze_model, inputs_of, write_graph_def

    check_writable(args.output, inputs_of(args.model, args.checkpoint))
    frozen = freeze_model(
        args.model,
        args.outputs,
        args.checkpoint,
        args.allow_unsafe_ops,
        args.lower_control_flow,
        signature=args.signature,
        tag_set=args.tag_set,
        input_shapes=parse_shapes(args.input_shape),
    )
    write_graph_def(args.output, frozen.graph_def, protect=inputs_of(args.model, args.checkpoint))
    from tfflops.reports.layout import wrap

    width = screen_for(sys.stderr).width
    for note in frozen.notes:
        print("\n".join(wrap(note, width, "tfflops: note: ", "    ")), file=sys.stderr)
    variables = len(frozen.variables)
    source = f" from {frozen.values_from}" if frozen.values_from else ""
    done = (
        f"wrote {args.output}: {frozen.nodes_before} nodes → {len(frozen.graph_def.node)}, "
        f"{variables} variable(s) frozen{source}; outputs {', '.join(frozen.outputs)}"
    )
    print("\n".join(wrap(done, screen_for(sys.stdout).width, "", "  ")))
    return 0


def _compare(args) -> int:
    from tfflops.pipelines.compare import compare, compare_freeze
    from tfflops.reports.compare import render_comparison

    _check_top(args.top)
    options = {
        "outputs": args.outputs,
        "input_shapes": parse_shapes(args.input_shape),
        "convention": args.convention,
        "tfprof": not args.no_tfprof,
        "signature": args.signature,
        "tag_set": args.tag_set,
    }
    if args.command == "compare" and args.output is not None:
        check_writable(args.output, [args.before, args.after])
    if args.command == "profile":
        if args.format not in ("table", "json", "markdown"):
            raise TfflopsError(f"--compare-freeze: --format {args.format} not available")
        result = compare_freeze(args.model, **options)
        protect = [args.model]
    else:
        result = compare(args.before, args.after, **options)
        protect = [args.before, args.after]
    if args.output is not None:
        write_atomic(args.output, render_comparison(result, args.format, args.top), protect=protect)
    else:
        screen = screen_for(sys.stdout, args.color)
        sys.stdout.write(render_comparison(result, args.format, args.top, screen))
    return 0
