"""The command line: the commands, their options, and wiring; the work is in the library.

Every TfflopsError becomes one line on stderr and exit code 2, here and nowhere else; the
arguments a library error names (`input_shapes`) are spelled as their flags (FLAGS).
Project defaults come from ``[tool.tfflops]`` in pyproject.toml (``tfflops.arguments``);
flags given on the command line override them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace

from tfflops.analysis.conventions import CONVENTIONS
from tfflops.arguments import (
    FLAGS,
    Parser,
    Repeatable,
    add_loop_iterations,
    apply_config,
    budget_option,
    check_top,
    fail_on_option,
    outputs_option,
    parse_loop_iterations,
    parse_shape,
    parse_shapes,
    report_format,
)
from tfflops.errors import TfflopsError
from tfflops.files import check_writable, write_atomic
from tfflops.pipelines.check import DEFAULT_TIMEOUT, FIGURES, FINDINGS
from tfflops.pipelines.open import check_report_paths, input_files

# ---------------------------------------------------------------- the parser

_FILE_HELP = "a GraphDef (.pb, .pbtxt), SavedModel directory, .meta, .keras or .h5 file"
_MODEL_HELP = f"{_FILE_HELP}; - reads a GraphDef from stdin"


def _parents() -> dict[str, argparse.ArgumentParser]:
    """The option groups several commands share, each one parser to inherit from."""
    common = Parser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no notes or progress on stderr (errors stay)"
    )
    config = common.add_mutually_exclusive_group()
    config.add_argument(
        "--config",
        metavar="FILE",
        help="take defaults from FILE's [tool.tfflops] table (default: the nearest "
        "pyproject.toml that has one, from here up to the repository root)",
    )
    config.add_argument("--no-config", action="store_true", help="ignore pyproject.toml")
    common.add_argument(
        "--color",
        default="auto",
        choices=("auto", "always", "never"),
        help="colour verdicts and findings: auto (on a terminal, unless NO_COLOR; the default), "
        "always or never",
    )

    saved_model = Parser(add_help=False)
    saved_model.add_argument(
        "--signature",
        metavar="NAME",
        help="a SavedModel's signature (default: serving_default, else its only one)",
    )
    saved_model.add_argument(
        "--tag-set",
        metavar="TAGS",
        help="a SavedModel's MetaGraph by its tags, e.g. serve or serve,gpu "
        "(default: the one tagged serve, else the first)",
    )

    graph = Parser(add_help=False)
    graph.add_argument(
        "--outputs",
        type=outputs_option,
        metavar="A,B",
        help="output node names, comma-separated (default: a SavedModel's signature's or a "
        "Keras model's, else the graph's sinks)",
    )
    graph.add_argument(
        "--input-shape",
        action=Repeatable,
        type=parse_shape,
        default=[],
        metavar="NAME=D1,D2,...",
        help="an input's shape, by node name or signature input key (repeatable); an "
        "unknown batch is otherwise 1, and a Keras file is traced at batch 1",
    )

    counting = Parser(add_help=False)
    counting.add_argument(
        "--convention",
        default="tfprof",
        choices=CONVENTIONS,
        help=f"how FLOPs are counted: {', '.join(CONVENTIONS)} (default tfprof: as "
        "tf.profiler counts; macs: multiply-accumulates)",
    )
    tfprof = counting.add_mutually_exclusive_group()
    tfprof.add_argument(
        "--no-tfprof",
        action="store_true",
        help="analytic count only: skip tf.profiler, never import TensorFlow",
    )
    tfprof.add_argument(
        "--tfprof",
        dest="no_tfprof",
        action="store_false",
        help="cross-check with tf.profiler (the default; overrides no-tfprof in pyproject.toml)",
    )
    counting.add_argument(
        "--formulas",
        action="append",
        default=[],
        metavar="FILE.py",
        help="import this Python file of custom op formulas (tfflops.register_op); it runs "
        "as your code: never taken from pyproject.toml (repeatable)",
    )

    counting.add_argument(
        "--device", metavar="NAME|FILE.json", help="estimate the time on it (tfflops devices)"
    )

    training = Parser(add_help=False)
    training.add_argument(
        "--training",
        action="store_true",
        help="add one training step, forward + backward (train_flops): the one the graph "
        "holds, else estimated from its forward pass",
    )
    return {
        "common": common,
        "saved_model": saved_model,
        "graph": graph,
        "counting": counting,
        "training": training,
    }


def _add_report_options(parser, formats: tuple[str, ...], what: str) -> None:
    parser.add_argument(
        "--format",
        choices=formats,
        help=f"{', '.join(formats)} (default: as -o's extension says, else table)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help=f"write {what} here (atomically), not to stdout"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="tfflops",
        description="FLOPs, MACs, params and bytes of TensorFlow models, cross-checked with "
        "tf.profiler.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 bad usage or unreadable input. Project "
        "defaults: [tool.tfflops] in pyproject.toml, keys spelled as the long flags "
        '(convention = "macs", max-flops = "4.1G"). `tfflops COMMAND -h` for a command.',
    )
    from tfflops.version import __version__

    parser.add_argument("--version", action="version", version=f"tfflops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parents = _parents()
    common, saved_model = parents["common"], parents["saved_model"]
    counted = [common, saved_model, parents["graph"], parents["counting"]]

    p = sub.add_parser(
        "profile",
        parents=[*counted, parents["training"]],
        help="count FLOPs, params and bytes; cross-check tf.profiler",
    )
    p.add_argument("model", help=_MODEL_HELP)
    p.add_argument(
        "--by",
        choices=("node", "op", "scope", "layer"),
        help="one table, its rows grouped by node, op (type), scope or layer (default: op "
        "types then nodes)",
    )
    p.add_argument("--depth", type=int, default=1, metavar="N", help="a layer's scopes (1)")
    p.add_argument(
        "--top",
        type=int,
        metavar="N",
        help="keep the N largest rows (a table's default: 10; 0: all)",
    )
    add_loop_iterations(p)
    _add_report_options(p, ("table", "json", "csv", "markdown", "html"), "the report")
    p.add_argument(
        "--compare-freeze",
        action="store_true",
        help="compare the model with itself frozen to the outputs (in memory, runs nothing)",
    )
    p.set_defaults(run=_profile)

    _add_check_parser(sub, counted)
    _add_freeze_parsers(sub, parents)

    i = sub.add_parser(
        "inspect",
        parents=[common, saved_model],
        help="what a model holds: inputs, outputs, variables, ops",
    )
    i.add_argument("model", help=_FILE_HELP)
    i.add_argument("--format", default="table", choices=("table", "json"), help="table or json")
    i.set_defaults(run=_inspect)

    o = sub.add_parser("ops", parents=[common], help="list the supported ops and their formulas")
    o.add_argument(
        "--formulas",
        action="append",
        default=[],
        metavar="FILE.py",
        help="import this Python file of custom op formulas first, and list them too",
    )
    o.set_defaults(run=_ops)
    _add_time_parsers(sub, parents)
    parser.commands = dict(sub.choices)
    return parser


def _add_check_parser(sub, parents) -> None:
    c = sub.add_parser(
        "check",
        parents=parents,
        help="fail CI when a model is over a budget or grew past its baseline",
        description="Exit codes: 0 every check passed, 1 a check failed, 2 usage or "
        "unreadable input. Numbers accept decimal suffixes K, M, G, T (4.1G, 300M).",
    )
    c.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help="files, directories or globs (default: models in [tool.tfflops])",
    )
    for figure, what in (
        ("flops", "FLOPs under --convention"),
        ("macs", "multiply-accumulates"),
        ("params", "parameters"),
        ("bytes", "bytes moved"),
    ):
        c.add_argument(
            f"--max-{figure}", type=budget_option(figure), metavar="N", help=f"budget for {what}"
        )
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
        type=fail_on_option,
        default=[],
        metavar="LIST",
        help=f"fail on cross-check findings, comma-separated: {', '.join(FINDINGS)}",
    )
    c.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    help = f"time limit per model (default {DEFAULT_TIMEOUT:g}); over it, an error (exit 2)"
    c.add_argument("--timeout", type=float, metavar="SECONDS", help=help)
    c.add_argument("--summary", metavar="FILE", help="write a Markdown summary here")
    c.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    c.set_defaults(run=_check)


def _add_freeze_parsers(sub, parents) -> None:
    common, saved_model, graph = parents["common"], parents["saved_model"], parents["graph"]
    f = sub.add_parser(
        "freeze",
        parents=[common, saved_model, graph],
        help="variables → constants, pruned to the outputs",
    )
    f.add_argument("model", help=_MODEL_HELP)
    f.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.pb",
        help="the frozen graph (.pbtxt: text format)",
    )
    f.add_argument(
        "--checkpoint",
        metavar="PREFIX",
        help="read the values from this checkpoint (default for a .meta: the prefix beside it)",
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
    f.set_defaults(run=_freeze)

    c = sub.add_parser(
        "compare",
        parents=[common, saved_model, graph, parents["counting"], parents["training"]],
        help="two models side by side, and why their counts differ",
    )
    c.add_argument("before", help=_MODEL_HELP)
    c.add_argument("after", help=_MODEL_HELP)
    c.add_argument("--top", type=int, metavar="N", help="keep the N most changed nodes (0: all)")
    _add_report_options(c, ("table", "json", "markdown"), "the comparison")
    c.set_defaults(run=_compare)


def _add_time_parsers(sub, parents) -> None:
    common, saved_model, graph = parents["common"], parents["saved_model"], parents["graph"]
    d = sub.add_parser("devices", parents=[common], help="the built-in device profiles")
    d.add_argument("--format", default="table", choices=("table", "json"), help="table or json")
    m = sub.add_parser("measure", parents=[common, saved_model, graph], help="run and time it")
    m.add_argument("model", help=_FILE_HELP)
    m.add_argument("--device", metavar="NAME|FILE.json", help="estimate on it beside the times")
    m.add_argument("--allow-unsafe-ops", action="store_true", help="run ops not in the pure list")
    _add_report_options(m, ("table", "json"), "the report")
    c = sub.add_parser("calibrate", parents=[common], help="measure this machine's peaks")
    c.add_argument("-o", "--output", metavar="FILE.json", help="write the device file here")
    for parser, flag, default, what in (
        (m, "--runs", 10, "timed runs (10)"),
        (m, "--warmup", 3, "untimed runs first (3)"),
        (m, "--top", 15, "kernels in the table (15; 0: all)"),
        (c, "--repeats", 7, "runs per figure (7)"),
        (m, "--threads", None, "threads per kernel (default: all)"),
        (c, "--threads", None, "threads per kernel (default: all)"),
    ):
        parser.add_argument(flag, type=int, default=default, metavar="N", help=what)
    for parser, run in ((d, _devices), (m, _measure), (c, _calibrate)):
        parser.set_defaults(run=run)


# ---------------------------------------------------------------- running


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
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        apply_config(parser, argv)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        if getattr(args, "formulas", None):
            from tfflops.pipelines.formulas import load_formulas

            load_formulas(args.formulas)
        return args.run(args)
    except TfflopsError as e:
        print(f"tfflops: error: {e.spelled(FLAGS)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file or folder the command could not read or write
        where = f"{e.filename}: " if e.filename else ""
        print(f"tfflops: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


def _note(args, text: str) -> None:
    if not args.quiet:
        from tfflops.reports.layout import wrap

        width = screen_for(sys.stderr).width
        print("\n".join(wrap(text, width, "tfflops: note: ", "    ")), file=sys.stderr)


_STDIN = "<stdin>"


def _model(path: str):
    """The model a command reads: ``path``, or for ``-`` the GraphDef piped to stdin."""
    if path != "-":
        return path
    from tfflops.graph.loader import PROTOBUF_LIMIT, parse_model

    if sys.stdin is None or sys.stdin.isatty():
        raise TfflopsError("-: stdin is a terminal; pipe a GraphDef in (tfflops profile - < m.pb)")
    data = sys.stdin.buffer.read(PROTOBUF_LIMIT + 1)  # no more than protobuf could parse
    if len(data) > PROTOBUF_LIMIT:
        raise TfflopsError(f"{_STDIN}: over protobuf's 2 GiB message limit; cannot be parsed")
    graph_def, kind = parse_model(data, _STDIN)
    if not kind.startswith("GraphDef"):
        raise TfflopsError(f"{_STDIN}: holds a {kind}; give its file or directory instead")
    return graph_def


def _profile(args) -> int:
    from tfflops.pipelines.profile import profile
    from tfflops.reports.profile import render

    fmt = report_format(args, ("table", "json", "csv", "markdown", "html"))
    check_top(args.top)
    input_shapes = parse_shapes(args.input_shape)
    loop_iterations = parse_loop_iterations(args.loop_iterations)
    if loop_iterations and args.compare_freeze:
        raise TfflopsError("--loop-iterations: not with --compare-freeze")
    if fmt in ("json", "html") and not args.compare_freeze:
        for option, value in (("--by", args.by), ("--top", args.top)):
            if value is not None:
                raise TfflopsError(
                    f"{option}: --format {fmt} always has every node (use table, csv or markdown)"
                )
    if args.output is not None:
        check_writable(args.output, input_files(args.model))
    if args.compare_freeze:
        return _compare(args)
    result = profile(
        _model(args.model),
        outputs=args.outputs,
        input_shapes=input_shapes,
        convention=args.convention,
        tfprof=not args.no_tfprof,
        signature=args.signature,
        tag_set=args.tag_set,
        name=_STDIN,
        training=args.training,
        device=args.device,
        depth=args.depth,
        loop_iterations=loop_iterations,
    )
    _write(
        args, lambda screen: render(result, fmt, args.by, args.top, screen), input_files(args.model)
    )
    return 0


def _write(args, render, protect: list) -> None:
    """``render(screen)``'s text to ``-o`` (laid out for no terminal), else to stdout."""
    if args.output is not None:
        from tfflops.reports.layout import PLAIN

        write_atomic(args.output, render(PLAIN), protect=protect)
    else:
        sys.stdout.write(render(screen_for(sys.stdout, args.color)))


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


