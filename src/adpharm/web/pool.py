"""A bounded pool of worker processes for the web app's heavy work.

Guide builds, simulations and the analyses of uploaded files are CPU-bound Python: run in the
request threads they hold the interpreter lock, and a request that only reads (``/api/drugs``) waits
behind them. :class:`HeavyPool` runs them in at most ``workers`` separate processes instead, so the
requests that only read stay light; the request thread just waits for the answer. With 0 workers the
work runs inline (the in-process test client). Processes start on first use (``forkserver``, never a
fork of the threaded server) and stop with the app.
"""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from ..errors import AdpharmInputError


class HeavyPool:
    """Run picklable, top-level functions in a bounded process pool (or inline with ``workers=0``)."""

    def __init__(self, workers: int = 0):
        if not 0 <= workers <= 16:
            raise AdpharmInputError(f"pool workers: {workers} must be from 0 to 16")
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
                self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
            return self._executor

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, in a worker process when the pool has any; exceptions are re-raised here."""
        if self.workers == 0:
            return fn(*args, **kwargs)
        try:
            return self._pool().submit(fn, *args, **kwargs).result()
        except BrokenProcessPool:
            with self._lock:                # a worker died (out of memory, killed): start afresh next time
                self._executor = None
            raise RuntimeError("a worker process of the web app stopped; try again") from None

    def shutdown(self) -> None:
        """Cancel queued work, let a running call finish and wait for the workers to exit, so that
        stopping the server (SIGTERM, SIGINT) leaves no worker, forkserver or resource tracker behind."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
