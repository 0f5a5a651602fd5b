"""Run one function over many items in worker processes, each item under a time limit.

An item whose call raises, whose worker dies (the OOM killer, a crash in native code) or
runs past the limit gets a ``Failure`` saying so, its worker is replaced, and every other
item still runs: one hostile model costs its own line of a ``check`` report, never the
run. The run always ends: no item holds a worker longer than ``timeout`` seconds.

Every item runs in a worker, ``jobs=1`` included: a timeout needs a process to stop, and
a crash or MemoryError needs one to contain it. Workers are forked (``spawn`` when the
parent has TensorFlow loaded) and reused from item to item: ``tfflops check`` of the four
sample graphs, --no-tfprof, takes 0.1 s longer than in one process (medians of 5,
side by side), and as long with tf.profiler, whose import dominates.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait

from tfflops.errors import TfflopsError

# Seconds a worker gets to exit on its own when the run is over, before it is killed.
_EXIT_GRACE = 2.0


@dataclass(frozen=True)
class Failure:
    """Why an item has no result: one line, naming the item."""

    message: str


def run_isolated(
    fn: Callable,
    items: Sequence,
    jobs: int,
    timeout: float,
    progress: Callable[[int, int, object], None] | None = None,
) -> list:
    """``fn(item)`` for every item in at most ``jobs`` worker processes (and no more than
    one per item and per CPU: a worker holds a model, with tf.profiler TensorFlow too,
    hundreds of MB, and one past the CPUs only waits its turn: ``jobs = 100000`` in a
    pull request's settings must not fork a process per model); the results in input
    order, each ``fn``'s value or a Failure.

    ``fn`` and the items must pickle (a module-level function, a ``functools.partial``
    of one). A TfflopsError's message is the Failure's; any other exception, a dead
    worker or a call still running ``timeout`` seconds after the worker began it is told
    with the item's ``str``. ``progress(k, total, result)`` gets the k-th result as soon
    as it and every one before it are in: in input order, as a log should read.
    """
    if jobs < 1 or not timeout > 0:
        raise ValueError(f"jobs {jobs}, timeout {timeout}: at least one worker, some time")
    jobs = min(jobs, len(items), _cpus())
    context = multiprocessing.get_context(_start_method())
    results: list = [None] * len(items)
    todo = deque(range(len(items)))
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    finished = [False] * len(items)
    reported = 0  # results handed to progress: every one before this number
    try:
        while todo or busy:
            while todo and len(busy) < jobs:
                worker = idle.pop() if idle else _Worker(context, fn)
                worker.assign(todo.popleft(), items, timeout)
                busy.append(worker)
            nearest = min(w.deadline for w in busy) - time.monotonic()
            ready = set(
                wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy],
                    min(max(0.0, nearest), _MAX_WAIT),
                )
            )
            for worker in list(busy):
                i = worker.item
                if worker.conn in ready or worker.process.sentinel in ready:
                    outcome = worker.receive(items[i], timeout)
                    if outcome is _STARTED:
                        continue
                elif time.monotonic() >= worker.deadline:
                    worker.kill()
                    outcome = Failure(_over_time(items[i], timeout))
                else:
                    continue
                busy.remove(worker)
                results[i], finished[i] = outcome, True
                if worker.alive:
                    idle.append(worker)
                while reported < len(items) and finished[reported]:
                    reported += 1
                    if progress:
                        progress(reported, len(items), results[reported - 1])
    finally:
        for worker in [*idle, *busy]:
            worker.stop()
    return results


def _cpus() -> int:
    """The CPUs this process may run on (a container's share, where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def _start_method() -> str:
    """``fork`` (no interpreter start, no imports again) unless TensorFlow is loaded: a
    forked child would inherit its threads and half its runtime; then ``spawn``."""
    loaded = sys.modules.get("tensorflow") is not None  # None: blocked, not loaded
    if loaded or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    return "fork"


# The worker's word that it began the item it was given: its time limit runs from here.
_STARTED = "started"
# Seconds a new worker may take to start (an interpreter, tfflops' imports) before the
# item it was given is blamed; then the item's own time limit applies.
_START_LIMIT = 60.0
# The longest single wait for workers (a --timeout of years must not overflow select).
_MAX_WAIT = 3600.0


class _Worker:
    """One worker process, the pipe to it, and the item it works on."""

    def __init__(self, context, fn: Callable):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, fn), daemon=True)
        self.process.start()
        child.close()
        self.alive = True
        self.item: int | None = None
        self.deadline = 0.0

    def assign(self, i: int, items: Sequence, timeout: float) -> None:
        """Give the worker item ``i``; until it says it began, its start counts too."""
        self.item = i
        self.deadline = time.monotonic() + _START_LIMIT + timeout
        self.conn.send((items[i], timeout))  # a dead worker's pipe takes it: receive tells

    def receive(self, item, timeout: float) -> object:
        """The worker's next word on ``item``: _STARTED (the clock starts), its result,
        or a Failure if it died instead."""
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            return Failure(f"{item}: {self._death()}")
        if message == _STARTED:
            self.deadline = time.monotonic() + timeout
            return _STARTED
        ok, value = message
        return value if ok else Failure(value)

    def _death(self) -> str:
        self.process.join(_EXIT_GRACE)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:  # a real-time signal has no name of its own
                name = f"signal {-code}"
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"its worker process was killed by {name}{hint}"
        return f"its worker process died (exit code {code})"

    def kill(self) -> None:
        self.alive = False
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        """End the worker: asked first, killed if it does not go."""
        if self.alive:
            with contextlib.suppress(OSError):  # a pipe the worker already closed
                self.conn.send(None)
            self.process.join(_EXIT_GRACE)
        self.kill()  # nothing left to do for a process that has exited


def _end_when_orphaned(parent: int) -> None:
    """End the worker, whatever it is running, once its parent is gone (killed, say): a
    forked worker holds a copy of the parent's end of the pipe, so that death is no EOF,
    and a model that hangs would otherwise keep its worker forever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _over_time(item, timeout: float) -> str:
    return f"{item}: still running after the {timeout:g} s time limit (`timeout`); stopped"


def _serve(conn, fn: Callable) -> None:
    """A worker's loop: ``fn`` on each (item, time limit) received until None; for each,
    _STARTED back as it begins, then (True, value) or (False, the reason)."""
    # Ctrl-C reaches the whole process group: the parent stops the workers, which must
    # not print a KeyboardInterrupt traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_when_orphaned, args=(os.getppid(),), daemon=True).start()
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent closed the pipe
            return
        if task is None:
            return
        item, timeout = task
        conn.send(_STARTED)
        started = time.monotonic()
        try:
            reply = (True, fn(item))
            # Over its time all the same (the parent read _STARTED late): the limit is
            # the item's time, not the parent's view of it.
            if time.monotonic() - started > timeout:
                reply = (False, _over_time(item, timeout))
        except TfflopsError as e:
            reply = (False, str(e))
        except MemoryError:
            reply = (False, f"{item}: out of memory")
        except RecursionError:
            reply = (False, f"{item}: nested too deeply to follow (RecursionError)")
        except Exception as e:  # a bug tfflops must fix: told, and the run goes on
            reply = (False, f"{item}: internal error: {type(e).__name__}: {e}")
        try:
            conn.send(reply)
        except Exception as e:  # a value that does not pickle
            conn.send((False, f"{item}: internal error: cannot send the result: {e}"))
