"""The command line: the commands, their options, and wiring; the work is in the library.

Every TfflopsError becomes one line on stderr and exit code 2, here (``main``) and nowhere
else; the arguments a library error names (`input_shapes`) are spelled as their flags
(FLAGS). Project defaults come from ``[tool.tfflops]`` in pyproject.toml
(``tfflops.arguments``); flags given on the command line override them. The parser is in
``parser``, what each command does in ``commands``.
"""

from __future__ import annotations

import gc
import sys

from tfflops.arguments import FLAGS, apply_config
from tfflops.cli.commands import screen_for
from tfflops.cli.parser import build_parser
from tfflops.errors import TfflopsError
from tfflops.reports.layout import printable

__all__ = ["build_parser", "main", "run", "screen_for"]


def run() -> None:
    """The ``tfflops`` program (its console script, ``python -m tfflops``): ``main``, whose
    status is the process's exit status."""
    # What start-up made (modules, classes, the op table) lives until the process ends:
    # frozen, the garbage collector never rescans it (ResNet50's profile: 0.13 → 0.10 s).
    gc.freeze()
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        config = apply_config(parser, argv)
        args = parser.parse_args(argv)
        args.config_file = config  # a file the command reads: no output may be it
        if args.command is None:
            parser.print_help()
            return 0
        if getattr(args, "formulas", None):
            from tfflops.pipelines.formulas import load_formulas

            load_formulas(args.formulas)
        return args.run(args)
    except TfflopsError as e:
        print(f"tfflops: error: {printable(e.spelled(FLAGS))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file or folder the command could not read or write
        where = f"{e.filename}: " if e.filename else ""
        print(f"tfflops: error: {printable(f'{where}{e.strerror or e}')}", file=sys.stderr)
        return 2
