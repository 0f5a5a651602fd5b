"""Files: inputs are regular files; outputs are written atomically, never over a file the
command reads, one read-modify-write at a time."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tfflops.errors import TfflopsError

# Signals that end a command (Ctrl-C, kill, a closed terminal): none may leave a temporary
# file behind.
_ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def check_regular(path: str | os.PathLike, where: str) -> os.stat_result:
    """``path``'s stat if it is a regular file (symlinks followed); else a TfflopsError
    naming ``where``: a FIFO would block a reader forever, ``/dev/zero`` never end.

    OSError (a missing or unreadable file) is the caller's to tell.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise TfflopsError(f"{where}: not a regular file (a device, FIFO or socket)")
    return st


def check_writable(
    path: str | os.PathLike,
    protect: Iterable[str | os.PathLike] = (),
    argument: str = "output_path",
) -> Path:
    """``path`` as an output: not one of the files in ``protect``, not a directory, in a
    folder that exists.

    A file is told by its identity (device and inode), not its name: a symlink, a hard
    link or a path through ``..`` to an input is that input. Called before a long run
    too, so that a bad output path fails at once, not at the end. ``argument`` names the
    argument that gave ``path`` in errors.
    """
    option = f"`{argument}`"
    if not str(path):
        raise TfflopsError(f"{option}: empty path")
    target = Path(path)
    identity = _identity(target)
    if identity is not None:
        for other in protect:
            if _identity(other) == identity:
                raise TfflopsError(
                    f"{option} {path}: refusing to overwrite {other}, which this command reads"
                )
    if target.is_dir():
        raise TfflopsError(f"{option} {path}: is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise TfflopsError(f"{option} {path}: no directory {directory}")
    return target


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, symlinks followed; None if there is none."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # missing, unreadable, or a name with a NUL byte
        return None
    return st.st_dev, st.st_ino


def write_atomic(
    path: str | os.PathLike,
    text: str | bytes,
    protect: Iterable[str | os.PathLike] = (),
    argument: str = "output_path",
) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; never over an input.

    ``bytes`` are written as they are (a GraphDef), ``str`` as UTF-8. ``protect`` lists
    the files the command reads (see ``check_writable``); ``argument`` names the argument
    that gave ``path`` in errors. Whatever ends the write — an error, Ctrl-C, SIGTERM or
    SIGHUP — the temporary file goes with it: only a complete ``path`` ever appears.
    """
    target = check_writable(path, protect, argument)
    option = f"`{argument}`"
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    directory = target.parent if str(target.parent) else Path(".")
    # Named before it exists, so that a signal arriving at any point can remove it.
    tmp = directory / f".{target.name}.{os.urandom(8).hex()}.tmp"
    with _removed_on_signal(tmp):
        try:
            # 0o666 less the umask, like any file the user creates (mkstemp would make 0600).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except FileExistsError:  # 64 random bits collided: that file is someone else's
            raise TfflopsError(f"{option} {path}: cannot write: {tmp} exists") from None
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise TfflopsError(f"{option} {path}: cannot write: {e.strerror or e}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextmanager
def _removed_on_signal(tmp: Path) -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP first remove ``tmp``, then take their
    usual course: the handler that was there before runs (Ctrl-C's KeyboardInterrupt), or
    the signal's default action ends the process.

    Only the main thread can set handlers; elsewhere the write relies on its own
    ``except`` (which a SIGTERM's default action never reaches).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def remove_then_resume(signum, frame):
        tmp.unlink(missing_ok=True)
        before = previous.get(signum, signal.SIG_DFL)
        restore()
        if callable(before):
            before(signum, frame)
        else:  # SIG_DFL: the default action, with our handler gone
            signal.raise_signal(signum)

    def restore():
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        previous.clear()

    for signum in _ENDING_SIGNALS:
        handler = signal.getsignal(signum)
        if handler is signal.SIG_IGN or handler is None:  # ignored, or set outside Python
            continue
        previous[signum] = signal.signal(signum, remove_then_resume)
    try:
        yield
    finally:
        restore()


@contextmanager
def exclusive_lock(path: str | os.PathLike, argument: str = "output_path") -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of ``path`` while inside.

    The lock is ``flock`` on ``path``'s folder, not on the file: an atomic write
    replaces the file (and a lock on the old one would not stop a reader of the new),
    and a lock file beside it would be litter in the user's repository. Another tfflops
    process updating ``path`` (or a file beside it) waits; a reader that only reads never
    does. The lock is released when the block ends, however it ends.
    """
    directory = Path(path).parent if str(Path(path).parent) else Path(".")
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise TfflopsError(
            f"`{argument}` {path}: cannot open its folder: {e.strerror or e}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
