"""What each command does once its arguments are parsed: call the library, write the
report. A TfflopsError goes up to ``tfflops.cli.main``."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace

from tfflops.arguments import (
    FLAGS,
    check_top,
    parse_loop_iterations,
    parse_shapes,
    report_format,
)
from tfflops.errors import TfflopsError
from tfflops.files import check_writable, write_atomic
from tfflops.pipelines.limits import FIGURES
from tfflops.pipelines.open import check_report_paths, input_files, option_files
from tfflops.reports.layout import printable


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


def _note(args, text: str) -> None:
    if not args.quiet:
        from tfflops.reports.layout import wrap

        width = screen_for(sys.stderr).width
        print("\n".join(wrap(text, width, "tfflops: note: ", "    ")), file=sys.stderr)


_STDIN = "<stdin>"


def _read(args, *models, checkpoint=None) -> list:
    """Every file the command reads — the models' (``input_files``), the settings file,
    ``--formulas``, a ``--device`` file — which no output may be."""
    others = option_files(
        getattr(args, "formulas", ()), getattr(args, "device", None), args.config_file
    )
    return [*input_files(*models, checkpoint=checkpoint), *others]


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


def profile(args) -> int:
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
        check_writable(args.output, _read(args, args.model))
    if args.compare_freeze:
        return compare(args)
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
        args, lambda screen: render(result, fmt, args.by, args.top, screen), _read(args, args.model)
    )
    return 0


def _write(args, render, protect: list) -> None:
    """``render(screen)``'s text to ``-o`` (laid out for no terminal), else to stdout."""
    if args.output is not None:
        from tfflops.reports.layout import PLAIN

        write_atomic(args.output, render(PLAIN), protect=protect)
    else:
        sys.stdout.write(render(screen_for(sys.stdout, args.color)))


def inspect(args) -> int:
    import json

    from tfflops.pipelines.inspect import inspect_model
    from tfflops.reports.inspect import render_summary

    summary = inspect_model(args.model, signature=args.signature, tag_set=args.tag_set)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    else:
        sys.stdout.write(render_summary(summary, screen_for(sys.stdout, args.color)))
    return 0


def ops(args) -> int:
    from tfflops.reports.ops import render_ops

    sys.stdout.write(render_ops(screen_for(sys.stdout, args.color)))
    return 0


def check(args) -> int:
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
    protect = check_report_paths(models, args.baseline, reports, args.update_baseline, _read(args))
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
        print(f"tfflops: error: {printable(r.error)}", file=sys.stderr)
    return 2 if run.errors else 0 if run.passed else 1


def freeze(args) -> int:
    from tfflops.pipelines.freeze import freeze_model, write_graph_def

    inputs = _read(args, args.model, checkpoint=args.checkpoint)
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


def compare(args) -> int:
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
    protect = _read(args, *models)
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


def devices(args) -> int:
    from tfflops.reports.devices import render_devices

    sys.stdout.write(render_devices(args.format, screen_for(sys.stdout, args.color)))
    return 0


def measure(args) -> int:
    from tfflops.pipelines.measure import measure
    from tfflops.reports.measure import render_measured

    fmt = report_format(args, ("table", "json"))
    check_top(args.top)
    protect = _read(args, args.model)
    if args.output is not None:
        check_writable(args.output, protect)
    names = ("runs", "warmup", "threads", "device", "allow_unsafe_ops", "signature", "tag_set")
    options = {name: getattr(args, name) for name in names}
    result = measure(args.model, args.outputs, parse_shapes(args.input_shape), **options)
    _write(args, lambda screen: render_measured(result, fmt, args.top, screen), protect)
    return 0


def calibrate(args) -> int:
    from tfflops.pipelines.measure import calibrate_device

    device = calibrate_device(args.output, args.threads, args.repeats, _read(args))
    if args.output is None:
        sys.stdout.write(device.to_json())
    return 0
