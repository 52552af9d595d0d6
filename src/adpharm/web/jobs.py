"""Long work in the background, kept in a SQLite job store that outlives the process.

A job runs in a thread of the worker process that started it. Its state, progress and result are
written to ``jobs.sqlite3`` in the app's data directory, so every worker process sees every job
(``adpharm serve --workers 2``), and a finished job can still be polled after a restart. When a job
store is opened, jobs left ``queued`` or ``running`` by a process that no longer exists are marked
``interrupted``; :meth:`JobManager.restart` runs one again with its original parameters. A cancel
request is a flag in the store, so it reaches the job whichever worker received it.

States: ``queued``, ``running``, ``done``, ``failed``, ``cancelled``, ``interrupted``.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from ..errors import AdpharmInputError
from ..io import json_text

#: Finished jobs kept in the store (the oldest are dropped beyond this).
MAX_JOBS = 200
#: Seconds between progress writes (and cancel checks) of a running job.
PROGRESS_INTERVAL_S = 0.25
FINISHED = ("done", "failed", "cancelled", "interrupted")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    started REAL NOT NULL,
    finished REAL,
    pid INTEGER NOT NULL,
    cancel INTEGER NOT NULL DEFAULT 0
)"""


class Cancelled(Exception):
    """Raised inside a job's progress callback when the job was cancelled."""


