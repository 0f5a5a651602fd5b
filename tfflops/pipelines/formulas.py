"""``--formulas FILE.py``: the user's own Python file of custom op formulas, imported.

Importing a file runs it: it is the user's code, named by the user on the command line,
and nothing else can name it — never a project configuration file, which in CI comes from
the pull request under test (``tfflops.arguments`` refuses a ``formulas`` key). The file
must be a regular ``.py`` file; a syntax error, an exception while it runs, or a file that
registers no op is one TfflopsError naming it (and what it registered is taken back).
"""

from __future__ import annotations

import os
import stat
import sys
import traceback
import types
from collections.abc import Iterable

from tfflops.analysis.ops.custom import CUSTOM, registering_from, unregister_op
from tfflops.errors import TfflopsError

FORMULAS_LIMIT = 1 << 20  # bytes; a file of formulas is a few kilobytes

_loaded: dict[str, list[str]] = {}  # real path → the ops it registered, in this process


def load_formulas(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Import each file of ``paths`` once per process; the ops they registered."""
    return [op for path in paths for op in load_formula_file(path)]


def load_formula_file(path: str | os.PathLike) -> list[str]:
    """Import ``path``, a Python file whose ``tfflops.register_op`` calls add custom ops;
    the ops it registered. A file already imported in this process is not run again."""
    where = f"`formulas` {path}"
    real = os.path.realpath(path)
    if real in _loaded:
        return _loaded[real]
    code = _compiled(path, where)
    module = types.ModuleType(f"tfflops_formulas_{len(_loaded)}")
    module.__file__ = str(path)
    before = set(CUSTOM)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up there
    try:
        with registering_from(os.path.basename(path)):
            exec(code, module.__dict__)
    except TfflopsError as e:  # register_op refused a call
        _take_back(before)
        raise TfflopsError(f"{where}: {_line(e, path)}{e}") from None
    except (Exception, SystemExit) as e:  # the user's code: anything it raises
        _take_back(before)
        raise TfflopsError(
            f"{where}: {_line(e, path)}{type(e).__name__} while importing it: {e}"
        ) from None
    registered = [op for op in CUSTOM if op not in before]
    if not registered:
        raise TfflopsError(f"{where}: registers no op (call tfflops.register_op in it)")
    _loaded[real] = registered
    return registered


def _compiled(path, where: str) -> types.CodeType:
    """The file's code: a regular ``.py`` file of at most FORMULAS_LIMIT bytes, compiled."""
    if not str(path).endswith(".py"):
        raise TfflopsError(f"{where}: not a .py file")
    try:
        # Opened without blocking (a FIFO would wait for a writer), then checked by its
        # descriptor: what is read is what was checked.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise TfflopsError(f"{where}: not a regular file")
            source = f.read(FORMULAS_LIMIT + 1)
        if len(source) > FORMULAS_LIMIT:
            raise TfflopsError(f"{where}: over {FORMULAS_LIMIT} bytes, too big for formulas")
    except OSError as e:
        raise TfflopsError(f"{where}: cannot read: {e.strerror or e}") from None
    try:
        return compile(source, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:  # ValueError: a null byte in the source
        line = f"line {e.lineno}: " if getattr(e, "lineno", None) else ""
        raise TfflopsError(f"{where}: {line}{getattr(e, 'msg', e)}") from None


def _line(e: BaseException, path) -> str:
    """``line N: `` of the innermost frame of ``path`` the exception passed through."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
    return f"line {frames[-1].lineno}: " if frames else ""


def _take_back(before: set[str]) -> None:
    """Unregister what a failed import registered."""
    for op in [op for op in CUSTOM if op not in before]:
        unregister_op(op)
