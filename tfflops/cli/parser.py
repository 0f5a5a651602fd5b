"""The parser: every command, its options, and the option groups commands share."""

from __future__ import annotations

import argparse

import tfflops.cli.commands as commands
from tfflops.analysis.conventions import CONVENTIONS
from tfflops.arguments import (
    Parser,
    Repeatable,
    add_loop_iterations,
    budget_option,
    fail_on_option,
    outputs_option,
    parse_shape,
)
from tfflops.pipelines.limits import DEFAULT_TIMEOUT, FINDINGS

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
    p.set_defaults(run=commands.profile)

    _add_check_parser(sub, counted)
    _add_freeze_parsers(sub, parents)

    i = sub.add_parser(
        "inspect",
        parents=[common, saved_model],
        help="what a model holds: inputs, outputs, variables, ops",
    )
    i.add_argument("model", help=_FILE_HELP)
    i.add_argument("--format", default="table", choices=("table", "json"), help="table or json")
    i.set_defaults(run=commands.inspect)

    o = sub.add_parser("ops", parents=[common], help="list the supported ops and their formulas")
    o.add_argument(
        "--formulas",
        action="append",
        default=[],
        metavar="FILE.py",
        help="import this Python file of custom op formulas first, and list them too",
    )
    o.set_defaults(run=commands.ops)
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
    c.set_defaults(run=commands.check)


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
    f.set_defaults(run=commands.freeze)

    c = sub.add_parser(
        "compare",
        parents=[common, saved_model, graph, parents["counting"], parents["training"]],
        help="two models side by side, and why their counts differ",
    )
    c.add_argument("before", help=_MODEL_HELP)
    c.add_argument("after", help=_MODEL_HELP)
    c.add_argument("--top", type=int, metavar="N", help="keep the N most changed nodes (0: all)")
    _add_report_options(c, ("table", "json", "markdown"), "the comparison")
    c.set_defaults(run=commands.compare)


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
    for parser, run in ((d, commands.devices), (m, commands.measure), (c, commands.calibrate)):
        parser.set_defaults(run=run)