def default_data_dir() -> Path:
    """The user's data folder for adpharm: ``$ADPHARM_DATA_DIR``, else ``$XDG_DATA_HOME/adpharm``, else
    ``~/.local/share/adpharm``."""
    if os.environ.get("ADPHARM_DATA_DIR"):
        return Path(os.environ["ADPHARM_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "adpharm"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # pragma: no cover - another user's live process
        return True
    return True


class JobStore:
    """The jobs table in ``path`` (SQLite, WAL journal so that readers never wait for a writer)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        for attempt in range(100):          # several workers may open a new store at the same moment
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self._connect() as con:
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.execute(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and attempt < 99:
                    time.sleep(0.05)
                    continue
                raise AdpharmInputError(f"{self.path}: cannot open the job store ({exc})") from None
            except (OSError, sqlite3.Error) as exc:
                raise AdpharmInputError(f"{self.path}: cannot open the job store ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    def execute(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._connect() as con:
            return con.execute(sql, args).fetchall()

    def mark_orphans_interrupted(self) -> int:
        """Jobs queued or running in a process that has gone: ``interrupted``. Returns how many."""
        rows = self.execute("SELECT id, pid FROM jobs WHERE state IN ('queued', 'running')")
        gone = [r["id"] for r in rows if not _alive(int(r["pid"]))]
        for job_id in gone:
            self.execute("UPDATE jobs SET state = 'interrupted', finished = ?, error = ? WHERE id = ?",
                         (time.time(), "the server stopped while the job ran; restart it to run it again", job_id))
        return len(gone)

    def prune(self, keep: int = MAX_JOBS) -> None:
        self.execute("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled', "
                     "'interrupted') ORDER BY finished DESC LIMIT -1 OFFSET ?)", (keep,))


class JobView:
    """A job as stored: what ``GET /api/jobs/{id}`` returns."""

    def __init__(self, row: sqlite3.Row):
        self.row = row

    @property
    def state(self) -> str:
        return self.row["state"]

    def to_dict(self) -> dict[str, Any]:
        r = self.row
        total = int(r["total"])
        end = r["finished"] if r["finished"] is not None else time.time()
        return {"id": r["id"], "kind": r["kind"], "params": json.loads(r["params"]), "state": r["state"],
                "done": int(r["done"]), "total": total, "fraction": (int(r["done"]) / total) if total else 0.0,
                "result": json.loads(r["result"]) if r["result"] is not None else None, "error": r["error"],
                "elapsed_s": round(end - r["started"], 3), "restartable": r["state"] == "interrupted"}


class Job:
    """The running side of a job: its work calls :meth:`progress`, which records progress and raises
    :class:`Cancelled` once a cancel was requested (here or through another worker)."""

    def __init__(self, store: JobStore, job_id: str):
        self.store, self.id = store, job_id
        self._cancel = threading.Event()
        self._last = 0.0

    def cancelled(self) -> bool:
        if not self._cancel.is_set():
            rows = self.store.execute("SELECT cancel FROM jobs WHERE id = ?", (self.id,))
            if rows and rows[0]["cancel"]:
                self._cancel.set()
        return self._cancel.is_set()

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S or done >= total:
            self._last = now
            self.store.execute("UPDATE jobs SET done = ?, total = ? WHERE id = ?", (int(done), int(total), self.id))
            if self.cancelled():
                raise Cancelled()


class JobManager:
    """Start, poll, cancel and restart jobs kept in a :class:`JobStore`.

    ``register(kind, factory)`` names the work of a kind: ``factory(params)`` returns ``work(job)``,
    which returns a JSON-ready result. At most ``max_running`` jobs of this process run at once.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, max_running: int = 2):
        self.store = JobStore(Path(data_dir if data_dir is not None else default_data_dir()) / "jobs.sqlite3")
        self.store.mark_orphans_interrupted()
        self._factories: dict[str, Callable[[dict], Callable[[Job], Any]]] = {}
        self._running: dict[str, Job] = {}
        self._slots = threading.Semaphore(max_running)

    def register(self, kind: str, factory: Callable[[dict], Callable[[Job], Any]]) -> None:
        self._factories[kind] = factory

    def start(self, kind: str, params: dict) -> JobView:
        """Queue a job of a registered kind (``params`` is checked by the factory first)."""
        work = self._factories[kind](params)
        job_id = uuid.uuid4().hex
        self.store.execute("INSERT INTO jobs (id, kind, params, state, started, pid) VALUES (?, ?, ?, 'queued', ?, ?)",
                           (job_id, kind, json_text(params, indent=None), time.time(), os.getpid()))
        self._run(job_id, work)
        return self.get(job_id)

    def _run(self, job_id: str, work: Callable[[Job], Any]) -> None:
        job = Job(self.store, job_id)
        self._running[job_id] = job

        def finish(state: str, result: Any = None, error: str | None = None) -> None:
            self.store.execute("UPDATE jobs SET state = ?, result = ?, error = ?, finished = ? WHERE id = ?",
                               (state, None if result is None else json_text(result, indent=None), error,
                                time.time(), job_id))

        def run() -> None:
            try:
                with self._slots:
                    if job.cancelled():
                        finish("cancelled")
                        return
                    self.store.execute("UPDATE jobs SET state = 'running', started = ? WHERE id = ?",
                                       (time.time(), job_id))
                    try:
                        finish("done", work(job))
                    except Cancelled:
                        finish("cancelled")
                    except AdpharmInputError as exc:
                        finish("failed", error=str(exc))
                    except Exception:  # noqa: BLE001 - a job must never take the server down
                        finish("failed", error="internal error while running the job")
            finally:
                self._running.pop(job_id, None)
                self.store.prune()

        threading.Thread(target=run, daemon=True, name=f"adpharm-job-{job_id[:8]}").start()

    def running(self) -> list[str]:
        """Ids of the jobs this process is running or has queued."""
        return list(self._running)

    def get(self, job_id: str) -> JobView:
        rows = self.store.execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return JobView(rows[0])

    def cancel(self, job_id: str) -> JobView:
        view = self.get(job_id)
        if view.state not in FINISHED:
            self.store.execute("UPDATE jobs SET cancel = 1 WHERE id = ?", (job_id,))
            job = self._running.get(job_id)
            if job is not None:
                job._cancel.set()
        return self.get(job_id)

    def restart(self, job_id: str) -> JobView:
        """Run an interrupted job again, same id and parameters (anything else is left as it is)."""
        view = self.get(job_id)
        if view.state != "interrupted":
            raise AdpharmInputError(f"job {job_id}: only an interrupted job can be restarted (it is {view.state})")
        params = json.loads(view.row["params"])
        work = self._factories[view.row["kind"]](params)
        self.store.execute("UPDATE jobs SET state = 'queued', done = 0, total = 0, result = NULL, error = NULL, "
                           "finished = NULL, cancel = 0, pid = ?, started = ? WHERE id = ?",
                           (os.getpid(), time.time(), job_id))
        self._run(job_id, work)
        return self.get(job_id)
