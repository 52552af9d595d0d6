"""Background jobs: start power by simulation, follow, cancel and restart a job."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..context import WebContext
from ..models import PowerIn


def router(ctx: WebContext) -> APIRouter:
    r = APIRouter(prefix="/api/jobs")

    def _job(action, job_id: str) -> dict:
        try:
            return action(job_id).to_dict()
        except KeyError:
            raise StarletteHTTPException(404, f"job {job_id[:40]!r} not found") from None

    @r.post("/power", status_code=202, summary="Start power by simulation (a background job)")
    def api_power(body: PowerIn) -> dict:
        return ctx.jobs.start("power", body.model_dump()).to_dict()

    @r.get("/{job_id}", summary="A job's state, progress and result")
    def api_job(job_id: str) -> dict:
        return _job(ctx.jobs.get, job_id)

    @r.delete("/{job_id}", summary="Cancel a job")
    def api_cancel(job_id: str) -> dict:
        return _job(ctx.jobs.cancel, job_id)

    @r.post("/{job_id}/restart", status_code=202, summary="Run an interrupted job again (same parameters)")
    def api_restart(job_id: str) -> dict:
        return _job(ctx.jobs.restart, job_id)

    return r
