"""Writing output files: atomically, and never over an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tfflops.errors import TfflopsError


def check_writable(
    path: str | os.PathLike,
    protect: Iterable[str | os.PathLike] = (),
    argument: str = "output_path",
) -> Path:
    """``path`` as an output: not an input, not a directory, in a folder that exists.

    Called before a long run too, so that a bad output path fails at once, not at the end.
    ``argument`` names the argument that gave ``path`` in errors.
    """
    option = f"`{argument}`"
    if not str(path):
        raise TfflopsError(f"{option}: empty path")
    target = Path(path)
    for other in protect:
        if Path(other).exists() and target.exists() and target.resolve() == Path(other).resolve():
            raise TfflopsError(f"{option} {path}: refusing to overwrite the input model")
    if target.is_dir():
        raise TfflopsError(f"{option} {path}: is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise TfflopsError(f"{option} {path}: no directory {directory}")
    return target


def write_atomic(
    path: str | os.PathLike,
    text: str | bytes,
    protect: Iterable[str | os.PathLike] = (),
    argument: str = "output_path",
) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; never over an input.

    ``bytes`` are written as they are (a GraphDef), ``str`` as UTF-8.

    ``protect`` lists the inputs; ``argument`` names the argument that gave ``path``.
    """
    target = check_writable(path, protect, argument)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise TfflopsError(f"`{argument}` {path}: cannot write: {e.strerror or e}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        binary = isinstance(text, bytes)
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