def _check(args) -> int:
    from tfflops.pipelines.check import expand_models, run_checks
    from tfflops.reports.check import (
        render_junit,
        render_markdown,
        render_result,
        render_verdict,
    )

    budgets = {
        figure: value for figure in FIGURES if (value := getattr(args, f"max_{figure}")) is not None
    }
    if args.tolerance and not args.baseline:
        raise TfflopsError("--tolerance needs --baseline FILE")
    if not args.models:
        raise TfflopsError("check: no models given (name them, or models in [tool.tfflops])")
    models = expand_models(args.models)
    reports = {"summary": args.summary, "junit": args.junit}
    protect = check_report_paths(models, args.baseline, reports, args.update_baseline)
    screen = screen_for(sys.stdout, args.color)

    def spelled(result):  # a model's error names the library's arguments: here, the flags
        return replace(result, error=result.error and TfflopsError(result.error).spelled(FLAGS))

    def print_result(result, k: int, total: int) -> None:  # as each model is done
        sys.stdout.write(render_result(spelled(result), k, total, args.convention, screen))
        sys.stdout.flush()

    run = run_checks(
        models,
        budgets=budgets,
        baseline=args.baseline,
        tolerance=args.tolerance,
        fail_on=args.fail_on,
        update_baseline=args.update_baseline,
        jobs=args.jobs,
        on_result=print_result,
        timeout=args.timeout,
        outputs=args.outputs,
        input_shapes=parse_shapes(args.input_shape),
        convention=args.convention,
        tfprof=not args.no_tfprof,
        signature=args.signature,
        tag_set=args.tag_set,
        formulas=args.formulas,
        device=args.device,
    )
    run = replace(run, results=tuple(spelled(r) for r in run.results))
    if args.summary:
        write_atomic(args.summary, render_markdown(run), protect=protect, argument="summary")
    if args.junit:
        write_atomic(args.junit, render_junit(run), protect=protect, argument="junit")
    sys.stdout.write(render_verdict(run, screen))
    if args.update_baseline:
        print(f"wrote {args.baseline}: {len(models) - len(run.errors)} model(s) updated")
    for r in run.errors:
        print(f"tfflops: error: {r.error}", file=sys.stderr)
    return 2 if run.errors else 0 if run.passed else 1


