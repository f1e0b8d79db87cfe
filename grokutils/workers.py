"""The processes that train a sweep's chunks besides this one: a local pool's, or a Dask cluster's.

A local pool (``LocalPool``) is a ``ProcessPoolExecutor`` whose processes each train on one torch thread, ignore
Ctrl-C (Jupyter sends it to the kernel's whole process group: the parent stops them instead), end themselves when
their parent dies, even by SIGKILL (``die_with_parent``), and note which task each one runs, so that a dead worker can
be named (``LocalPool.dead``). ``stopping`` ends the pool's processes at once when the sweep is interrupted (Ctrl-C,
SIGTERM, any error) instead of letting them train the pending chunks. Workers write each run into the run cache
themselves, atomically, so whatever stops a sweep, the runs finished so far stay cached.

A Dask cluster is reached through ``$GROKUTILS_DASK_SCHEDULER`` (``dask_executor``), checked before anything trains,
and any executor's workers must run this process's grokutils code (``check_code``): runs trained by other code would
be stored under keys this process never reads.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from urllib.parse import urlsplit

import torch

from grokutils import __version__, store

PARENT_POLL_SECONDS = 0.5
"""How often a worker checks that its parent still lives (where the system cannot tell it at once)."""
WAKE_SECONDS = 0.2
"""How often a thread waiting for workers wakes to run the signal handlers (``waking_as_completed``)."""
STOP_SECONDS = 3.0
"""How long stopped workers get to end on SIGTERM before they are killed."""
DASK_ENV = "GROKUTILS_DASK_SCHEDULER"
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
DASK_TIMEOUT = 10
"""Seconds to wait for the Dask scheduler to answer."""
CODE_TIMEOUT = 300
"""Seconds to wait for an executor's workers to say which code they run (a cluster may still be starting them)."""
PR_SET_PDEATHSIG = 1
_started = None
"""In a worker process: the pool's shared array of the process ids that started each task."""


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` ends: by the kernel's parent-death signal on Linux, and by a daemon
    thread that polls the parent's id everywhere (a worker whose parent was killed would otherwise train on)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (AttributeError, OSError):  # no prctl in this C library: the thread below still watches
            pass
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="grokutils-parent-watch").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _init_worker(parent: int, started) -> None:
    """A worker's start: one torch thread; Ctrl-C ignored (its parent stops it), SIGTERM ends it (a fork inherits the
    parent's handler, ``sigterm_raises``'s); it dies with its parent."""
    global _started
    _started = started
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)


def _tagged(tag: int, fn, *args):
    """Run ``fn(*args)`` in a worker, noting first that this process runs task ``tag``."""
    _started[tag] = os.getpid()
    return fn(*args)


class LocalPool(ProcessPoolExecutor):
    """A pool of worker processes on this machine, one torch thread each: forked where the system allows (they start at
    once, with the package already imported, as PyTorch's data loader workers do), else spawned.

    ``tasks`` is how many tasks ``submit_task`` may number (0 to ``tasks - 1``); ``submit`` takes any others.
    """

    def __init__(self, n: int, tasks: int = 0):
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        self._task_pids = context.Array("i", max(tasks, 1), lock=False)
        self._workers_seen: dict = {}
        super().__init__(max_workers=n, mp_context=context, initializer=_init_worker,
                         initargs=(os.getpid(), self._task_pids))

    def submit_task(self, tag: int, fn, *args):
        """``submit(fn, *args)`` as task number ``tag``, so that ``dead`` can tell whose worker died."""
        future = self.submit(_tagged, tag, fn, *args)
        self._workers_seen.update(getattr(self, "_processes", None) or {})
        return future

    def dead(self, finished: set[int] = frozenset()) -> list[tuple[int | None, int, int]]:
        """``(task, process id, exit code)`` of each worker that died, once the pool is broken: the numbered task it
        was running (None: it had finished its last one, which is among ``finished``), for those killed from outside,
        or, if the pool ended them all (SIGTERM after one died), for every one."""
        self._await_workers()
        last = {pid: tag for tag, pid in enumerate(self._task_pids) if pid}  # tasks start in order: the latest wins
        ended = [(pid, p.exitcode) for pid, p in self._workers_seen.items() if p.exitcode is not None]
        found = [(None if last.get(pid) in finished else last.get(pid), pid, code) for pid, code in ended]
        return [t for t in found if t[2] != -signal.SIGTERM] or found

    def _await_workers(self) -> None:
        """Wait up to ``STOP_SECONDS`` for every worker to have ended, as a broken pool's do (a killed worker's pipes
        close a moment before its exit code can be read)."""
        deadline = time.monotonic() + STOP_SECONDS
        while any(p.exitcode is None for p in self._workers_seen.values()) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Cancel the pending tasks and end every worker now (SIGTERM, then SIGKILL after ``STOP_SECONDS``); the
        workers are those the pool started (its ``_processes``: Python 3.14 adds ``terminate_workers`` for this)."""
        processes = list({**self._workers_seen, **(getattr(self, "_processes", None) or {})}.values())
        self.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.terminate()
        for p in processes:
            p.join(STOP_SECONDS)
            if p.is_alive():
                p.kill()
                p.join(1)


def local_workers(n: int, tasks: int = 0) -> LocalPool:
    """A ``LocalPool`` of ``n`` worker processes (for ``tasks`` numbered tasks)."""
    return LocalPool(n, tasks)


def exit_status(code: int) -> str:
    """A process's exit code in words: ``"killed by SIGKILL"``, ``"exit code 1"``."""
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"


def waking_as_completed(futures):
    """``futures`` as they complete, the waiting thread waking every ``WAKE_SECONDS``: a signal that another thread
    (a pool's) caught runs its Python handler (Ctrl-C's KeyboardInterrupt, ``sigterm_raises``) only once the main
    thread runs again."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


class WorkerDied(RuntimeError):
    """A local worker process died (killed, out of memory) while the sweep ran: which one, and what a rerun trains."""


class Terminated(BaseException):
    """SIGTERM arrived while a sweep's workers were training (raised by ``sigterm_raises``)."""


def _raise_terminated(signum, frame):
    raise Terminated(f"signal {signal.Signals(signum).name}")


@contextmanager
def sigterm_raises():
    """While the block runs, SIGTERM raises ``Terminated`` in this process, so that the block can stop its workers;
    then the process ends by SIGTERM as it would have. Only from the main thread, and only where SIGTERM has its
    default action (a handler someone else installed is left alone); the default is restored afterwards."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def stopping(pool: LocalPool | None, futures=()):
    """Shut ``pool`` down after the block; if the block raises (Ctrl-C, SIGTERM, an error), cancel ``futures`` (any
    executor's) and end the pool's workers at once instead of letting them train what is pending."""
    try:
        yield
    except BaseException:
        for future in futures:
            future.cancel()
        if pool is not None:
            pool.stop()
        raise
    if pool is not None:
        pool.shutdown()


def code_version() -> tuple[str, str]:
    """This process's grokutils version and the fingerprint of its code that determines a run
    (``store.code_fingerprint``): what a run's cache key depends on besides its config."""
    return __version__, store.code_fingerprint()


def check_code(executor) -> None:
    """Raise RuntimeError unless a task sent to ``executor`` runs the same grokutils code as this process."""
    try:
        theirs = tuple(executor.submit(code_version).result(timeout=CODE_TIMEOUT))
    except Exception as err:  # e.g. workers whose grokutils has no ``workers`` module
        raise RuntimeError(f"the executor's workers could not run grokutils.workers.code_version ({err!r}): they run "
                           "other grokutils code than this process, or none; install this checkout of grokutils on "
                           "them (and restart them) first") from err
    if theirs != code_version():
        raise RuntimeError(
            "the executor's workers run other grokutils code (version {}, code {}) than this process: version {}, "
            "code {}. The runs they trained would be stored under keys this process never reads; install this "
            "checkout of grokutils on the workers (and restart them) first.".format(*theirs, *code_version()))


def check_address(address: str) -> None:
    """Raise ValueError unless ``address`` has the form of a Dask scheduler's address, ``scheme://host:port``."""
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in DASK_SCHEMES or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"{DASK_ENV}={address!r} is not a Dask scheduler's address; expected scheme://host:port "
                         f"with a scheme of {DASK_SCHEMES} and a numeric port, e.g. tcp://scheduler-host:8786 "
                         f"(unset {DASK_ENV} to train on this machine)")


def connect(address: str):
    """A ``distributed.Client`` of the scheduler at ``address`` (from ``$GROKUTILS_DASK_SCHEDULER``), with errors
    that name the variable, its value and what was expected."""
    check_address(address)
    try:
        from distributed import Client  # noqa: PLC0415  (optional: only for clusters)
    except ImportError as err:
        raise ImportError(f"{DASK_ENV}={address!r} asks for a Dask cluster, but dask.distributed is not installed: "
                          f"pip install 'grokutils[cluster]', or unset {DASK_ENV}") from err
    try:
        return Client(address, timeout=DASK_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"{DASK_ENV}={address!r}: no Dask scheduler answered there within {DASK_TIMEOUT} s "
                              f"({err}); expected the address of a running scheduler, scheme://host:port "
                              f"(unset {DASK_ENV} to train on this machine)") from err


def dask_executor(client=None):
    """The executor of a Dask cluster: ``client`` (a ``distributed.Client``, or an executor already), else a
    ``Client`` of ``$GROKUTILS_DASK_SCHEDULER`` (e.g. ``tcp://host:8786``, checked and connected here, before anything
    trains); None if neither is given."""
    address = os.environ.get(DASK_ENV)
    if client is None and not address:
        return None
    client = connect(address) if client is None else client
    return client.get_executor() if hasattr(client, "get_executor") else client
