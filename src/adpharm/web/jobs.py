"""Long work in the background with progress and cancellation (one thread per job, in memory)."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import AdpharmInputError

#: Jobs kept (finished ones are dropped oldest first beyond this).
MAX_JOBS = 50


class Cancelled(Exception):
    """Raised inside a job's progress callback when the job was cancelled."""


@dataclass
class Job:
    id: str
    kind: str
    params: dict
    state: str = "queued"              # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self._cancel.is_set():
            raise Cancelled()

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "params": self.params, "state": self.state,
                "done": self.done, "total": self.total,
                "fraction": (self.done / self.total) if self.total else 0.0,
                "result": self.result, "error": self.error,
                "elapsed_s": round((self.finished or time.time()) - self.started, 3)}


class JobManager:
    """Start, poll and cancel jobs. ``work(job)`` returns a JSON-ready result."""

    def __init__(self, max_running: int = 2):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_running)

    def start(self, kind: str, params: dict, work: Callable[[Job], Any]) -> Job:
        job = Job(uuid.uuid4().hex, kind, params)
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished]
            for j in sorted(finished, key=lambda j: j.finished)[: max(0, len(self._jobs) - MAX_JOBS)]:
                del self._jobs[j.id]

        def run():
            with self._slots:
                if job._cancel.is_set():
                    job.state, job.finished = "cancelled", time.time()
                    return
                job.state = "running"
                try:
                    job.result = work(job)
                    job.state = "done"
                except Cancelled:
                    job.state = "cancelled"
                except AdpharmInputError as exc:
                    job.state, job.error = "failed", str(exc)
                except Exception:  # noqa: BLE001 - a job must never take the server down
                    job.state, job.error = "failed", "internal error while running the job"
                finally:
                    job.finished = time.time()

        threading.Thread(target=run, daemon=True, name=f"adpharm-job-{job.id[:8]}").start()
        return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job._cancel.set()
        return job