def _freeze(args) -> int:
    from tfflops.pipelines.freeze import freeze_model, write_graph_def

    inputs = input_files(args.model, checkpoint=args.checkpoint)
    check_writable(args.output, inputs)
    frozen = freeze_model(
        _model(args.model),
        args.outputs,
        args.checkpoint,
        args.allow_unsafe_ops,
        args.lower_control_flow,
        signature=args.signature,
        tag_set=args.tag_set,
        input_shapes=parse_shapes(args.input_shape),
        name=_STDIN,
    )
    write_graph_def(args.output, frozen.graph_def, protect=inputs)
    for note in frozen.notes:
        _note(args, note)
    variables = len(frozen.variables)
    source = f" from {frozen.values_from}" if frozen.values_from else ""
    from tfflops.reports.layout import wrap

    done = (
        f"wrote {args.output}: {frozen.nodes_before} nodes → {len(frozen.graph_def.node)}, "
        f"{variables} variable(s) frozen{source}; outputs {', '.join(frozen.outputs)}"
    )
    print("\n".join(wrap(done, screen_for(sys.stdout).width, "", "  ")))
    return 0


def _compare(args) -> int:
    from tfflops.pipelines.compare import compare, compare_freeze
    from tfflops.reports.compare import FORMATS, render_comparison

    fmt = report_format(args, FORMATS)
    if fmt not in FORMATS:  # profile --compare-freeze --format csv
        raise TfflopsError(f"--compare-freeze: --format {fmt} not available")
    check_top(args.top)
    options = {
        "outputs": args.outputs,
        "input_shapes": parse_shapes(args.input_shape),
        "convention": args.convention,
        "tfprof": not args.no_tfprof,
        "signature": args.signature,
        "tag_set": args.tag_set,
        "training": args.training,
        "device": args.device,
    }
    models = [args.model] if args.command == "profile" else [args.before, args.after]
    protect = input_files(*models)
    if args.output is not None:
        check_writable(args.output, protect)
    if args.command == "profile":
        if args.model == "-":
            raise TfflopsError("--compare-freeze: give the model's file, not stdin")
        result = compare_freeze(args.model, **options)
    else:
        if args.before == args.after == "-":
            raise TfflopsError("compare: stdin holds one model; give the other as a file")
        labels = tuple(_STDIN if m == "-" else m for m in (args.before, args.after))
        before, after = _model(args.before), _model(args.after)
        result = compare(before, after, **options, labels=labels)
    _write(args, lambda screen: render_comparison(result, fmt, args.top, screen), protect)
    return 0


def _devices(args) -> int:
    from tfflops.reports.devices import render_devices

    sys.stdout.write(render_devices(args.format, screen_for(sys.stdout, args.color)))
    return 0


def _measure(args) -> int:
    from tfflops.pipelines.measure import measure
    from tfflops.reports.measure import render_measured

    fmt = report_format(args, ("table", "json"))
    check_top(args.top)
    if args.output is not None:
        check_writable(args.output, [args.model])
    names = ("runs", "warmup", "threads", "device", "allow_unsafe_ops", "signature", "tag_set")
    options = {name: getattr(args, name) for name in names}
    result = measure(args.model, args.outputs, parse_shapes(args.input_shape), **options)
    _write(args, lambda screen: render_measured(result, fmt, args.top, screen), [args.model])
    return 0


def _calibrate(args) -> int:
    from tfflops.pipelines.measure import calibrate_device

    device = calibrate_device(args.output, threads=args.threads, repeats=args.repeats)
    if args.output is None:
        sys.stdout.write(device.to_json())
    return 0
